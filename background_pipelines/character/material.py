"""What a character lived through on one of its days: which characters were active, and the day's
sessions, kept summaries, significant memories (significance >= 2 or pinned) and new facts about the
users it met, packed into a `DayBrief` (the LLM input) with the ids it rests on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel

from background_pipelines.character.days import day_is_over, day_window, parse_day, widest_window, zone
from background_pipelines.store import character as cstore
from background_pipelines.store.engine import Store
from background_pipelines.users.identity import display_labels

MAX_SUMMARIES = 12
MAX_MEMORIES = 20
MAX_FACTS = 30
MAX_LINES = 60
SIGNIFICANT = 2


class SelectionError(ValueError):
    """A run restricted to characters the store does not know."""


@dataclass(frozen=True)
class CharacterDay:
    """A character on one local day: its profile and the day's UTC window."""

    name: str
    day: str
    timezone: str
    persona: str
    voice: str
    goals: tuple[str, ...]
    registered: bool
    start: datetime
    end: datetime

    @property
    def item(self) -> str:
        """The ledger item of this character-day."""
        return f"{self.name}/{self.day}"


class Line(BaseModel):
    id: int
    author: str
    text: str


class Memory(BaseModel):
    message_id: int
    author: str
    text: str
    significance: int
    pinned: bool


class SummaryNote(BaseModel):
    id: int
    session: str
    text: str
    meaningfulness: int
    participants: list[str]


class FactNote(BaseModel):
    id: int
    user: str
    kind: str
    predicate: str
    object: str


class DayBrief(BaseModel):
    """Everything the diary, dream and goal tasks see of a character's day."""

    character: str
    persona: str
    voice: str
    timezone: str
    goals: list[str]
    day: str
    weekday: str
    users: list[str]
    acquaintances: list[str]  # every user the character knew by the end of the day
    sessions: list[str]
    message_count: int
    summaries: list[SummaryNote]
    memories: list[Memory]
    facts: list[FactNote]
    lines: list[Line]


@dataclass
class Material:
    """One character-day's task input (`brief`) and the messages it rests on; `material_hash` tells a
    rerun whether anything it would read has changed."""

    who: CharacterDay
    brief: BaseModel
    source_message_ids: list[int]
    material_hash: str = field(init=False, default="")
    user_keys: dict[str, str] = field(default_factory=dict)  # the brief's name for a user -> the user key

    def __post_init__(self) -> None:
        self.material_hash = hashlib.sha256(self.brief.model_dump_json().encode()).hexdigest()


@dataclass
class DayMaterial(Material):
    summary_ids: list[int] = field(default_factory=list)
    fact_ids: list[int] = field(default_factory=list)


def profile_day(name: str, day: str, profile: dict | None) -> CharacterDay:
    tz = (profile or {}).get("timezone") or "UTC"
    start, end = day_window(day, tz, owner=f"character {name!r}")
    return CharacterDay(
        name=name,
        day=day,
        timezone=tz,
        persona=(profile or {}).get("persona") or "",
        voice=(profile or {}).get("voice") or "",
        goals=tuple(str(g) for g in ((profile or {}).get("goals") or [])),
        registered=profile is not None,
        start=start,
        end=end,
    )


def check_selection(store: Store, days: list[str], only: list[str] | None) -> None:
    """Raise SelectionError naming any of `only` that is neither registered nor wrote in `days`."""
    if not only:
        return
    known = set(cstore.character_profiles(store))
    for day in days:
        known |= cstore.character_authors_between(store, *widest_window(day))
    unknown = sorted(set(only) - known)
    if unknown:
        raise SelectionError(
            f"unknown character(s) {', '.join(unknown)} in the run config `characters` "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )


def active_characters(store: Store, day: str, only: list[str] | None = None) -> list[CharacterDay]:
    """Characters that took part in a session during their own local `day`, by name. Characters that
    write messages without being registered count too (UTC day, empty persona)."""
    parse_day(day)
    profiles = cstore.character_profiles(store)
    for name, p in profiles.items():
        zone(p.get("timezone") or "UTC", owner=f"character {name!r}")
    candidates = set(profiles) | cstore.character_authors_between(store, *widest_window(day))
    if only:
        candidates &= set(only)
    out = []
    for name in sorted(candidates):
        who = profile_day(name, day, profiles.get(name))
        if cstore.character_sessions(store, name, who.start, who.end):
            out.append(who)
    return out


NOT_OVER = "local day not over yet"
MATERIAL_PENDING = "local day's messages not all scored yet"
CATCH_UP_DAYS = 3


def catch_up(store: Store, stage: str, days: list[str], only: list[str] | None) -> dict[str, list[str]]:
    """{day: characters} left pending by an earlier run because their local day had not ended, for
    days up to CATCH_UP_DAYS before `days`: a nightly run picks up what the previous night could not."""
    if not days:
        return {}
    first = (parse_day(min(days)) - timedelta(days=CATCH_UP_DAYS)).isoformat()
    out: dict[str, list[str]] = {}
    for item in cstore.waiting_items(store, stage, NOT_OVER) + cstore.waiting_items(store, stage, MATERIAL_PENDING):
        name, _, day = item.rpartition("/")
        if first <= day < min(days) and (not only or name in only):
            out.setdefault(day, []).append(name)
    return out


def split_by_day_over(whos: list[CharacterDay], now: datetime | None) -> tuple[list[CharacterDay], list[CharacterDay]]:
    """(days that have ended, days still running) in each character's timezone."""
    over = [w for w in whos if day_is_over(w.day, w.timezone, now)]
    return over, [w for w in whos if w not in over]


def split_by_material_ready(store: Store, whos: list[CharacterDay]) -> tuple[list[CharacterDay], list[tuple[CharacterDay, int]]]:
    """(days whose messages are all scored, [(day, messages not scored yet)]): a character-day is
    written once, from complete material, not from the part of a western evening that falls on a UTC
    day the message-level assets have not processed yet (and then rewritten)."""
    ready, waiting = [], []
    for who in whos:
        missing = cstore.unscored_between(store, cstore.character_sessions(store, who.name, who.start, who.end), who.start, who.end)
        (waiting.append((who, missing)) if missing else ready.append(who))
    return ready, waiting


def _utc_days(start: datetime, end: datetime) -> list[str]:
    d, out = start.date(), []
    while datetime.combine(d, datetime.min.time()) < end:
        out.append(d.isoformat())
        d += timedelta(days=1)
    return out


def last_utc_day(who: CharacterDay) -> str:
    """The last UTC day the character's local day reaches into (its window end is exclusive)."""
    return (who.end - timedelta(microseconds=1)).date().isoformat()


def gather(store: Store, who: CharacterDay) -> DayMaterial:
    """The character's day, read from the store."""
    sessions = cstore.character_sessions(store, who.name, who.start, who.end)
    msgs = cstore.session_messages(store, sessions, who.start, who.end)
    ids = [m["id"] for m in msgs]
    id_set = set(ids)
    pinned = cstore.active_pins(store, who.name, ids, as_of=who.end)  # as the day ended, not as later days left them
    users = sorted({m["author"] for m in msgs if m["author_kind"] == "user"})  # keys
    acquaintances = cstore.users_known_by(store, who.name, who.end)
    # the brief speaks in names (prose, prompts); rows store keys (user_keys maps back)
    label = display_labels([(m["author"], m.get("author_name")) for m in msgs] + cstore.display_names(store, acquaintances - set(users)))

    # summaries of the UTC days the local day touches, never a later one: which later summaries exist
    # depends on which days have run (the assets' partition mappings guarantee these days ran first)
    summaries = [
        s for s in cstore.kept_summaries_for_sessions(store, sessions, through_day=last_utc_day(who))
        if id_set.intersection(cstore.id_list(s["message_ids"]))
    ][-MAX_SUMMARIES:]
    memories = [m for m in msgs if (m["significance"] or 0) >= SIGNIFICANT or m["id"] in pinned]
    memories.sort(key=lambda m: (-(m["significance"] or 0), m["created_at"], m["id"]))
    memories = sorted(memories[:MAX_MEMORIES], key=lambda m: (m["created_at"], m["id"]))
    new_facts = [
        f for f in cstore.facts_for_users(store, users, _utc_days(who.start, who.end))
        if id_set.intersection(cstore.id_list(f["source_message_ids"]))
    ][:MAX_FACTS]
    if len(msgs) > MAX_LINES:  # keep the most important lines, told in order
        ranked = sorted(msgs, key=lambda m: (-(m["importance"] or 0.0), m["id"]))[:MAX_LINES]
        lines = sorted(ranked, key=lambda m: (m["created_at"], m["id"]))
    else:
        lines = msgs

    brief = DayBrief(
        character=who.name,
        persona=who.persona,
        voice=who.voice,
        timezone=who.timezone,
        goals=list(who.goals),
        day=who.day,
        weekday=parse_day(who.day).strftime("%A"),
        users=[label[u] for u in users],
        acquaintances=sorted(label.get(u, u) for u in acquaintances),
        sessions=sessions,
        message_count=len(msgs),
        summaries=[
            SummaryNote(
                id=s["id"], session=s["session"], text=s["text"], meaningfulness=s["meaningfulness"],
                participants=[str(p) for p in (s["participants"] or [])],
            )
            for s in summaries
        ],
        memories=[
            Memory(message_id=m["id"], author=label.get(m["author"], m["author"]), text=m["text"], significance=m["significance"] or 0, pinned=m["id"] in pinned)
            for m in memories
        ],
        facts=[
            FactNote(id=f["id"], user=label.get(f["user_name"], f["user_name"]), kind=f["kind"], predicate=f["predicate"], object=f["object"])
            for f in new_facts
        ],
        lines=[Line(id=m["id"], author=label.get(m["author"], m["author"]), text=m["text"]) for m in lines],
    )
    sources = set(ids)
    for s in summaries:
        sources.update(cstore.id_list(s["message_ids"]))
    for f in new_facts:
        sources.update(cstore.id_list(f["source_message_ids"]))
    return DayMaterial(
        who=who,
        brief=brief,
        source_message_ids=sorted(sources),
        summary_ids=[s["id"] for s in summaries],
        fact_ids=[f["id"] for f in new_facts],
        user_keys={label[u]: u for u in users},
    )
