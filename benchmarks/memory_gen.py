"""A generated long conversation in the LoCoMo-style layout memory_eval.py reads: two people over
several months, both sharing life events (pets, jobs, moves, trips, classes, family, injuries, plans),
later updates that contradict earlier ones, real small talk between them (turns of the chitchat-dataset
package when installed), and questions of all five kinds with their evidence turns marked.

Written before recall was tuned against it; deterministic by seed.

    .venv/bin/python benchmarks/memory_gen.py OUT.json [--seed 0] [--samples 2] [--sessions 20] | --smoke
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

USERS = ["Maya", "Tom", "Priya", "Lukas", "Amara", "Jonas", "Elena", "Sam", "Noor", "Diego"]
CHARACTERS = ["Wren", "Otis", "Juniper", "Felix", "Iris", "Rowan", "Hazel", "Milo"]
CITIES = ["Lisbon", "Denver", "Montreal", "Osaka", "Edinburgh", "Austin", "Melbourne", "Porto", "Seattle", "Vienna"]
PETS = {"puppy": ["beagle", "corgi", "labrador", "border collie"], "kitten": ["tabby", "siamese", "maine coon", "ginger"]}
PET_NAMES = ["Biscuit", "Pepper", "Mochi", "Juniper", "Olive", "Ziggy", "Nacho", "Luna", "Waffles", "Clementine"]
JOBS = [("nurse", "St Anne's Hospital"), ("graphic designer", "Brightline Studio"), ("data analyst", "Northwind Logistics"),
        ("sous chef", "Casa Verde"), ("primary school teacher", "Hillcrest Primary"), ("physiotherapist", "MoveWell Clinic"),
        ("software developer", "Pixelforge"), ("pharmacist", "GreenLeaf Pharmacy")]
CLASSES = [("pottery", "I made a very lopsided bowl but the teacher said the walls were even", "hands-on creative work"),
           ("rock climbing", "my forearms were shaking after twenty minutes on the wall", "physical challenges"),
           ("salsa dancing", "I stepped on my partner's feet at least a dozen times", "social, energetic activities"),
           ("watercolour painting", "the paper warped but the sunset actually looked like a sunset", "quiet artistic hobbies"),
           ("Japanese", "I can finally order ramen without pointing at the menu", "learning languages"),
           ("violin", "the neighbours have been very patient with the squeaking", "music")]
PLACES = ["the Scottish Highlands", "Iceland", "the Amalfi coast", "Patagonia", "Kyoto", "the Dolomites", "Morocco", "Norway's fjords"]
COMPANIONS = ["my brother", "my college roommate", "my partner", "my cousin", "two friends from work"]
RELATIVES = [("sister", "she"), ("brother", "he")]
SIBLING_NAMES = {"sister": ["Clara", "Hana", "Leah", "Sofia"], "brother": ["Marco", "Ben", "Kenji", "Theo"]}
BOOKS = [("Project Hail Mary", "space"), ("The Night Circus", "magic"), ("Educated", "memoir"), ("Piranesi", "mystery"),
         ("The Overstory", "trees"), ("Klara and the Sun", "robots")]
SPORTS = ["five-a-side football", "basketball", "trail running", "badminton"]
RACES = ["half marathon", "10k charity run", "triathlon"]
CARS = ["a second-hand Subaru", "an old Volvo estate", "a tiny electric Fiat", "a camper van"]
WHEN = [("yesterday", 1), ("last weekend", None), ("on Saturday", None), ("two weeks ago", 14), ("last Tuesday", None), ("this morning", 0)]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]

REACTIONS = ["No way, that's amazing!", "Oh wow, I did not see that coming.", "That's so exciting, tell me everything.",
             "Aw, I love that for you.", "Honestly that sounds like exactly what you needed.", "Wait, really? Since when?"]
SMALL_TALK = ["How's your week going?", "Pretty hectic, but good. You?", "Same old, same old. Work has been a lot.",
              "Did you see the storm last night?", "I slept through all of it somehow.", "I need a holiday already.",
              "Haha, don't we all.", "Anyway, what's new with you?", "Not much, just trying to keep up with everything.",
              "I made way too much soup again.", "Send some my way!", "Talk soon, okay?", "Take care!"]


def fmt_dt(dt: datetime) -> str:
    """LoCoMo's session time format: '1:56 pm on 8 May, 2023'."""
    hour = dt.hour % 12 or 12
    return f"{hour}:{dt.minute:02d} {'am' if dt.hour < 12 else 'pm'} on {dt.day} {MONTHS[dt.month - 1]}, {dt.year}"


def _day(dt: datetime) -> str:
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"


def when_answer(phrase: str, offset: int | None, dt: datetime) -> str:
    """The answer a temporal question expects for an event told with `phrase` in a session at `dt`."""
    if offset is not None:
        return _day(dt - timedelta(days=offset)) if offset < 14 else f"two weeks before {_day(dt)}"
    if phrase == "last weekend":
        return f"the weekend before {_day(dt)}"
    weekday = 5 if "Saturday" in phrase else 1
    back = (dt.weekday() - weekday) % 7 or 7
    return _day(dt - timedelta(days=back))


def _filler_source(rng: random.Random):
    """Real two-person small talk: exchanges of the chitchat-dataset package, else built-in lines."""
    try:
        import chitchat_dataset
    except ImportError:
        return None
    with open(chitchat_dataset._PATH) as fh:  # the package's loader re-reads the file per access
        convs = list(json.load(fh).values())
    rng.shuffle(convs)
    return convs


class _Conversation:
    def __init__(self, rng: random.Random, a: str, b: str, n_sessions: int, filler) -> None:
        self.rng, self.a, self.b = rng, a, b
        self.n_sessions = n_sessions
        self.filler = filler
        self.filler_i = 0
        start = datetime(2023, rng.randint(1, 6), rng.randint(1, 28), 0, 0)
        self.dates: list[datetime] = []
        t = start
        for _ in range(n_sessions):
            t = t + timedelta(days=rng.randint(3, 12))
            self.dates.append(t.replace(hour=rng.randint(8, 21), minute=rng.randint(0, 59)))
        self.blocks: list[list[list]] = [[] for _ in range(n_sessions)]  # per session: blocks of [speaker, text, tag]
        self.qa: list[dict] = []
        self.tag_n = 0

    # -- building blocks --------------------------------------------------------------------
    def tag(self) -> str:
        self.tag_n += 1
        return f"t{self.tag_n}"

    def other(self, who: str) -> str:
        return self.b if who == self.a else self.a

    def when(self) -> tuple[str, int | None]:
        return self.rng.choice(WHEN)

    def add(self, session: int, turns: list[tuple[str, str, str | None]]) -> None:
        self.blocks[session].append([list(t) for t in turns])

    def ask(self, category: int, question: str, answer: str, evidence: list[str], adversarial: bool = False) -> None:
        q = {"question": question, "evidence": evidence, "category": category}
        q["adversarial_answer" if adversarial else "answer"] = answer
        self.qa.append(q)

    # -- life events (each told by `o` to the other person, with questions about it) ----------
    def pet(self, o: str, s: int) -> tuple[str, str]:
        r, x = self.rng, self.other(o)
        species = r.choice(sorted(PETS))
        breed, name = r.choice(PETS[species]), r.choice(PET_NAMES)
        phrase, off = self.when()
        t1, t2 = self.tag(), self.tag()
        said = r.choice([f"Okay so {phrase} we brought home a little {breed} {species}. We named him {name}!",
                         f"Meet the newest member of the household: {name}, a {breed} {species} we adopted {phrase}.",
                         f"I caved. {phrase[0].upper() + phrase[1:]} I came home from the shelter with a {breed} {species} called {name}."])
        self.add(s, [(o, said, t1),
                     (x, r.choice(REACTIONS) + f" How is {name} settling in?", None),
                     (o, "He already owns the sofa. He follows me from room to room and cries when I shower.", t2)])
        self.ask(4, f"What is the name of {o}'s {species}?", name, [t1])
        self.ask(2, f"When did {o} get {name}?", when_answer(phrase, off, self.dates[s]), [t1])
        self.ask(5, f"What did {x} name the {species}?", name, [t1], adversarial=True)
        self.ask(3, f"Would {o} be likely to stay home more often these days?", "Yes, they have a new pet who follows them around", [t1, t2])
        return t1, name

    def job(self, o: str, s: int, s2: int | None) -> None:
        r, x = self.rng, self.other(o)
        (job1, co1), (job2, co2) = r.sample(JOBS, 2)
        t1 = self.tag()
        said = r.choice([f"Big news: I got the offer! Starting as a {job1} at {co1} on Monday.",
                         f"So {co1} called back and they want me, I'm their new {job1} from next week.",
                         f"First week as a {job1} at {co1} done. Exhausted but happy."])
        self.add(s, [(o, said, t1),
                     (x, "Congratulations!! You worked so hard for this.", None),
                     (o, "Thanks, I'm nervous but mostly excited.", None)])
        self.ask(4, f"Where did {o} start working?", co1, [t1])
        if s2 is None:
            return
        t2 = self.tag()
        self.add(s2, [(o, f"I handed in my notice at {co1} today. From next month I'm a {job2} at {co2} instead.", t2),
                      (x, "Whoa, that's a big change. What made you decide?", None),
                      (o, "The night shifts were wearing me down and this one has normal hours.", self.tag())])
        self.ask(4, f"What is {o}'s job now?", f"{job2} at {co2}", [t2])
        self.ask(1, f"Which jobs has {o} had since they first started talking with {x}?", f"{job1} at {co1}, then {job2} at {co2}", [t1, t2])
        self.ask(2, f"When did {o} leave {co1}?", _day(self.dates[s2]), [t2])
        self.ask(5, f"Why did {x} quit the job at {co1}?", "The night shifts were wearing them down", [t2], adversarial=True)

    def move(self, o: str, s: int) -> tuple[str, str]:
        r, x = self.rng, self.other(o)
        city = r.choice(CITIES)
        t1 = self.tag()
        said = r.choice([f"We finally signed the lease! Moving to {city} at the end of the month.",
                         f"Boxes everywhere: we're relocating to {city}, the van comes on the 30th.",
                         f"It's official, I found a flat in {city} and the keys are mine next week."])
        self.add(s, [(o, said, t1),
                     (x, "That's huge. Are you going to miss the old neighbourhood?", None),
                     (o, "A bit, but the new flat has a balcony and I can cycle to the river.", self.tag())])
        self.ask(4, f"Which city did {o} move to?", city, [t1])
        self.ask(2, f"When did {o} sign the lease for the new flat?", _day(self.dates[s]), [t1])
        return t1, city

    def sibling(self, o: str, s: int) -> tuple[str, str, str]:
        r, x = self.rng, self.other(o)
        rel, pron = r.choice(RELATIVES)
        name, city = r.choice(SIBLING_NAMES[rel]), r.choice(CITIES)
        t1 = self.tag()
        self.add(s, [(x, "How's your family doing?", None),
                     (o, f"Good! My {rel} {name} just got a place in {city}, {pron} starts at the university there in the autumn.", t1),
                     (x, f"Nice, {city} is lovely. You'll have an excuse to visit.", None)])
        self.ask(4, f"Where does {o}'s {rel} live?", city, [t1])
        self.ask(4, f"What is the name of {o}'s {rel}?", name, [t1])
        self.ask(5, f"Where does {x}'s {rel} study?", city, [t1], adversarial=True)
        return t1, name, city

    def hobby(self, o: str, s: int) -> None:
        r, x = self.rng, self.other(o)
        klass, detail, kind = r.choice(CLASSES)
        phrase, off = self.when()
        t1, t2 = self.tag(), self.tag()
        said = r.choice([f"I finally signed up for {klass} lessons, the first one was {phrase}.",
                         f"New hobby alert: I started {klass} classes {phrase}.",
                         f"Remember I said I wanted to try {klass}? Went to my first class {phrase}."])
        self.add(s, [(o, said, t1),
                     (x, "Ooh, how did it go?", None),
                     (o, f"Honestly? {detail[0].upper() + detail[1:]}. I loved it.", t2)])
        self.ask(4, f"What lessons did {o} sign up for?", klass, [t1])
        self.ask(2, f"When did {o} have the first {klass} lesson?", when_answer(phrase, off, self.dates[s]), [t1])
        self.ask(3, f"Does {o} seem to enjoy {kind}?", "Yes", [t1, t2])

    def trip(self, o: str, s: int, sib: tuple[str, str, str] | None) -> None:
        r, x = self.rng, self.other(o)
        phrase, off = self.when()
        t1 = self.tag()
        if sib is not None:  # a multi-hop: the city is only named where the sibling was introduced
            t_sib, name, city = sib
            self.add(s, [(o, f"I'm back! Spent {phrase.replace('last ', 'the ')} at {name}'s new place, the campus is gorgeous.", t1),
                         (x, "Did you two get along or was it sibling chaos?", None),
                         (o, "Mostly getting along. We only argued about the map once.", self.tag())])
            self.ask(1, f"Which city did {o} visit recently?", city, [t1, t_sib])
            return
        place, comp = r.choice(PLACES), r.choice(COMPANIONS)
        said = r.choice([f"Just got back from {place} with {comp}. We hiked every single day.",
                         f"{comp[0].upper() + comp[1:]} and I spent ten days walking around {place}, my legs are destroyed.",
                         f"Home again after {place}! {comp[0].upper() + comp[1:]} planned the whole route, every day on the trails."])
        self.add(s, [(o, said, t1),
                     (x, r.choice(["Jealous! Best moment?", "Send pictures! What was the highlight?"]), None),
                     (o, r.choice(["Watching the sun come up from a ridge after a four am start. Worth every blister.",
                                   "A tiny cafe at the end of a long climb, best soup of my life."]), self.tag())])
        self.ask(4, f"Where did {o} travel with {comp.replace('my ', 'their ')}?", place, [t1])
        self.ask(2, f"When did {o} come back from {place}?", _day(self.dates[s]), [t1])
        self.ask(3, f"Would {o} enjoy an outdoor adventure holiday?", "Yes, they hiked every day on their last trip", [t1])

    def race(self, o: str, s: int, s2: int | None) -> None:
        r, x = self.rng, self.other(o)
        race, city = r.choice(RACES), r.choice(CITIES)
        t1 = self.tag()
        self.add(s, [(o, f"I entered the {city} {race}! Training starts now, send help.", t1),
                     (x, "You've got this. What's the plan?", None),
                     (o, "Three runs a week and a long one on Sundays.", self.tag())])
        if s2 is None:
            self.ask(4, f"Which race did {o} enter?", f"the {city} {race}", [t1])
            return
        sport = r.choice(SPORTS)
        phrase, off = self.when()
        t2 = self.tag()
        self.add(s2, [(o, f"Bad news, I sprained my ankle playing {sport} {phrase}. No {race} for me this year.", t2),
                      (x, "Oh no, I'm so sorry. Is it bad?", None),
                      (o, "Crutches for a week, physio after that.", self.tag())])
        self.ask(4, f"Is {o} still taking part in the {city} {race}?", "No, they sprained an ankle", [t1, t2])
        self.ask(2, f"When did {o} sprain an ankle?", when_answer(phrase, off, self.dates[s2]), [t2])
        self.ask(1, f"What stopped {o} from running the race they trained for?", f"a sprained ankle from {sport}", [t1, t2])

    def book(self, o: str, s: int) -> None:
        r, x = self.rng, self.other(o)
        title, topic = r.choice(BOOKS)
        t1 = self.tag()
        self.add(s, [(x, "Reading anything good?", None),
                     (o, f"I just finished {title}, I stayed up until two to get to the end.", t1),
                     (x, "Adding it to my list.", None)])
        self.ask(4, f"What book did {o} stay up late to finish?", title, [t1])
        self.ask(5, f"Which book kept {x} up until two?", title, [t1], adversarial=True)

    def car(self, o: str, s: int) -> None:
        r, x = self.rng, self.other(o)
        car = r.choice(CARS)
        t1 = self.tag()
        self.add(s, [(o, f"The old car finally died, so I bought {car}.", t1),
                     (x, "Road trip when it's run in?", None),
                     (o, "Absolutely, you pick the playlist.", None)])
        self.ask(4, f"What vehicle did {o} buy?", car, [t1])

    # -- the conversation ---------------------------------------------------------------------
    def plan(self) -> None:
        r, n = self.rng, self.n_sessions
        for o in (self.a, self.b):  # both people live their lives: every kind of event for each
            sessions = list(range(n))

            def pick(after: int = 0) -> int:
                return r.choice([i for i in sessions if i >= after] or [n - 1])

            t_pet, pet_name = self.pet(o, pick())
            s_job = pick(0 if n < 4 else 1)
            self.job(o, s_job, pick(s_job + 1) if s_job + 1 < n else None)
            t_move, city = self.move(o, pick())
            self.ask(1, f"In which city do {o} and {pet_name} live now?", city, [t_pet, t_move])
            s_sib = pick()
            sib = self.sibling(o, s_sib)
            self.hobby(o, pick())
            self.trip(o, pick(), None)
            if s_sib + 1 < n:
                self.trip(o, pick(s_sib + 1), sib)
            s_race = pick()
            self.race(o, s_race, pick(s_race + 1) if s_race + 1 < n else None)
            self.book(o, pick())
            self.car(o, pick())

    def _filler(self, first: str, limit: int) -> list[tuple[str, str, None]]:
        """A few turns of real small talk, alternating from `first`."""
        turns: list[tuple[str, str, None]] = []
        who = first
        if self.filler:
            groups: list = []
            while len(groups) < limit + 2:  # past the greetings, long enough for `limit` turns
                groups = self.filler[self.filler_i % len(self.filler)].get("messages") or []
                self.filler_i += 1
            start = self.rng.randint(2, len(groups) - limit)
            for group in groups[start : start + limit]:
                text = " ".join(m.get("text", "").strip() for m in group if m.get("text", "").strip())
                if text:
                    turns.append((who, text, None))
                    who = self.other(who)
            return turns
        for line in self.rng.sample(SMALL_TALK, min(limit, len(SMALL_TALK))):
            turns.append((who, line, None))
            who = self.other(who)
        return turns

    def sample(self, sample_id: str) -> dict:
        self.plan()
        conv: dict = {"speaker_a": self.a, "speaker_b": self.b}
        where: dict[str, str] = {}
        for s in range(self.n_sessions):
            r = self.rng
            opener = r.choice([self.a, self.b])
            turns: list[tuple[str, str, str | None]] = [(opener, r.choice(["Hey!", "Hi hi", "Morning!", "Hey you, got a minute?"]), None)]
            turns += self._filler(self.other(opener), r.randint(3, 9))
            for block in self.blocks[s]:
                turns += [tuple(t) for t in block]
                turns += self._filler(self.other(turns[-1][0]), r.randint(2, 8))
            turns.append((r.choice([self.a, self.b]), r.choice(["Talk soon!", "Gotta run, bye!", "Night!"]), None))
            rows = []
            for i, (who, text, tag) in enumerate(turns, start=1):
                dia = f"D{s + 1}:{i}"
                rows.append({"speaker": who, "dia_id": dia, "text": text})
                if tag:
                    where[tag] = dia
            conv[f"session_{s + 1}"] = rows
            conv[f"session_{s + 1}_date_time"] = fmt_dt(self.dates[s])
        qa = []
        for q in self.qa:
            q = dict(q)
            q["evidence"] = [where[t] for t in q["evidence"]]
            qa.append(q)
        return {"sample_id": sample_id, "conversation": conv, "qa": qa}


def generate(seed: int = 0, samples: int = 2, sessions: int = 20) -> list[dict]:
    """`samples` conversations of `sessions` sessions each, the same for the same arguments."""
    rng = random.Random(seed)
    filler = _filler_source(random.Random(seed))
    out = []
    for i in range(samples):
        a, b = rng.choice(USERS), rng.choice(CHARACTERS)
        out.append(_Conversation(random.Random(rng.random()), a, b, sessions, filler).sample(f"gen-{seed}-{i}"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", help="where to write the JSON list of samples")
    p.add_argument("--smoke", action="store_true", help="one 4-session sample to a temporary file (CI)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--sessions", type=int, default=20)
    args = p.parse_args(argv)
    if args.smoke:
        import tempfile

        args.samples, args.sessions = 1, 4
        args.out = args.out or str(Path(tempfile.mkdtemp(prefix="bgp_memory_gen_")) / "smoke.json")
    if not args.out:
        p.error("give OUT (or --smoke)")
    data = generate(args.seed, args.samples, args.sessions)
    with open(args.out, "w") as fh:
        json.dump(data, fh, indent=1)
    turns = sum(len(v) for s in data for k, v in s["conversation"].items() if k.startswith("session_") and isinstance(v, list))
    print(f"wrote {args.out}: {len(data)} samples, {turns} turns, {sum(len(s['qa']) for s in data)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
