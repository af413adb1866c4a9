"""What is eligible to run past a cursor: the decisions behind the sensors, free of Dagster.

Each `plan_*` function reads only rows past its cursor, returns the runs to request (stage,
partition or range `first...last`, run_key = stage:partition:high-water id) and the next cursor, or
why nothing is due. plan_new_messages also remembers what it requested and asks again (run_key
suffix `:retryN`) for work the ledger still shows undone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable

from background_pipelines.store import triggers as q
from background_pipelines.store.engine import Store

SCORING, SUMMARIES, KNOWLEDGE, REFLECTIONS, INSIGHTS = "scoring", "summaries", "knowledge", "reflections", "insights"
MESSAGE_STAGES = (SCORING, SUMMARIES, KNOWLEDGE)
EXTRACT_STAGE = "extract"  # ledger stage of fact extraction: a user message is unprocessed until done there
SCORE_STAGE = "score"  # ledger stage of message_scores: scoring's items
SUMMARY_STAGE = "summarize"  # ledger stage of session summaries: items are "session@last message id"
KNOWLEDGE_WINDOW = timedelta(hours=24)  # of arrival (ingested_at): older unprocessed items are retried as outstanding


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

RETRY_CAP_SECONDS = 3600.0


@dataclass
class MessageCursor:
    seen: int = 0  # high-water message id checked for the summary and knowledge thresholds
    scored: int = 0  # high-water message id a scoring run was requested for
    scored_at: float = 0.0  # when (epoch seconds, UTC) that scoring run was requested
    waiting_since: float = 0.0  # when unprocessed user messages were first seen waiting for knowledge (0: none)
    waiting: int = 0  # user messages seen since then (the threshold check, without a query)
    # requests not yet known to be finished: "stage" -> [low id, high id, first day, last day,
    # requested at (epoch), attempts]; checked against the ledger when a retry falls due
    outstanding: dict = field(default_factory=dict)


def _span(days: Iterable[str]) -> tuple[str, str]:
    days = sorted(days)
    return days[0], days[-1]


def _partition(first: str, last: str) -> str:
    return first if first == last else f"{first}...{last}"


def plan_new_messages(
    store: Store,
    cursor: str | None,
    *,
    now: datetime,
    stages: Iterable[str] = MESSAGE_STAGES,
    summary_threshold: int = 20,
    knowledge_threshold: int = 10,
    min_interval_seconds: float = 30,
    knowledge_max_delay_seconds: float = 10,
    retry_after_seconds: float = 60,
    active: Callable[[str], bool] | None = None,
    batch: int | None = None,
) -> Plan:
    """Runs due because of messages past the cursor, and again for work a run left undone. `now` is
    naive UTC. Each stage asks for at most one run per tick, covering every day it needs (a range of
    days is one single-run backfill), so an import of a year of history is one run per job.

    scoring: messages not yet requested, at most every `min_interval_seconds`; summaries: sessions
    (touched past the cursor) with >= `summary_threshold` messages after their latest summary;
    knowledge: user messages not yet extracted (counted by arrival time), as soon as
    `knowledge_threshold` wait or the first has waited `knowledge_max_delay_seconds`, never while a
    knowledge run is in flight (a burst is coalesced into the next run). `active(stage)` says whether
    a run of that stage is queued or running (None: unknown, taken as no).

    Nothing stranded: every request is remembered until the ledger says its messages are done or
    failed with a reason. One that is not, `retry_after_seconds` later (doubling per attempt, at most
    an hour) and with no run of its stage in flight, is requested again under a new run_key: a run
    that failed to launch, failed or was killed is replaced without an operator.
    """
    del batch  # kept for callers of the old signature; reads are aggregates now
    stages = set(stages)
    raw = _load(cursor, asdict(MessageCursor()), "new-messages")
    c = MessageCursor(**raw)
    c.outstanding = dict(c.outstanding)
    t = _epoch(now)
    in_flight = _memo(active)
    if SCORING not in stages:
        c.scored = max(c.scored, c.seen)
    requests: list[Request] = []
    notes: list[str] = []
    low = min(c.seen, c.scored)
    groups = q.groups_after(store, low) if q.has_messages_after(store, low) else []
    high = max((g["max_id"] for g in groups), default=low)
    rows_read = sum(g["n"] for g in groups)

    if SCORING in stages:
        unscored = q.groups_after(store, c.scored) if c.scored != low else groups
        if unscored:
            waited = t - c.scored_at
            if waited >= min_interval_seconds:
                first, last = _span(g["day"] for g in unscored)
                n = sum(g["n"] for g in unscored)
                requests.append(Request(SCORING, _partition(first, last), f"{SCORING}:{_partition(first, last)}:{high}",
                                        f"{n} new messages on {_days(first, last)}"))
                c.outstanding[SCORING] = _widen(c.outstanding.get(SCORING), c.scored, high, first, last, t)
                c.scored, c.scored_at = high, t
            else:
                notes.append(
                    f"{sum(g['n'] for g in unscored)} new messages wait for scoring (minimum interval "
                    f"{min_interval_seconds:g}s, {min_interval_seconds - waited:.0f}s left)"
                )

    fresh = q.groups_after(store, c.seen) if c.seen != low else groups
    if SUMMARIES in stages and fresh:
        counts = q.unsummarised(store, {g["session"] for g in fresh})
        due = {s: v for s, v in counts.items() if v["count"] >= summary_threshold}
        if due:
            first, last = _span(v["day"] for v in due.values())
            top = max(v["max_id"] for v in due.values())
            requests.append(Request(SUMMARIES, _partition(first, last), f"{SUMMARIES}:{_partition(first, last)}:{top}",
                                    f"{len(due)} sessions at >= {summary_threshold} unsummarised messages"))
            c.outstanding[SUMMARIES] = _widen(c.outstanding.get(SUMMARIES), c.seen, top, first, last, t)
        else:
            most = max(counts.items(), key=lambda kv: kv[1]["count"], default=None)
            notes.append(
                f"no session at {summary_threshold} unsummarised messages"
                + (f" (most: {most[1]['count']} in {most[0]!r})" if most else "")
            )

    if KNOWLEDGE in stages:
        new_users = sum(g["users"] for g in fresh)
        if new_users:
            c.waiting += new_users
            c.waiting_since = c.waiting_since or t
        if c.waiting_since:
            waited = t - c.waiting_since
            if c.waiting < knowledge_threshold and waited < knowledge_max_delay_seconds:
                notes.append(f"{c.waiting}/{knowledge_threshold} user messages wait for knowledge "
                             f"({knowledge_max_delay_seconds - waited:.0f}s left of {knowledge_max_delay_seconds:g}s)")
            elif in_flight(KNOWLEDGE):
                notes.append(f"{c.waiting} user messages wait for the knowledge run in flight")
            else:
                pending = q.unprocessed_user_messages(store, now - KNOWLEDGE_WINDOW, EXTRACT_STAGE)
                total = sum(v["count"] for v in pending.values())
                if total:
                    first, last = _span(pending)
                    top = max(v["max_id"] for v in pending.values())
                    why = f">= {knowledge_threshold} waiting" if c.waiting >= knowledge_threshold else f"waited {waited:.0f}s"
                    requests.append(Request(KNOWLEDGE, _partition(first, last), f"{KNOWLEDGE}:{_partition(first, last)}:{top}",
                                            f"{total} unprocessed user messages on {_days(first, last)} ({why})"))
                    c.outstanding[KNOWLEDGE] = _widen(c.outstanding.get(KNOWLEDGE), 0, top, first, last, t,
                                                      low=min(v["min_id"] for v in pending.values()) - 1)
                c.waiting_since, c.waiting = 0.0, 0

    requested = {r.stage for r in requests}
    for stage, entry in sorted(c.outstanding.items()):
        if stage in requested or stage not in stages:
            continue
        lo, hi, first, last, at, attempts = entry
        if t - at < min(retry_after_seconds * 2 ** attempts, RETRY_CAP_SECONDS):
            continue
        left = _unfinished(store, stage, lo, hi, summary_threshold)
        if not left:
            del c.outstanding[stage]
        elif in_flight(stage):
            c.outstanding[stage] = [lo, hi, first, last, t, attempts]
        else:
            attempts += 1
            requests.append(Request(stage, _partition(first, last), f"{stage}:{_partition(first, last)}:{hi}:retry{attempts}",
                                    f"{left} items of an earlier {stage} request still not done (launch failed, run "
                                    f"failed or killed): attempt {attempts + 1}"))
            c.outstanding[stage] = [lo, hi, first, last, t, attempts]

    c.seen = max(c.seen, high)
    cur = asdict(c)
    if requests:
        return Plan(requests, cur, None, rows_read)
    if not groups and not notes:
        return Plan([], cur, f"no new messages past id {low}", 0)
    return Plan([], cur, "; ".join(notes) or f"{rows_read} new messages, nothing due", rows_read)


def _days(first: str, last: str) -> str:
    return first if first == last else f"{first}..{last}"


def _widen(entry: list | None, lo: int, hi: int, first: str, last: str, t: float, *, low: int | None = None) -> list:
    """An outstanding entry covering the new request and whatever the old one still covered."""
    lo = lo if low is None else low
    if entry:
        lo, hi = min(lo, entry[0]), max(hi, entry[1])
        first, last = min(first, entry[2]), max(last, entry[3])
    return [lo, hi, first, last, t, 0]


def _unfinished(store: Store, stage: str, lo: int, hi: int, summary_threshold: int) -> int:
    """How many items of a remembered request are neither done nor failed with a reason."""
    if stage == SCORING:
        return q.unfinished_messages(store, SCORE_STAGE, lo, hi)
    if stage == KNOWLEDGE:
        return q.unfinished_messages(store, EXTRACT_STAGE, lo, hi, users_only=True)
    sessions = {g["session"] for g in q.groups_after(store, lo, hi)}
    due = {s: v for s, v in q.unsummarised(store, sessions).items() if v["count"] >= summary_threshold}
    failed = q.failed_items(store, SUMMARY_STAGE, (f"{s}@{v['max_id']}" for s, v in due.items()))
    return sum(1 for s, v in due.items() if f"{s}@{v['max_id']}" not in failed)


def _max_id_by_day(rows: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["day"]] = max(out.get(r["day"], 0), r["id"])
    return out


def _memo(active: Callable[[str], bool] | None) -> Callable[[str], bool]:
    seen: dict[str, bool] = {}

    def ask(stage: str) -> bool:
        if active is None:
            return False
        if stage not in seen:
            seen[stage] = bool(active(stage))
        return seen[stage]

    return ask


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
