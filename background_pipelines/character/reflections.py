"""reflect_on_users: after new kept summaries, per user, the patterns across their sessions: recurring
topics, the mood trend, stated preferences. One reflection per (user, newest summary reflected on),
so a rerun without new summaries changes nothing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Literal, Sequence

from pydantic import BaseModel, Field

from background_pipelines.character.days import parse_day
from background_pipelines.character.lexicon import topic_words, valence
from background_pipelines.character.prompting import join_names
from background_pipelines.character.result import StepResult, add_usage, md_table
from background_pipelines.character.runner import record_outcome_failures
from background_pipelines.llm.task import Task, Usage
from background_pipelines.store import character as cstore
from background_pipelines.store.engine import Store

STAGE = "reflections"
VERSION = "reflection-v1"
LOOKBACK_DAYS = 30
MAX_SESSIONS = 12
PREFERENCE_PREDICATES = ("like", "love", "prefer", "enjoy", "hate", "dislike", "favorite", "favourite")
Trend = Literal["improving", "declining", "steady", "mixed", "unknown"]


class SessionNote(BaseModel):
    summary_id: int
    session: str
    day: str
    summary: str
    user_lines: list[str]
    with_characters: list[str] = Field(default_factory=list)


class FactLine(BaseModel):
    id: int
    kind: str
    predicate: str
    object: str


class ReflectionInput(BaseModel):
    user: str  # the user key (stored); `name` is what the text calls them
    name: str = ""
    day: str
    sessions: list[SessionNote]
    facts: list[FactLine]


class Reflection(BaseModel):
    recurring_topics: list[str] = Field(default_factory=list, description="topics the user returns to across sessions")
    mood_trend: Trend
    preferences: list[str] = Field(default_factory=list)
    text: str = Field(min_length=1, description="two to four sentences about the user's patterns")


def reflection_prompt(item: ReflectionInput) -> list[dict]:
    return [
        {
            "role": "system",
            "content": (
                "You reflect on one user across their conversation sessions (oldest first). Find what recurs "
                "across sessions (not within one), how their mood moves over time (improving, declining, steady, "
                "mixed, or unknown with one session), and their stated preferences. Use only the material. JSON "
                "fields: recurring_topics, mood_trend, preferences, text."
            ),
        },
        {"role": "user", "content": item.model_dump_json(indent=1)},
    ]


def _trend(values: list[float]) -> str:
    if len(values) < 2:
        return "unknown"
    half = len(values) // 2
    early, late = sum(values[:half]) / half, sum(values[half:]) / (len(values) - half)
    if late - early >= 0.3:
        return "improving"
    if early - late >= 0.3:
        return "declining"
    spread = max(values) - min(values)
    return "mixed" if spread >= 0.9 else "steady"


def compose_reflection(item: ReflectionInput) -> Reflection:
    """Offline: topics in two or more sessions, valence per session early vs late, preference facts."""
    seen: Counter[str] = Counter()
    for s in item.sessions:
        names = {n.lower() for n in [item.user, item.name, *s.with_characters] if n}
        seen.update(set(topic_words(s.summary + " " + " ".join(s.user_lines))) - names)
    recurring = [w for w, n in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2][:6]
    who = item.name or item.user
    trend = _trend([valence(s.user_lines or [s.summary]) for s in item.sessions])
    prefs = [
        f"{f.predicate.replace('_', ' ')} {f.object}"
        for f in item.facts
        if f.kind == "preference" or any(p in f.predicate.lower() for p in PREFERENCE_PREDICATES)
    ]
    prefs = list(dict.fromkeys(prefs))[:8]
    n = len(item.sessions)
    span = f"{item.sessions[0].day} to {item.sessions[-1].day}" if n > 1 else item.sessions[0].day
    parts = [f"Across {n} conversation{'s' if n != 1 else ''} ({span})"]
    parts[0] += f", {who} keeps returning to {join_names(recurring[:4])}." if recurring else f", no topic has come back yet for {who}."
    parts.append(
        {
            "improving": f"{who}'s mood has been lifting.",
            "declining": f"{who}'s mood has been sinking; worth checking in.",
            "steady": f"{who}'s mood has been steady.",
            "mixed": f"{who}'s mood swings between sessions.",
            "unknown": "Too early to tell how their mood moves.",
        }[trend]
    )
    if prefs:
        parts.append(f"Preferences: {'; '.join(prefs[:4])}.")
    return Reflection(recurring_topics=recurring, mood_trend=trend, preferences=prefs, text=" ".join(parts))


REFLECTION_TASK: Task[Reflection] = Task(
    name="user_reflection", schema=Reflection, prompt=reflection_prompt, offline=compose_reflection, max_tokens=500
)


def _inputs_for_day(store: Store, day: str, only_users: set[str] | None) -> list[tuple[ReflectionInput, list[int], list[int], int]]:
    """(input, source message ids, fact ids, through_summary_id) for each user with a kept summary on `day`."""
    first = (parse_day(day) - timedelta(days=LOOKBACK_DAYS)).isoformat()
    window = cstore.kept_summaries_between(store, first, day)
    todays = [s for s in window if s["day"] == day]
    names = {str(p) for s in todays for p in (s["participants"] or [])}
    users = sorted(cstore.user_names_among(store, names))
    if only_users is not None:
        users = [u for u in users if u in only_users]
    shown = dict(cstore.display_names(store, users))
    out = []
    for user in users:
        mine = [s for s in window if user in {str(p) for p in (s["participants"] or [])}][-MAX_SESSIONS:]
        ids = sorted({i for s in mine for i in cstore.id_list(s["message_ids"])})
        lines_by_id = {m["id"]: m for m in cstore.user_lines(store, user, ids)}
        notes = [
            SessionNote(
                summary_id=s["id"], session=s["session"], day=s["day"], summary=s["text"],
                user_lines=[lines_by_id[i]["text"] for i in cstore.id_list(s["message_ids"]) if i in lines_by_id][:8],
                with_characters=sorted({str(p) for p in (s["participants"] or [])} - {user}),
            )
            for s in mine
        ]
        fact_rows = cstore.facts_of_user(store, user, day, limit=60)
        item = ReflectionInput(
            user=user, name=shown.get(user) or user, day=day, sessions=notes,
            facts=[FactLine(id=f["id"], kind=f["kind"], predicate=f["predicate"], object=f["object"]) for f in fact_rows],
        )
        sources = set(ids) | {i for f in fact_rows for i in cstore.id_list(f["source_message_ids"])}
        out.append((item, sorted(sources), [f["id"] for f in fact_rows], mine[-1]["id"]))
    return out


def reflect_on_users(
    store: Store,
    gateway,
    days: Sequence[str],
    *,
    users: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
) -> StepResult:
    """Reflect on every user with a kept summary on each of `days` (UTC), over their last sessions."""
    days = list(days)
    result = StepResult(stage=STAGE, days=days, usage=Usage(backend=gateway.backend, model=gateway.model))
    due = []
    for day in days:
        parse_day(day)
        for item, sources, fact_ids, through in _inputs_for_day(store, day, set(users) if users else None):
            if not force and cstore.reflection_exists(store, item.user, through, VERSION):
                result.skipped += 1
            else:
                due.append((item, sources, fact_ids, through))
    rows = []
    if due:
        outcomes, usage = gateway.run(REFLECTION_TASK, [d[0] for d in due])
        result.usage = add_usage(Usage(backend=usage.backend, model=usage.model), usage)
        failures = []
        for (item, sources, fact_ids, through), outcome in zip(due, outcomes):
            if not outcome.ok:
                failures.append((f"{item.user}/{through}", outcome))
                continue
            r: Reflection = outcome.value
            rows.append(
                dict(
                    user_name=item.user, day=item.day, through_summary_id=through,
                    summary_ids=[s.summary_id for s in item.sessions], recurring_topics=r.recurring_topics,
                    mood_trend=r.mood_trend, preferences=r.preferences, text=r.text, source_message_ids=sources,
                    source_fact_ids=fact_ids, backend=gateway.backend,
                )
            )
        record_outcome_failures(store, STAGE, VERSION, result, failures, run_id)
    result.rows_written = cstore.save_reflections(store, rows, stage=STAGE, version=VERSION, run_id=run_id)
    result.processed = len(rows)
    result.row_count = cstore.count_rows(store, STAGE, days)
    result.preview = (
        md_table(
            ["user", "sessions", "recurring topics", "mood", "reflection"],
            [[r["user_name"], len(r["summary_ids"]), ", ".join(r["recurring_topics"]), r["mood_trend"], r["text"]] for r in rows],
        )
        if rows
        else "_no new summaries to reflect on_"
    )
    return result
