"""find_insights: per active character, patterns across the users it talked with over the last week
-> epiphanies ("Bob and Dana both carry exam worries"), each naming the users and the evidence (message,
summary and fact ids) it rests on. A character needs two or more users for a pattern across them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

from pydantic import BaseModel, Field

from background_pipelines.character.lexicon import topic_words
from background_pipelines.character.material import CharacterDay, Material, last_utc_day
from background_pipelines.character.prompting import join_names, persona_system
from background_pipelines.character.result import StepResult, md_entries
from background_pipelines.character.runner import run_character_days
from background_pipelines.character.voice import Voice
from background_pipelines.llm.task import Task
from background_pipelines.store import character as cstore
from background_pipelines.store.engine import Store
from background_pipelines.users.identity import display_labels

STAGE = "insights"
VERSION = "insight-v1"
WINDOW_DAYS = 7
MAX_EPIPHANIES = 5


class Ref(BaseModel):
    id: int
    text: str


class Evidence(BaseModel):
    """What one user brought this week: summaries, their own notable lines, preference facts, topics."""

    user: str
    summaries: list[Ref] = Field(default_factory=list)
    messages: list[Ref] = Field(default_factory=list)
    preferences: list[Ref] = Field(default_factory=list)  # fact id + the preferred thing
    topics: list[str] = Field(default_factory=list)
    mood_trend: str = "unknown"


class InsightInput(BaseModel):
    character: str
    persona: str
    voice: str
    day: str
    users: list[Evidence]


class Epiphany(BaseModel):
    topic: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1)
    users: list[str] = Field(default_factory=list)
    evidence_message_ids: list[int] = Field(default_factory=list)
    evidence_summary_ids: list[int] = Field(default_factory=list)
    evidence_fact_ids: list[int] = Field(default_factory=list)


class InsightSet(BaseModel):
    epiphanies: list[Epiphany] = Field(default_factory=list)


def insight_prompt(item: InsightInput) -> list[dict]:
    job = (
        "Look across the people you talked with this week (each with their topics, preferences, mood trend, "
        "summaries and the ids of the evidence). Find patterns that hold across two or more of them and write "
        "each as a short first-person epiphany. Cite the evidence ids it rests on. Up to 5. JSON: "
        "epiphanies[{topic, text, users, evidence_message_ids, evidence_summary_ids, evidence_fact_ids}]."
    )
    return [
        persona_system(item.character, item.persona, item.voice, job),
        {"role": "user", "content": item.model_dump_json(exclude={"persona", "voice"}, indent=1)},
    ]


@dataclass
class _Pattern:
    label: str
    users: set[str] = field(default_factory=set)
    summaries: set[int] = field(default_factory=set)
    messages: set[int] = field(default_factory=set)
    facts: set[int] = field(default_factory=set)


def _shared_text(who: list[str], label: str, is_preference: bool) -> str:
    both = "all" if len(who) > 2 else "both"
    if is_preference:
        return f"I notice that {join_names(who)} {both} asked for the same thing: “{label}”. I can keep that in mind with each of them."
    return f"I notice that {join_names(who)} {both} come back to {label}. Maybe there is something there I could help them share."


def compose_insights(item: InsightInput) -> InsightSet:
    """Offline: topics and preferences two or more users share (with the summaries, lines and facts
    that show each), and mood trends they have in common."""
    patterns: dict[str, _Pattern] = {}
    names = {u.user.lower() for u in item.users} | {item.character.lower()}
    for u in item.users:
        for topic in set(u.topics) - names:
            p = patterns.setdefault(topic, _Pattern(topic))
            p.users.add(u.user)
            p.summaries.update(r.id for r in u.summaries if topic in topic_words(r.text))
            p.messages.update(r.id for r in u.messages if topic in topic_words(r.text))
        for pref in u.preferences:
            key = "pref:" + " ".join(pref.text.lower().split())
            p = patterns.setdefault(key, _Pattern(pref.text.strip()))
            p.users.add(u.user)
            p.facts.add(pref.id)
    voice = Voice.from_notes(item.persona, item.voice)
    shared = sorted(
        ((k, p) for k, p in patterns.items() if len(p.users) >= 2 and (p.summaries or p.messages or p.facts)),
        key=lambda kp: (-len(kp[1].users), not kp[0].startswith("pref:"), kp[0]),
    )
    out = [
        Epiphany(
            topic=p.label[:120], text=voice.apply(_shared_text(sorted(p.users), p.label, key.startswith("pref:"))),
            users=sorted(p.users), evidence_message_ids=sorted(p.messages), evidence_summary_ids=sorted(p.summaries),
            evidence_fact_ids=sorted(p.facts),
        )
        for key, p in shared[:MAX_EPIPHANIES]
    ]
    by_user = {u.user: u for u in item.users}
    for trend, line in (("declining", "are having a harder time lately; I should be gentle with them"), ("improving", "seem to be doing better lately")):
        who = sorted(u.user for u in item.users if u.mood_trend == trend)
        if len(who) >= 2 and len(out) < MAX_EPIPHANIES:
            out.append(
                Epiphany(
                    topic=f"mood {trend}", text=voice.apply(f"{join_names(who)} {line}."), users=who,
                    evidence_message_ids=sorted({r.id for u in who for r in by_user[u].messages}),
                    evidence_summary_ids=sorted({r.id for u in who for r in by_user[u].summaries}),
                )
            )
    return InsightSet(epiphanies=out)


INSIGHT_TASK: Task[InsightSet] = Task(name="cross_user_insight", schema=InsightSet, prompt=insight_prompt, offline=compose_insights, max_tokens=900)


def gather_insight_material(store: Store, who: CharacterDay) -> Material:
    """The users `who` talked with in the week ending its local day, each with their evidence."""
    start = who.start - timedelta(days=WINDOW_DAYS - 1)
    sessions = cstore.character_sessions(store, who.name, start, who.end)
    msgs = cstore.session_messages(store, sessions, start, who.end)
    ids = {m["id"] for m in msgs}
    users = sorted({m["author"] for m in msgs if m["author_kind"] == "user"})  # keys
    label = display_labels((m["author"], m.get("author_name")) for m in msgs)  # the names the evidence speaks in
    summaries = [s for s in cstore.kept_summaries_for_sessions(store, sessions, through_day=last_utc_day(who))
                 if ids.intersection(cstore.id_list(s["message_ids"]))]
    reflections = cstore.latest_reflections(store, users, who.day)
    evidence = []
    sources = set(ids)
    for user in users:
        mine = [s for s in summaries if user in {str(p) for p in (s["participants"] or [])}][-8:]
        prefs = [f for f in cstore.facts_of_user(store, user, who.day, limit=40) if f["kind"] == "preference"][-8:]
        ref = reflections.get(user)
        topics = list(ref["recurring_topics"]) if ref else []
        if not topics:  # no reflection yet: the week's summaries speak for themselves
            seen: dict[str, int] = defaultdict(int)
            for s in mine:
                for w in set(topic_words(s["text"])):
                    seen[w] += 1
            topics = [w for w, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:8]]
        lines = [m for m in msgs if m["author"] == user and (m["significance"] or 0) >= 1][-30:]
        for f in prefs:
            sources.update(cstore.id_list(f["source_message_ids"]))
        evidence.append(
            Evidence(
                user=label[user],
                summaries=[Ref(id=s["id"], text=s["text"]) for s in mine],
                messages=[Ref(id=m["id"], text=m["text"]) for m in lines],
                preferences=[Ref(id=f["id"], text=f["object"]) for f in prefs],
                topics=topics[:8],
                mood_trend=ref["mood_trend"] if ref else "unknown",
            )
        )
    item = InsightInput(character=who.name, persona=who.persona, voice=who.voice, day=who.day, users=evidence)
    return Material(who=who, brief=item, source_message_ids=sorted(sources), user_keys={label[u]: u for u in users})


def _row(m: Material, found: InsightSet, backend: str) -> dict:
    eps = [e.model_dump() for e in found.epiphanies]
    for e in eps:  # stored rows name users by key; the text keeps their names
        e["users"] = [m.user_keys.get(u, u) for u in e["users"]]
    cited = {int(i) for e in found.epiphanies for i in e.evidence_message_ids}
    text = "\n".join(f"- **{e.topic}** ({', '.join(e.users)}): {e.text}" for e in found.epiphanies) or "_no pattern across users yet_"
    return dict(
        character=m.who.name, day=m.who.day, epiphanies=eps, text=text, users=[m.user_keys.get(u.user, u.user) for u in m.brief.users],
        source_message_ids=sorted(set(m.source_message_ids) | cited), material_hash=m.material_hash, backend=backend,
    )


def insight_preview(rows: list[dict]) -> str:
    return md_entries([(f"{r['character']} — {r['day']}", r["text"]) for r in rows])


def find_insights(
    store: Store,
    gateway,
    days: Sequence[str],
    *,
    characters: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Epiphanies across users for every character active on each of `days` (local dates)."""
    return run_character_days(
        store, gateway, stage=STAGE, version=VERSION, task=INSIGHT_TASK, days=days, characters=characters,
        force=force, run_id=run_id, now=now, to_row=_row, preview=insight_preview, gather_fn=gather_insight_material,
        ineligible=lambda m: "fewer_than_two_users" if len(m.brief.users) < 2 else None,
    )
