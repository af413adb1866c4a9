"""The engine behind the sensors (no Dagster): what is due past a cursor, and the cursor's moves."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from _sensors_data import add_facts, add_messages, add_summary
from background_pipelines.store import ledger
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import messages
from background_pipelines.triggers import (
    KNOWLEDGE, SCORING, SUMMARIES, CursorError, dump_cursor, plan_insights, plan_new_messages, plan_reflections,
)

T0 = datetime(2026, 11, 20, 12, 0, 0)
DAY = "2026-11-20"


def _plan(store, cursor, now, **kw):
    kw.setdefault("min_interval_seconds", 0)
    plan = plan_new_messages(store, cursor, now=now, **kw)
    return plan, dump_cursor(plan.cursor)


def _keys(plan, stage=None):
    return sorted(r.run_key for r in plan.requests if stage is None or r.stage == stage)


def test_empty_store_skips_with_reason(store):
    plan, cursor = _plan(store, None, T0)
    assert plan.requests == [] and plan.skip_reason == "no new messages past id 0"
    assert json.loads(cursor) == {"seen": 0, "scored": 0, "scored_at": 0.0, "waiting_since": 0.0, "waiting": 0, "outstanding": {}}


def test_below_thresholds_skips_summary_and_knowledge_and_says_why(store):
    add_messages(store, 5, at=T0)
    plan, _ = _plan(store, None, T0 + timedelta(minutes=1), stages=[SUMMARIES, KNOWLEDGE])
    assert plan.requests == []
    assert "no session at 20 unsummarised messages (most: 5 in 's1')" in plan.skip_reason
    assert "5/10 user messages wait for knowledge (10s left of 10s)" in plan.skip_reason


def test_crossing_thresholds_requests_one_run_per_stage_and_partition(store):
    s1 = add_messages(store, 20, session="s1", at=T0)  # crosses the summary threshold
    s2 = add_messages(store, 3, session="s2", at=T0 + timedelta(days=1), kind="character", author="bot")
    plan, _ = _plan(store, None, T0 + timedelta(hours=1))
    both = f"{DAY}...2026-11-21"  # two days: one single-run backfill, not a run per day
    assert [(r.stage, r.partition, r.run_key) for r in plan.requests] == [
        (SCORING, both, f"scoring:{both}:{s2[-1]}"),
        (SUMMARIES, DAY, f"summaries:{DAY}:{s1[-1]}"),
        (KNOWLEDGE, DAY, f"knowledge:{DAY}:{s1[-1]}"),
    ]
    assert plan.cursor["seen"] == s2[-1] and plan.cursor["scored"] == s2[-1]


def test_same_tick_twice_gives_same_run_keys_and_cursor_advances(store):
    ids = add_messages(store, 25, at=T0)
    now = T0 + timedelta(hours=1)
    first, cursor = _plan(store, None, now)
    again, cursor_again = _plan(store, None, now)
    assert _keys(first) == _keys(again) and cursor == cursor_again
    assert json.loads(cursor)["seen"] == ids[-1]
    after, _ = _plan(store, cursor, now)
    assert after.requests == [] and after.skip_reason == f"no new messages past id {ids[-1]}"
    more = add_messages(store, 2, at=T0 + timedelta(minutes=5))
    nxt, _ = _plan(store, cursor, now)
    assert nxt.rows_read == 2  # only rows past the cursor are read
    assert _keys(nxt, SCORING) == [f"scoring:{DAY}:{more[-1]}"]


def test_scoring_waits_for_min_interval_without_losing_messages(store):
    first_ids = add_messages(store, 2, at=T0)
    plan, cursor = _plan(store, None, T0, min_interval_seconds=30, stages=[SCORING])
    assert _keys(plan) == [f"scoring:{DAY}:{first_ids[-1]}"]
    later = add_messages(store, 3, at=T0 + timedelta(seconds=5))
    waiting, cursor2 = _plan(store, cursor, T0 + timedelta(seconds=10), min_interval_seconds=30, stages=[SCORING])
    assert waiting.requests == [] and "3 new messages wait for scoring" in waiting.skip_reason
    due, _ = _plan(store, cursor2, T0 + timedelta(seconds=31), min_interval_seconds=30, stages=[SCORING])
    assert _keys(due) == [f"scoring:{DAY}:{later[-1]}"]


def test_summary_counts_only_messages_after_the_latest_summary(store):
    ids = add_messages(store, 30, at=T0)
    add_summary(store, "s1", ids[0], ids[14], DAY)  # 15 remain unsummarised
    plan, _ = _plan(store, None, T0, stages=[SUMMARIES])
    assert plan.requests == [] and "(most: 15 in 's1')" in plan.skip_reason
    more = add_messages(store, 5, at=T0 + timedelta(minutes=1))
    plan2, _ = _plan(store, dump_cursor(plan.cursor), T0, stages=[SUMMARIES])
    assert _keys(plan2) == [f"summaries:{DAY}:{more[-1]}"]


def test_summary_check_touches_only_sessions_past_the_cursor(store):
    add_messages(store, 25, session="old", at=T0)
    _, cursor = _plan(store, None, T0, stages=[SCORING])  # consumed without summary checks
    new = add_messages(store, 1, session="fresh", at=T0)
    plan, _ = _plan(store, cursor, T0, stages=[SUMMARIES])
    assert plan.requests == [] and "(most: 1 in 'fresh')" in plan.skip_reason
    assert new


def _ingested(store, n: int, *, created: datetime, ingested: datetime, session: str = "imp") -> list[int]:
    ids = add_messages(store, n, session=session, at=created)
    with store.begin() as conn:
        conn.execute(messages.update().where(messages.c.id.in_(ids)).values(ingested_at=ingested))
    return ids


def test_knowledge_counts_by_arrival_and_ignores_done_and_failed(store):
    now = utcnow()
    _ingested(store, 10, created=T0, ingested=now - timedelta(hours=30))  # arrived long ago: not this trigger's
    old_but_new = _ingested(store, 12, created=datetime(2024, 3, 4, 9), ingested=now)  # an import of 2024 history
    ledger.mark(store, "extract", "v1", [str(i) for i in old_but_new[:2]], ledger.DONE)
    ledger.mark(store, "extract", "v1", [str(old_but_new[2])], ledger.FAILED, error="model said no")
    plan, _ = _plan(store, None, now, stages=[KNOWLEDGE])  # 22 new user messages >= threshold
    assert [(r.partition, r.reason.split(" (")[0]) for r in plan.requests] == [
        ("2024-03-04", "9 unprocessed user messages on 2024-03-04")
    ]


def test_knowledge_runs_after_max_delay_below_threshold(store):
    ids = add_messages(store, 3, at=T0)
    plan, cursor = _plan(store, None, T0, stages=[KNOWLEDGE], knowledge_max_delay_seconds=10)
    assert plan.requests == [] and "3/10 user messages wait for knowledge (10s left" in plan.skip_reason
    plan, cursor = _plan(store, cursor, T0 + timedelta(seconds=6), stages=[KNOWLEDGE], knowledge_max_delay_seconds=10)
    assert plan.requests == [] and "(4s left" in plan.skip_reason  # no query: the cursor knows what waits
    plan, cursor = _plan(store, cursor, T0 + timedelta(seconds=10), stages=[KNOWLEDGE], knowledge_max_delay_seconds=10)
    assert [r.run_key for r in plan.requests] == [f"knowledge:{DAY}:{ids[-1]}"] and "waited 10s" in plan.requests[0].reason
    plan, _ = _plan(store, cursor, T0 + timedelta(seconds=11), stages=[KNOWLEDGE])
    assert plan.requests == []  # requested once, not once per tick


def test_knowledge_burst_is_coalesced_while_a_run_is_in_flight(store):
    add_messages(store, 10, at=T0)
    plan, cursor = _plan(store, None, T0, stages=[KNOWLEDGE], active=lambda stage: True)
    assert plan.requests == [] and "10 user messages wait for the knowledge run in flight" in plan.skip_reason
    for k in range(1, 4):  # the burst goes on while the run is busy: still no second run
        add_messages(store, 5, at=T0 + timedelta(seconds=k))
        plan, cursor = _plan(store, cursor, T0 + timedelta(seconds=k), stages=[KNOWLEDGE], active=lambda stage: True)
        assert plan.requests == []
    last = add_messages(store, 1, at=T0 + timedelta(seconds=5))
    plan, cursor = _plan(store, cursor, T0 + timedelta(seconds=5), stages=[KNOWLEDGE], active=lambda stage: False)
    assert [(r.run_key, r.reason.split(" (")[0]) for r in plan.requests] == [
        (f"knowledge:{DAY}:{last[-1]}", f"26 unprocessed user messages on {DAY}")
    ]


def test_work_left_undone_is_requested_again_under_a_new_key_until_done(store):
    ids = add_messages(store, 4, at=T0)
    plan, cursor = _plan(store, None, T0, stages=[SCORING], retry_after_seconds=60)
    assert _keys(plan) == [f"scoring:{DAY}:{ids[-1]}"]  # suppose this run failed to launch
    early, cursor = _plan(store, cursor, T0 + timedelta(seconds=30), stages=[SCORING], retry_after_seconds=60)
    assert early.requests == []
    busy, cursor = _plan(store, cursor, T0 + timedelta(seconds=61), stages=[SCORING], retry_after_seconds=60,
                         active=lambda stage: True)
    assert busy.requests == []  # a run of the stage is in flight: wait for it
    again, cursor = _plan(store, cursor, T0 + timedelta(seconds=122), stages=[SCORING], retry_after_seconds=60)
    assert _keys(again) == [f"scoring:{DAY}:{ids[-1]}:retry1"] and "4 items of an earlier scoring" in again.requests[0].reason
    ledger.mark(store, "score", "v1", [str(i) for i in ids[:3]], ledger.DONE)
    third, cursor = _plan(store, cursor, T0 + timedelta(seconds=122 + 61), stages=[SCORING], retry_after_seconds=60)
    assert third.requests == [] and json.loads(cursor)["outstanding"]  # backoff: 120 s after the second attempt
    third, cursor = _plan(store, cursor, T0 + timedelta(seconds=122 + 120), stages=[SCORING], retry_after_seconds=60)
    assert _keys(third) == [f"scoring:{DAY}:{ids[-1]}:retry2"] and "1 items" in third.requests[0].reason
    ledger.mark(store, "score", "v1", [str(ids[3])], ledger.FAILED, error="bad")  # failed with a reason: finished
    done, cursor = _plan(store, cursor, T0 + timedelta(hours=2), stages=[SCORING], retry_after_seconds=60)
    assert done.requests == [] and json.loads(cursor)["outstanding"] == {}


def test_imported_history_is_one_single_run_request_per_job(store):
    now = utcnow()
    ids = [i for d in range(3) for i in _ingested(store, 25, created=datetime(2024, 3, 4 + d, 9), ingested=now, session=f"s{d}")]
    plan, _ = _plan(store, None, now)
    span = "2024-03-04...2024-03-06"
    assert [(r.stage, r.partition, r.run_key) for r in plan.requests] == [
        (SCORING, span, f"scoring:{span}:{ids[-1]}"),
        (SUMMARIES, span, f"summaries:{span}:{ids[-1]}"),
        (KNOWLEDGE, span, f"knowledge:{span}:{ids[-1]}"),
    ]


def test_old_cursor_without_the_new_fields_still_loads(store):
    ids = add_messages(store, 2, at=T0)
    plan, cursor = _plan(store, json.dumps({"seen": 0, "scored": 0, "scored_at": 0.0}), T0, stages=[SCORING])
    assert _keys(plan) == [f"scoring:{DAY}:{ids[-1]}"] and set(json.loads(cursor)) >= {"outstanding", "waiting"}


def test_reflections_wait_for_the_delay_then_advance(store):
    a = add_summary(store, "s1", 1, 20, DAY, created_at=T0)
    b = add_summary(store, "s2", 21, 40, DAY, created_at=T0 + timedelta(seconds=50))
    early = plan_reflections(store, None, now=T0 + timedelta(seconds=30), delay_seconds=60)
    assert early.requests == [] and "deferred 60s" in early.skip_reason
    mid = plan_reflections(store, None, now=T0 + timedelta(seconds=61), delay_seconds=60)
    assert [r.run_key for r in mid.requests] == [f"reflections:{DAY}:{a}"] and mid.cursor == {"last_summary_id": a}
    late = plan_reflections(store, dump_cursor(mid.cursor), now=T0 + timedelta(seconds=111), delay_seconds=60)
    assert [r.run_key for r in late.requests] == [f"reflections:{DAY}:{b}"]


def test_insights_after_n_facts_or_after_max_hours(store):
    first = plan_insights(store, None, now=T0, fact_threshold=5, max_hours=6)
    add_facts(store, 3, DAY)
    few = plan_insights(store, dump_cursor(first.cursor), now=T0 + timedelta(hours=1), fact_threshold=5, max_hours=6)
    assert few.requests == [] and "3/5 new facts" in few.skip_reason
    timed = plan_insights(store, dump_cursor(few.cursor), now=T0 + timedelta(hours=6), fact_threshold=5, max_hours=6)
    assert [r.partition for r in timed.requests] == [DAY] and "6.0 h since" in timed.requests[0].reason
    ids = add_facts(store, 5, DAY)
    many = plan_insights(store, dump_cursor(timed.cursor), now=T0 + timedelta(hours=7), fact_threshold=5, max_hours=6)
    assert [r.run_key for r in many.requests] == [f"insights:{DAY}:{ids[-1]}"]


def test_garbage_cursor_is_a_clear_error(store):
    with pytest.raises(CursorError, match="not JSON"):
        plan_new_messages(store, "{oops", now=T0)
    with pytest.raises(CursorError, match="unknown fields"):
        plan_reflections(store, '{"nope": 1}', now=T0)
