"""What is eligible to run past a cursor: the decisions behind the sensors, free of Dagster.

Each `plan_*` function reads only rows past its cursor, returns the runs to request (stage,
partition, run_key = stage:partition:high-water id) and the next cursor, or why nothing is due.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Iterable

from background_pipelines.store import triggers as q
from background_pipelines.store.engine import Store

SCORING, SUMMARIES, KNOWLEDGE, REFLECTIONS, INSIGHTS = "scoring", "summaries", "knowledge", "reflections", "insights"
MESSAGE_STAGES = (SCORING, SUMMARIES, KNOWLEDGE)
EXTRACT_STAGE = "extract"  # ledger stage of fact extraction: a user message is unprocessed until done there
KNOWLEDGE_WINDOW = timedelta(hours=24)
DEFAULT_BATCH = 20_000  # rows read per tick at most; a backlog drains over several ticks


class CursorError(ValueError):
    """A sensor cursor that is not the JSON this module wrote."""


@dataclass(frozen=True)
class Request:
    stage: str
    partition: str
    run_key: str
    reason: str


@dataclass(frozen=True)
class Plan:
    requests: list[Request]
    cursor: dict
    skip_reason: str | None
    rows_read: int = 0


def _load(raw: str | None, defaults: dict, what: str) -> dict:
    if not raw:
        return dict(defaults)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CursorError(f"{what} cursor {raw[:80]!r} is not JSON ({exc.msg}); reset the sensor's cursor") from None
    if not isinstance(data, dict) or not set(data) <= set(defaults):
        raise CursorError(f"{what} cursor {raw[:80]!r} has unknown fields; expected {sorted(defaults)}")
    return {**defaults, **data}


def dump_cursor(cursor: dict) -> str:
    return json.dumps(cursor, sort_keys=True)


def _epoch(now: datetime) -> float:
    return (now - datetime(1970, 1, 1)).total_seconds()


# -- new messages -------------------------------------------------------------------------------

@dataclass
class MessageCursor:
    seen: int = 0  # high-water message id checked for the summary and knowledge thresholds
    scored: int = 0  # high-water message id a scoring run was requested for
    scored_at: float = 0.0  # when (epoch seconds, UTC) that scoring run was requested


def plan_new_messages(
    store: Store,
    cursor: str | None,
    *,
    now: datetime,
    stages: Iterable[str] = MESSAGE_STAGES,
    summary_threshold: int = 20,
    knowledge_threshold: int = 10,
    min_interval_seconds: float = 30,
    batch: int = DEFAULT_BATCH,
) -> Plan:
    """Runs due because of messages past the cursor. `now` is naive UTC.

    scoring: one run per day partition holding messages not yet requested, at most every
    `min_interval_seconds`; summaries: one run per day holding a session (touched past the cursor)
    with >= `summary_threshold` messages after its latest summary; knowledge: one run per day once
    >= `knowledge_threshold` user messages of the last 24 h are not done by the extract stage.
    """
    stages = set(stages)
    c = MessageCursor(**_load(cursor, asdict(MessageCursor()), "new-messages"))
    if SCORING not in stages:
        c.scored = max(c.scored, c.seen)
    low = min(c.seen, c.scored)
    rows = q.messages_after(store, low, batch)
    if not rows:
        return Plan([], asdict(c), f"no new messages past id {low}", 0)
    high = rows[-1]["id"]
    requests: list[Request] = []
    notes: list[str] = []
    fresh = [r for r in rows if r["id"] > c.seen]

    unscored = [r for r in rows if r["id"] > c.scored]
    if SCORING in stages and unscored:
        waited = _epoch(now) - c.scored_at
        if waited >= min_interval_seconds:
            for day, top in sorted(_max_id_by_day(unscored).items()):
                n = sum(1 for r in unscored if r["day"] == day)
                requests.append(Request(SCORING, day, f"{SCORING}:{day}:{top}", f"{n} new messages on {day}"))
            c.scored, c.scored_at = high, _epoch(now)
        else:
            notes.append(
                f"{len(unscored)} new messages wait for scoring (minimum interval "
                f"{min_interval_seconds:g}s, {min_interval_seconds - waited:.0f}s left)"
            )

    if SUMMARIES in stages and fresh:
        counts = q.unsummarised(store, {r["session"] for r in fresh})
        due = {s: v for s, v in counts.items() if v["count"] >= summary_threshold}
        if due:
            by_day: dict[str, list[str]] = {}
            for s, v in due.items():
                by_day.setdefault(v["day"], []).append(s)
            for day, sessions in sorted(by_day.items()):
                top = max(due[s]["max_id"] for s in sessions)
                requests.append(
                    Request(SUMMARIES, day, f"{SUMMARIES}:{day}:{top}",
                            f"{len(sessions)} sessions at >= {summary_threshold} unsummarised messages")
                )
        else:
            most = max(counts.items(), key=lambda kv: kv[1]["count"], default=None)
            notes.append(
                f"no session at {summary_threshold} unsummarised messages"
                + (f" (most: {most[1]['count']} in {most[0]!r})" if most else "")
            )

    if KNOWLEDGE in stages and any(r["author_kind"] == "user" for r in fresh):
        pending = q.unprocessed_user_messages(store, now - KNOWLEDGE_WINDOW, EXTRACT_STAGE)
        total = sum(v["count"] for v in pending.values())
        if total >= knowledge_threshold:
            for day, v in sorted(pending.items()):
                requests.append(
                    Request(KNOWLEDGE, day, f"{KNOWLEDGE}:{day}:{v['max_id']}",
                            f"{v['count']} unprocessed user messages on {day} ({total} in the last 24 h)")
                )
        else:
            notes.append(f"{total}/{knowledge_threshold} unprocessed user messages in the last 24 h")

    c.seen = high
    if requests:
        return Plan(requests, asdict(c), None, len(rows))
    return Plan([], asdict(c), "; ".join(notes) or f"{len(rows)} new messages, nothing due", len(rows))


def _max_id_by_day(rows: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["day"]] = max(out.get(r["day"], 0), r["id"])
    return out


# -- downstream: reflections and insights ---------------------------------------------------------

def plan_reflections(store: Store, cursor: str | None, *, now: datetime, delay_seconds: float = 60, batch: int = 5000) -> Plan:
    """One reflections run per day of the summaries stored at least `delay_seconds` ago past the cursor.

    The delay lets a burst of summaries settle into one run; the cursor stops at the first summary
    still inside the delay, so nothing is skipped.
    """
    c = _load(cursor, {"last_summary_id": 0}, "reflections")
    rows = q.summaries_after(store, c["last_summary_id"], batch)
    if not rows:
        return Plan([], c, f"no new summaries past id {c['last_summary_id']}", 0)
    cutoff = now - timedelta(seconds=delay_seconds)
    ready: list[dict] = []
    for r in rows:
        if r["created_at"] > cutoff:
            break
        ready.append(r)
    if not ready:
        wait = (rows[0]["created_at"] - cutoff).total_seconds()
        return Plan([], c, f"{len(rows)} new summaries, reflection deferred {delay_seconds:g}s ({wait:.0f}s left)", len(rows))
    requests = [
        Request(REFLECTIONS, day, f"{REFLECTIONS}:{day}:{top}",
                f"{sum(1 for r in ready if r['day'] == day)} new summaries on {day}")
        for day, top in sorted(_max_id_by_day(ready).items())
    ]
    return Plan(requests, {"last_summary_id": ready[-1]["id"]}, None, len(rows))


def plan_insights(
    store: Store, cursor: str | None, *, now: datetime, fact_threshold: int = 10, max_hours: float = 24, batch: int = 10_000
) -> Plan:
    """Insights when >= `fact_threshold` facts arrived past the cursor, or when any did and
    `max_hours` have passed since the last insights request (the clock starts at the first tick)."""
    c = _load(cursor, {"last_fact_id": 0, "requested_at": None}, "insights")
    if c["requested_at"] is None:
        c["requested_at"] = _epoch(now)
    rows = q.facts_after(store, c["last_fact_id"], max(batch, fact_threshold))
    if not rows:
        return Plan([], c, f"no new facts past id {c['last_fact_id']}", 0)
    hours = (_epoch(now) - c["requested_at"]) / 3600
    if len(rows) < fact_threshold and hours < max_hours:
        return Plan(
            [], c,
            f"{len(rows)}/{fact_threshold} new facts; time-based run after {max_hours:g} h ({max_hours - hours:.1f} h left)",
            len(rows),
        )
    why = f">= {fact_threshold} new facts" if len(rows) >= fact_threshold else f"{hours:.1f} h since the last insights run"
    requests = [
        Request(INSIGHTS, day, f"{INSIGHTS}:{day}:{top}", f"{sum(1 for r in rows if r['day'] == day)} new facts on {day}; {why}")
        for day, top in sorted(_max_id_by_day(rows).items())
    ]
    return Plan(requests, {"last_fact_id": rows[-1]["id"], "requested_at": _epoch(now)}, None, len(rows))
