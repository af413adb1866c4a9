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
from background_pipelines.character.material import CharacterDay, Material
from background_pipelines.character.prompting import join_names, persona_system
from background_pipelines.character.result import StepResult, md_entries
from background_pipelines.character.runner import run_character_days
from background_pipelines.character.voice import Voice
from background_pipelines.llm.task import Task
from background_pipelines.store import character as cstore
from background_pipelines.store.engine import Store

STAGE = "insights"
VERSION = "insight-v1"
WINDOW_DAYS = 7
MAX_EPIPHANIES = 5


class Evidence(BaseModel):
    user: str
    summary_ids: list[int] = Field(default_factory=list)
    fact_ids: list[int] = Field(default_factory=list)
    message_ids: list[int] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    preferences: list[str] = Field(default_factory=list)
    mood_trend: str = "unknown"
    summaries: list[str] = Field(default_factory=list)


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
    users: set[str] = field(default_factory=set)
    summaries: set[int] = field(default_factory=set)
    facts: set[int] = field(default_factory=set)


def compose_insights(item: InsightInput) -> InsightSet:
    """Offline: topics, preferences and mood trends shared by two or more users."""
    patterns: dict[str, _Pattern] = defaultdict(_Pattern)
    names = {u.user.lower() for u in item.users} | {item.character.lower()}
    for u in item.users:
        for topic in set(u.topics) - names:
            p = patterns[topic]
            p.users.add(u.user)
            p.summaries.update(u.summary_ids)
        for pref in u.preferences:
            for w in set(topic_words(pref)) - names:
                p = patterns[w]
                p.users.add(u.user)
                p.facts.update(u.fact_ids)
    voice = Voice.from_notes(item.persona, item.voice)
    out: list[Epiphany] = []
    by_user = {u.user: u for u in item.users}
    shared = sorted(((t, p) for t, p in patterns.items() if len(p.users) >= 2), key=lambda tp: (-len(tp[1].users), tp[0]))
    for topic, p in shared[:MAX_EPIPHANIES]:
        who = sorted(p.users)
        text = f"I notice that {join_names(who)} all come back to {topic}." if len(who) > 2 else f"I notice that {join_names(who)} both come back to {topic}."
        text += " Maybe there is something there I could help them share."
        out.append(
            Epiphany(
                topic=topic, text=voice.apply(text), users=who,
                evidence_message_ids=sorted({i for u in who for i in by_user[u].message_ids})[:50],
                evidence_summary_ids=sorted(p.summaries), evidence_fact_ids=sorted(p.facts),
            )
        )
    for trend, line in (("declining", "are having a harder time lately; I should be gentle with them"), ("improving", "seem to be doing better lately")):
        who = sorted(u.user for u in item.users if u.mood_trend == trend)
        if len(who) >= 2 and len(out) < MAX_EPIPHANIES:
            out.append(
                Epiphany(
                    topic=f"mood {trend}", text=voice.apply(f"{join_names(who)} {line}."), users=who,
                    evidence_message_ids=sorted({i for u in who for i in by_user[u].message_ids})[:50],
                    evidence_summary_ids=sorted({i for u in who for i in by_user[u].summary_ids}),
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
    users = sorted({m["author"] for m in msgs if m["author_kind"] == "user"})
    summaries = [s for s in cstore.kept_summaries_for_sessions(store, sessions) if ids.intersection(cstore.id_list(s["message_ids"]))]
    reflections = cstore.latest_reflections(store, users, who.day)
    evidence = []
    sources = set(ids)
    for user in users:
        mine = [s for s in summaries if user in {str(p) for p in (s["participants"] or [])}]
        facts = cstore.facts_of_user(store, user, who.day, limit=40)
        prefs = [f for f in facts if f["kind"] == "preference"]
        ref = reflections.get(user)
        topics = list(ref["recurring_topics"]) if ref else []
        if not topics:  # no reflection yet: the week's summaries speak for themselves
            seen: dict[str, int] = defaultdict(int)
            for s in mine:
                for w in set(topic_words(s["text"])):
                    seen[w] += 1
            topics = [w for w, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:8]]
        user_msgs = [m["id"] for m in msgs if m["author"] == user and (m["significance"] or 0) >= 1]
        for f in prefs:
            sources.update(cstore.id_list(f["source_message_ids"]))
        evidence.append(
            Evidence(
                user=user, summary_ids=[s["id"] for s in mine], fact_ids=[f["id"] for f in prefs],
                message_ids=user_msgs[:30], topics=topics[:8],
                preferences=[f"{f['predicate'].replace('_', ' ')} {f['object']}" for f in prefs][:8],
                mood_trend=ref["mood_trend"] if ref else "unknown", summaries=[s["text"] for s in mine][-4:],
            )
        )
    item = InsightInput(character=who.name, persona=who.persona, voice=who.voice, day=who.day, users=evidence)
    return Material(who=who, brief=item, source_message_ids=sorted(sources))


def _row(m: Material, found: InsightSet, backend: str) -> dict:
    eps = [e.model_dump() for e in found.epiphanies]
    cited = {int(i) for e in found.epiphanies for i in e.evidence_message_ids}
    text = "\n".join(f"- **{e.topic}** ({', '.join(e.users)}): {e.text}" for e in found.epiphanies) or "_no pattern across users yet_"
    return dict(
        character=m.who.name, day=m.who.day, epiphanies=eps, text=text, users=[u.user for u in m.brief.users],
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
