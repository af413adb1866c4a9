"""A second, independent generator in the LoCoMo-style layout, kept as a HELD-OUT set: recall's weights
are never tuned on it (memory_tune.py tunes on memory_gen.py and the demo world only).

Written before any tuning, deliberately unlike memory_gen.py: other people and life events (an
instrument, a garden, volunteering, a renovation, a driving test failed then passed, a wedding, a
grandparent in hospital, a niece, a side business opened then closed, a gig, an allergy), longer and
looser turns, evidence that sits in the other speaker's turn (a question and its answer), questions
that share few words with their evidence, photos shared as turns (`img_url` + `blip_caption`, empty
text), hard negatives (the other person mentions the same topic in passing), and the quirks of real
files: adversarial questions with `adversarial_answer` and no `answer`, evidence strings holding two
ids or naming a missing turn, session numbers that skip, a dated session with no turns.

    .venv/bin/python benchmarks/memory_gen_heldout.py OUT.json [--seed 0] [--samples 2] [--sessions 20] | --smoke
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import zlib
from datetime import datetime, timedelta
from pathlib import Path

PEOPLE = ["Harriet", "Kwame", "Ingrid", "Rafael", "Yuki", "Declan", "Beatriz", "Oskar", "Leila", "Callum"]
FRIENDS = ["Marlowe", "Ada", "Teodor", "Saoirse", "Bram", "Lucia", "Imani", "Ezra"]
INSTRUMENTS = [("cello", "bow"), ("ukulele", "chords"), ("saxophone", "reed"), ("drums", "sticks"), ("piano", "scales")]
CROPS = ["tomatoes", "courgettes", "strawberries", "chillies", "runner beans"]
CAUSES = [("an animal shelter", "walking the dogs nobody adopts"), ("a food bank", "sorting tins on Saturday mornings"),
          ("a literacy charity", "reading with kids after school"), ("the hospice shop", "pricing donated books")]
ROOMS = [("kitchen", "sage green cabinets"), ("bathroom", "terracotta tiles"), ("spare room", "a wall of shelves")]
VENUES = ["the Roundhouse", "a tiny jazz bar called Blue Lantern", "the old corn exchange", "an open-air stage by the harbour"]
BANDS = ["The Lumineers", "a Fleetwood Mac tribute band", "Khruangbin", "a local folk trio"]
GOODS = [("soy candles", "Wick & Ember"), ("hand-dyed yarn", "Fernwool"), ("sourdough loaves", "Crumb Club")]
ALLERGIES = ["peanuts", "shellfish", "cats", "pollen"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
RELATIVE_DAYS = [("the other day", None), ("on Sunday", "Sunday"), ("last Friday", "Friday"), ("three days ago", 3), ("yesterday", 1)]

FILLER = ["lol true", "ugh mondays", "wait what time is it there", "I just spilled coffee on my keyboard",
          "did you ever finish that show?", "no spoilers please!!", "I'm so tired today", "same honestly",
          "the weather here is so weird this week", "haha stop", "ok but hear me out", "brb, door",
          "back", "my phone is about to die", "what are you up to tonight?", "nothing exciting, laundry probably"]


def fmt_dt(dt: datetime) -> str:
    hour = dt.hour % 12 or 12
    return f"{hour}:{dt.minute:02d} {'am' if dt.hour < 12 else 'pm'} on {dt.day} {MONTHS[dt.month - 1]}, {dt.year}"


def _day(dt: datetime) -> str:
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"


def _when(rel, dt: datetime) -> str:
    phrase, what = rel
    if isinstance(what, int):
        return _day(dt - timedelta(days=what))
    if what is None:
        return f"a few days before {_day(dt)}"
    target = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"].index(what)
    return _day(dt - timedelta(days=(dt.weekday() - target) % 7 or 7))


def _chitchat(rng: random.Random):
    try:
        import chitchat_dataset
    except ImportError:
        return None
    with open(chitchat_dataset._PATH) as fh:
        convs = list(json.load(fh).values())
    rng.shuffle(convs)
    return convs[len(convs) // 2 :]  # the other half from the one memory_gen.py favours, in another order


class _Life:
    def __init__(self, rng: random.Random, a: str, b: str, n: int, chat) -> None:
        self.rng, self.a, self.b, self.n, self.chat, self.chat_i = rng, a, b, n, chat, 0
        t = datetime(2022, rng.randint(1, 9), rng.randint(1, 28))
        self.dates = []
        for _ in range(n):
            t += timedelta(days=rng.randint(4, 16))
            self.dates.append(t.replace(hour=rng.randint(7, 22), minute=rng.randint(0, 59)))
        self.blocks: list[list[list[dict]]] = [[] for _ in range(n)]
        self.qa: list[dict] = []
        self.k = 0

    def tag(self) -> str:
        self.k += 1
        return f"e{self.k}"

    def other(self, p: str) -> str:
        return self.b if p == self.a else self.a

    def add(self, s: int, *turns: dict) -> None:
        self.blocks[s].append(list(turns))

    @staticmethod
    def t(who: str, text: str, tag: str | None = None, caption: str | None = None) -> dict:
        d = {"speaker": who, "text": text, "tag": tag}
        if caption:
            d.update(img_url=[f"https://example.invalid/img/{zlib.crc32(caption.encode()) % 10**6}.jpg"], blip_caption=caption, query=caption.split()[-1])
        return d

    def ask(self, cat: int, q: str, ans: str, ev: list[str], adversarial: bool = False) -> None:
        item = {"question": q, "evidence": ev, "category": cat}
        item["adversarial_answer" if adversarial else "answer"] = ans
        self.qa.append(item)

    # -- events -------------------------------------------------------------------------------
    def instrument(self, p: str, s: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        inst, part = r.choice(INSTRUMENTS)
        e1, e2 = self.tag(), self.tag()
        self.add(s, t(x, "You sound cheerful today, what's going on?"),
                 t(p, r.choice([f"I've been teaching myself the {inst} from videos. Every evening after dinner, forty minutes.",
                                f"So I bought a second-hand {inst} off a guy at work and I'm actually sticking with it for once."]), e1),
                 t(x, "Ha, how are the neighbours taking it?"),
                 t(p, f"They knocked once. I've mostly figured out the {part} now though, it sounds less like a dying goose.", e2))
        self.ask(4, f"What instrument is {p} learning?", inst, [e1])
        self.ask(3, f"Is {p} someone who practises a hobby regularly?", "yes, every evening", [e1, e2])
        self.ask(5, f"What instrument did {x} buy from a colleague?", inst, [e1], adversarial=True)

    def garden(self, p: str, s: int, s2: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        crop = r.choice(CROPS)
        e1, e2 = self.tag(), self.tag()
        self.add(s, t(p, "Got my hands on an allotment plot finally! After two years on the waiting list.", e1),
                 t(x, "What are you going to plant?"),
                 t(p, f"Mostly {crop}. My grandad always grew them and I want to see if I inherited the knack.", e2))
        e3 = self.tag()
        self.add(s2, t(p, "", e3, caption=f"a photo of a basket full of freshly picked {crop} on a wooden bench"),
                 t(x, "Look at that harvest!! Did you eat them all?"),
                 t(p, "Half went to the neighbours, we had way too many."))
        self.add(s2, t(x, "I tried growing herbs on my windowsill once and killed them in a week haha"))  # hard negative
        self.ask(4, f"What does {p} grow on the allotment?", crop, [e2])
        self.ask(1, f"Did {p}'s allotment produce a good crop of what they planted?", f"yes, a basket of {crop}", [e2, e3])
        self.ask(2, f"When did {p} share the harvest picture?", _day(self.dates[s2]), [e3])

    def volunteer(self, p: str, s: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        where, what = r.choice(CAUSES)
        rel = r.choice(RELATIVE_DAYS)
        e1, e2 = self.tag(), self.tag()
        self.add(s, t(x, "Did you end up doing that volunteering thing?", e1),
                 t(p, f"I did, started {rel[0]} at {where}. I'm {what}.", e2),
                 t(x, "That's really lovely of you."))
        self.ask(4, f"Where does {p} volunteer?", where, [e2])
        self.ask(2, f"When did {p} start volunteering?", _when(rel, self.dates[s]), [e2])
        self.ask(3, f"Would {p} likely support a charity fundraiser?", "probably yes, they volunteer", [e1, e2])

    def renovation(self, p: str, s: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        room, look = r.choice(ROOMS)
        e1 = self.tag()
        self.add(s, t(p, f"The house is chaos, we ripped out the old {room}. Going with {look}, fingers crossed.", e1),
                 t(x, "Brave! DIY or builders?"),
                 t(p, "Builders for the plumbing, us for everything else. Sawdust in my cereal this morning."))
        self.ask(4, f"Which room is {p} redoing?", room, [e1])
        self.ask(5, f"What colour scheme did {x} choose for the {room}?", look, [e1], adversarial=True)

    def driving(self, p: str, s: int, s2: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        e1, e2 = self.tag(), self.tag()
        self.add(s, t(x, "How did the test go??"),
                 t(p, "Failed. Clipped the kerb on the parallel park and that was that.", e1),
                 t(x, "Oh no. Next time for sure."))
        self.add(s2, t(p, "GUESS WHO HAS A FULL LICENCE", e2),
                 t(x, "NO WAY! Second time lucky!"),
                 t(p, "Zero minors on the parking this time, the examiner even smiled."))
        self.ask(1, f"How many attempts did it take {p} to pass the driving test?", "two", [e1, e2])
        self.ask(2, f"When did {p} pass the driving test?", _day(self.dates[s2]), [e2])
        self.ask(4, f"Why did {p} fail the first driving test?", "clipped the kerb while parallel parking", [e1])

    def wedding(self, p: str, s: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        friend = r.choice(FRIENDS)
        e1, e2 = self.tag(), self.tag()
        self.add(s, t(p, f"{friend} asked me to give a speech at the wedding. I have never been this nervous.", e1),
                 t(x, "You'll be brilliant. Funny or sentimental?"),
                 t(p, "Both? I'm opening with the story of the canoe trip that went wrong.", e2))
        self.ask(4, f"Whose wedding is {p} giving a speech at?", friend, [e1])
        self.ask(4, f"What story will {p} start the speech with?", "the canoe trip that went wrong", [e2])

    def grandparent(self, p: str, s: int, s2: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        who = r.choice(["gran", "grandpa"])
        e1, e2 = self.tag(), self.tag()
        self.add(s, t(p, f"Sorry I've been quiet, my {who} had a fall and is in hospital with a broken hip.", e1),
                 t(x, "Oh I'm so sorry. Sending love to all of you."))
        self.add(s2, t(x, f"How's your {who} doing now?"),
                 t(p, "Home again and bossing the physio around, so back to normal honestly.", e2))
        self.ask(1, f"How is {p}'s {who} after the hospital stay?", "home again and recovering", [e1, e2])
        self.ask(2, f"When did {p} mention their {who} was in hospital?", _day(self.dates[s]), [e1])

    def niece(self, p: str, s: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        name = r.choice(["Ottilie", "Nell", "Aurora", "Mabel", "Ivy"])
        e1 = self.tag()
        self.add(s, t(p, "", e1, caption=f"a photo of a person holding a newborn baby wrapped in a yellow blanket"),
                 t(p, f"I'm an auntie/uncle!! Meet {name}, born at 3am, seven pounds exactly."),
                 t(x, "She's perfect. Congratulations!!"))
        e2 = self.blocks[s][-1][1]
        e2["tag"] = self.tag()
        self.ask(4, f"What is the name of {p}'s niece?", name, [e2["tag"]])
        self.ask(3, f"Did someone in {p}'s family recently have a baby?", "yes, a niece", [e1, e2["tag"]])

    def business(self, p: str, s: int, s2: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        goods, brand = r.choice(GOODS)
        e1, e2 = self.tag(), self.tag()
        self.add(s, t(p, f"Soft launch of my little side hustle: {brand}! I'm selling {goods} at the Saturday market.", e1),
                 t(x, "Putting in my order right now."))
        self.add(s2, t(x, f"Are you still doing the {brand} stall?"),
                 t(p, "Nope, I closed it down. The market fees went up and I was working every weekend for pennies.", e2))
        self.ask(4, f"What did {p} sell at the market?", goods, [e1])
        self.ask(1, f"Is {p}'s side business still running?", "no, it closed because the fees went up", [e1, e2])
        self.ask(5, f"Why did {x} close {brand}?", "market fees went up", [e2], adversarial=True)

    def gig(self, p: str, s: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        band, venue = r.choice(BANDS), r.choice(VENUES)
        rel = r.choice(RELATIVE_DAYS)
        e1 = self.tag()
        self.add(s, t(x, "Good weekend?"),
                 t(p, f"Saw {band} {rel[0]} at {venue}, I still can't hear properly.", e1),
                 t(x, "Jealous, I've wanted to see them forever."))
        self.ask(4, f"Which band did {p} see live?", band, [e1])
        self.ask(2, f"When did {p} go to the concert?", _when(rel, self.dates[s]), [e1])

    def allergy(self, p: str, s: int) -> None:
        r, x, t = self.rng, self.other(p), self.t
        what = r.choice(ALLERGIES)
        e1 = self.tag()
        self.add(s, t(x, "Want to come over for dinner next week?"),
                 t(p, f"Yes please! Just remember I'm allergic to {what}, I ended up in A&E once.", e1))
        self.ask(4, f"What is {p} allergic to?", what, [e1])
        self.ask(3, f"What should {x} avoid when cooking for {p}?", what, [e1])

    def plan(self) -> None:
        r, n = self.rng, self.n

        def pick(lo: int = 0) -> int:
            return r.randint(min(lo, n - 1), n - 1)

        for p in (self.a, self.b):
            self.instrument(p, pick())
            s = pick(0)
            self.garden(p, s, pick(s + 1))
            self.volunteer(p, pick())
            self.renovation(p, pick())
            s = pick(0)
            self.driving(p, s, pick(s + 1))
            self.wedding(p, pick())
            s = pick(0)
            self.grandparent(p, s, pick(s + 1))
            self.niece(p, pick())
            s = pick(0)
            self.business(p, s, pick(s + 1))
            self.gig(p, pick())
            self.allergy(p, pick())

    def filler(self, first: str, count: int) -> list[dict]:
        out, who = [], first
        for _ in range(count):
            text = None
            if self.chat:
                conv = self.chat[self.chat_i % len(self.chat)]
                self.chat_i += 1
                groups = [" ".join(m.get("text", "").strip() for m in g).strip() for g in conv.get("messages") or []]
                groups = [g for g in groups[2:] if g]
                text = self.rng.choice(groups) if groups else None
            out.append(self.t(who, text or self.rng.choice(FILLER)))
            who = self.other(who)
        return out

    def sample(self, sid: str) -> dict:
        self.plan()
        conv: dict = {"speaker_a": self.a, "speaker_b": self.b}
        where: dict[str, str] = {}
        number = 0
        for s in range(self.n):
            number += 2 if s == self.n // 2 else 1  # session numbers skip one, as real files' do
            turns = self.filler(self.rng.choice([self.a, self.b]), self.rng.randint(2, 6))
            for block in self.blocks[s]:
                turns += block + self.filler(self.other(block[-1]["speaker"]), self.rng.randint(1, 7))
            rows = []
            for i, tt in enumerate(turns, start=1):
                row = {k: v for k, v in tt.items() if k != "tag"}
                row["dia_id"] = f"D{number}:{i}"
                rows.append(row)
                if tt.get("tag"):
                    where[tt["tag"]] = row["dia_id"]
            conv[f"session_{number}"] = rows
            conv[f"session_{number}_date_time"] = fmt_dt(self.dates[s])
        conv[f"session_{number + 1}_date_time"] = fmt_dt(self.dates[-1] + timedelta(days=9))  # dated, no turns
        qa = []
        for q in self.qa:
            q = dict(q, evidence=[where[e] for e in q["evidence"]])
            qa.append(q)
        # the quirks of real files: two ids in one evidence string, an id naming no turn
        if len(qa) > 3:
            qa[1]["evidence"] = ["; ".join(qa[1]["evidence"])] if len(qa[1]["evidence"]) > 1 else qa[1]["evidence"]
            qa[2]["evidence"] = qa[2]["evidence"] + [f"D{number + 5}:1"]
        return {"sample_id": sid, "conversation": conv, "qa": qa}


def generate(seed: int = 0, samples: int = 2, sessions: int = 20) -> list[dict]:
    rng = random.Random(10_000 + seed)  # a seed space of its own: never the same draws as memory_gen.py
    chat = _chitchat(random.Random(10_000 + seed))
    out = []
    for i in range(samples):
        a, b = rng.sample(PEOPLE, 2)
        out.append(_Life(random.Random(rng.random()), a, b, sessions, chat).sample(f"heldout-{seed}-{i}"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?")
    p.add_argument("--smoke", action="store_true", help="one 4-session sample to a temporary file (CI)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--sessions", type=int, default=20)
    args = p.parse_args(argv)
    if args.smoke:
        import tempfile

        args.samples, args.sessions = 1, 4
        args.out = args.out or str(Path(tempfile.mkdtemp(prefix="bgp_memory_heldout_")) / "smoke.json")
    if not args.out:
        p.error("give OUT (or --smoke)")
    data = generate(args.seed, args.samples, args.sessions)
    Path(args.out).write_text(json.dumps(data, indent=1))
    turns = sum(len(v) for s in data for k, v in s["conversation"].items() if k.startswith("session_") and isinstance(v, list))
    print(f"wrote {args.out}: {len(data)} samples, {turns} turns, {sum(len(s['qa']) for s in data)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
