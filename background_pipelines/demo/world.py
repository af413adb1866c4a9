"""Builds the demo world from a seed: the same seed and start give identical messages, ids and
planted ground truth (facts, the job change, aliases, significant events) for recall checks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from background_pipelines.demo import lines as L
from background_pipelines.demo.cast import CHARACTERS, CITIES, FIXED_USERS, JOBS, OTHER_USERS, PETS, PREFERENCES

DEFAULT_SEED = 0
DEFAULT_START = date(2026, 11, 1)
DAYS = 14
SESSIONS_PER_USER = 6
LONG_SESSION_MIN = 22  # long sessions cross the 20-message summary threshold


@dataclass(frozen=True)
class PlantedFact:
    """A fact stated in user messages: `message_ids` are the external ids (platform "demo") that say it.
    `superseded_by` names the newer object when the user later contradicts it."""

    user: str
    predicate: str  # works_as | works_at | lives_in | has_pet | prefers
    object: str
    message_ids: tuple[str, ...]
    kind: str = "fact"  # fact | preference
    detail: str = ""
    superseded_by: str | None = None


@dataclass(frozen=True)
class PlantedEvent:
    user: str
    kind: str  # pet_died | promotion | job_change
    message_id: str
    text: str
    significance: int = 3


@dataclass(frozen=True)
class PlantedAlias:
    canonical: str
    alias: str
    canonical_message_ids: tuple[str, ...]
    alias_message_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlantedContradiction:
    user: str
    predicate: str
    old: str
    new: str
    old_message_ids: tuple[str, ...]
    new_message_ids: tuple[str, ...]


@dataclass
class DemoWorld:
    seed: int
    start: date
    characters: list[dict]
    users: list[dict]  # name, display_name, characters (who they talk to)
    messages: list[dict] = field(default_factory=list)  # canonical message dicts, platform "demo"
    facts: list[PlantedFact] = field(default_factory=list)
    events: list[PlantedEvent] = field(default_factory=list)
    aliases: list[PlantedAlias] = field(default_factory=list)
    contradictions: list[PlantedContradiction] = field(default_factory=list)

    @property
    def sessions(self) -> list[str]:
        return list(dict.fromkeys(m["session"] for m in self.messages))


def _daypart(hour: int) -> str:
    return "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


def _profiles(rng: random.Random) -> list[dict]:
    names = [c["name"] for c in CHARACTERS]
    users = []
    for name, p in FIXED_USERS.items():
        users.append(dict(name=name, display_name=p["display"], role=p["role"], company=p["company"], city=p["city"],
                          pet=p["pet"], preference=p["preference"], characters=list(p["characters"])))
    for name, display in OTHER_USERS:
        role, company = rng.choice(JOBS)
        pet = rng.choice(PETS) if rng.random() < 0.6 else None
        chars = rng.sample(names, 2) if rng.random() < 0.4 else [rng.choice(names)]
        users.append(dict(name=name, display_name=display, role=role, company=company, city=rng.choice(CITIES),
                          pet=pet, preference=rng.choice(PREFERENCES), characters=chars))
    return users


class _Builder:
    def __init__(self, seed: int, start: date):
        self.rng = random.Random(seed)
        self.world = DemoWorld(seed=seed, start=start, characters=[dict(c) for c in CHARACTERS], users=[])
        self.prefix = f"{seed}-{start:%Y%m%d}"
        self.fact_ids: dict[tuple, list[str]] = {}
        self.alias_ids: dict[str, list[str]] = {}

    # -- one session -------------------------------------------------------------------------
    def session(self, index: int, channel: str, start: datetime, users: list[str], char: str, beats: list, long: bool,
                small_talk: bool = True):
        rng = self.rng
        key = f"demo:{self.prefix}:s{index:03d}"
        msgs: list[dict] = []
        clock = [start]

        def say(author: str, text: str, kind: str = "user") -> str:
            ext = f"{self.prefix}:s{index:03d}:m{len(msgs):02d}"
            msgs.append(dict(platform="demo", external_id=ext, channel=channel, session=key, author=author,
                             author_kind=kind, text=text, created_at=clock[0]))
            clock[0] += timedelta(seconds=rng.randint(15, 150))
            return ext

        def reply(text: str) -> None:
            say(char, text, "character")

        dp = _daypart(start.hour)
        for u in users:
            say(u, rng.choice(L.GREET).format(char=char, daypart=dp))
            reply(rng.choice(L.GREET_REPLY[char]).format(user=u.title(), daypart=dp))
        for beat in beats:
            beat(say, reply)
        while small_talk:
            u = rng.choice(users)
            self._small_talk(say, reply, u, char)
            if not long and rng.random() < 0.5:
                break
            if long and len(msgs) >= LONG_SESSION_MIN - 2:
                break
        u = users[-1]
        say(u, rng.choice(L.BYE))
        reply(rng.choice(L.BYE_REPLY[char]).format(user=u.title()))
        self.world.messages.extend(msgs)

    def _small_talk(self, say, reply, user: str, char: str) -> None:
        rng = self.rng
        topic = rng.choice(sorted(L.TOPICS))
        line, reaction = rng.choice(L.TOPICS[topic])
        say(user, line)
        template = rng.choice(L.VOICE[char])
        reply(template.format(reaction=reaction, reaction_lc=reaction[0].lower() + reaction[1:]))
        if rng.random() < 0.6:
            say(user, rng.choice(L.FOLLOW_UP))
            reply(rng.choice(L.MUSING[char]))

    # -- beats: a user line plus the character's answer, recording what it plants ------------
    def fact(self, user: str, predicate: str | None, obj, text: str, answer: str, kind: str = "fact", detail: str = ""):
        def beat(say, reply):
            ext = say(user, text)
            planted = [] if predicate is None else [(predicate, obj)]
            if predicate == "job":
                planted = [("works_at", obj[0]), ("works_as", obj[1])]
            for pred, o in planted:
                if o not in text and predicate != "prefers":
                    continue  # a restatement that leaves this part out (e.g. names the company only)
                self.fact_ids.setdefault((user, pred, o, kind, detail), []).append(ext)
            for surface in ("Acme Corp", "ACME Corporation", "New York City", "NYC"):
                if surface in text and not (surface == "Acme Corp" and "ACME Corporation" in text):
                    self.alias_ids.setdefault(surface, []).append(ext)
            reply(answer)

        return beat

    def event(self, user: str, kind: str, text: str, answers: list[str], after: list[str] = ()):
        def beat(say, reply):
            ext = say(user, text)
            self.world.events.append(PlantedEvent(user, kind, ext, text))
            reply(answers[0])
            for line, answer in zip(after, answers[1:]):
                say(user, line)
                reply(answer)

        return beat

    def user_beats(self, u: dict, n: int, char: str) -> list:
        """What user `u` brings up in their n-th session with `char` (facts first, storylines later)."""
        name, role, company, city, pet = u["name"], u["role"], u["company"], u["city"], u["pet"]
        fmt = dict(role=role, company=company, city=city, user=name.title())
        fr = L.FACT_REPLY
        beats = []
        if n == 0:
            beats.append(self.fact(name, "job", (company, role), L.JOB_FIRST.format(**fmt), fr["job"][char].format(**fmt)))
            beats.append(self.fact(name, "lives_in", city, L.CITY_FIRST.format(**fmt), fr["city"][char].format(**fmt)))
        elif n == 1:
            if pet:
                kind, pname = pet
                text = self.rng.choice(L.PET_FIRST).format(kind=kind, pet=pname)
                beats.append(self.fact(name, "has_pet", pname, text, fr["pet"][char].format(kind=kind, pet=pname),
                                       detail=kind))
            if u["preference"]:
                obj, text = L.PREFERENCE_LINES[u["preference"]]
                beats.append(self.fact(name, "prefers", obj, text, fr[u["preference"]][char], kind="preference"))
        elif n == 2:
            text = self.rng.choice(L.JOB_REPEAT).format(**fmt)
            beats.append(self.fact(name, "job", (company, role), text, fr["job_repeat"][char]))
        elif n == 3 and name != "chen":
            text = self.rng.choice(L.CITY_REPEAT).format(**fmt)
            beats.append(self.fact(name, "lives_in", city, text, fr["city_repeat"][char]))
        # storylines
        if name == "chen" and n == 3:
            beats.append(self.fact(name, None, None, L.ALIAS_NYC, fr["city_repeat"][char]))
        if name == "alice" and n == 2:
            beats.append(self.fact(name, None, None, L.ALIAS_ACME, L.MUSING[char][0]))
        if name == "alice" and n == 4 and char in L.PET_DIED_REPLY:
            kind, pname = pet
            answers = [a.format(user=name.title(), pet=pname) for a in L.PET_DIED_REPLY[char]]
            beats.append(self.event(name, "pet_died", L.PET_DIED.format(kind=kind, pet=pname), answers,
                                    [self.rng.choice(L.PET_DIED_AFTER)]))
        if name == "elif" and n == 4:
            text = L.PROMOTION.format(role=role)
            answer = L.PROMOTION_REPLY.get(char, L.PROMOTION_REPLY["Juno"]).format(role=role, user=name.title())
            beats.append(self.event(name, "promotion", text, [answer]))
        if name == "dana" and n == 3:
            beats.append(self.event(name, "job_change", L.JOB_CHANGE, [L.JOB_CHANGE_REPLY["Mira"]]))
        if name == "dana" and n == 4:
            beats.append(self.fact(name, "works_at", "Globex", L.JOB_CHANGE_REPEAT, fr["job_repeat"][char]))
        return beats

    # -- the whole world -------------------------------------------------------------------------
    def build(self) -> DemoWorld:
        rng, world = self.rng, self.world
        world.users = _profiles(rng)
        plans = []  # (start, channel, users, char, beats-factory, long)
        for ui, u in enumerate(world.users):
            days = sorted(rng.sample(range(DAYS), SESSIONS_PER_USER))
            for n, day in enumerate(days):
                char = u["characters"][n % len(u["characters"])]
                if u["name"] == "alice" and n == 4:
                    char = "Mira"  # she tells Mira, who has known Biscuit since the start
                at = datetime.combine(world.start + timedelta(days=day), time(rng.randint(7, 21), rng.randint(0, 59)))
                long = (ui + n) % 5 == 0
                plans.append((at, f"dm/{char}/{u['name']}", [u["name"]], char, (u, n), long))
        for char in [c["name"] for c in CHARACTERS]:
            members = [u["name"] for u in world.users if char in u["characters"]]
            if len(members) < 2:
                continue
            for day in (2, 7, 12):
                group = rng.sample(members, min(3, len(members)))
                at = datetime.combine(world.start + timedelta(days=day), time(20, rng.randint(0, 59)))
                plans.append((at, f"lounge/{char}", group, char, None, day == 7))
        plans.sort(key=lambda p: (p[0], p[1]))
        for index, (at, channel, users, char, who, long) in enumerate(plans):
            beats = self.user_beats(who[0], who[1], char) if who else []
            grieving = bool(who) and (who[0]["name"], who[1]) == ("alice", 4)  # no chit-chat the day Biscuit died
            self.session(index, channel, at, users, char, beats, long and not grieving, small_talk=not grieving)
        self._collect()
        return world

    def _collect(self) -> None:
        globex = [e.message_id for e in self.world.events if e.kind == "job_change"]
        facts = []
        for (user, pred, obj, kind, detail), ids in self.fact_ids.items():
            if user == "dana" and pred == "works_at" and obj == "Globex":
                ids = globex + ids
            superseded = "Globex" if (user == "dana" and pred == "works_at" and obj == "Initech") else None
            facts.append(PlantedFact(user, pred, obj, tuple(ids), kind, detail, superseded))
        self.world.facts = facts
        dana = {f.object: f.message_ids for f in facts if f.user == "dana" and f.predicate == "works_at"}
        self.world.contradictions = [
            PlantedContradiction("dana", "works_at", "Initech", "Globex", dana["Initech"], dana["Globex"])
        ]
        a = self.alias_ids
        self.world.aliases = [
            PlantedAlias("Acme Corp", "ACME Corporation", tuple(a["Acme Corp"]), tuple(a["ACME Corporation"])),
            PlantedAlias("New York City", "NYC", tuple(a["New York City"]), tuple(a["NYC"])),
        ]


def build_world(seed: int = DEFAULT_SEED, start: date = DEFAULT_START) -> DemoWorld:
    """The demo world for `seed`, with sessions from `start` (UTC) over DAYS days."""
    return _Builder(seed, start).build()
