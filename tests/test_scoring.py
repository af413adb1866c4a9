"""score_messages: importance classes and factors, significance, auto-pins with the soft cap, ledger reruns."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from background_pipelines.cognition.scoring import classify, content_factor, score_messages, significance_of
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.store import ledger
from background_pipelines.store.pins import active_pins, pin_manual
from background_pipelines.store.schema import message_scores, messages, pins
from message_world import CHARACTER, DAYS, load_world


@pytest.fixture
def world(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAYS[0])
    load_world(store)
    settings = Settings.from_env()
    return store, settings, Gateway.from_settings(settings, store)


def _score_rows(store):
    with store.connect() as conn:
        q = select(messages.c.text, message_scores).join(message_scores, message_scores.c.message_id == messages.c.id)
        return {r.text: r for r in conn.execute(q)}


def test_classes_follow_thresholds():
    assert classify(0.29) == "noise" and classify(0.3) == "weak_signal"
    assert classify(0.69) == "weak_signal" and classify(0.7) == "signal"


def test_life_event_is_significance_3_and_filler_is_0():
    assert significance_of("My grandmother passed away this morning", content_factor("My grandmother passed away this morning")) == 3
    assert significance_of("haha yes", content_factor("haha yes")) == 0
    assert content_factor("haha yes") < content_factor("I work at Acme Corp as a data analyst.")


def test_scores_store_every_factor_and_class(world):
    store, settings, gw = world
    result = score_messages(store, gw, settings, DAYS[1])
    assert result.processed == 24 and result.failed == 0
    rows = _score_rows(store)
    grief = rows["My grandmother passed away this morning, I am devastated."]
    assert grief.significance == 3 and grief.importance_class == "signal"
    filler = rows["haha yes"]
    assert filler.importance_class == "noise" and filler.significance == 0
    for r in rows.values():
        assert 0 <= r.importance <= 1 and r.importance_class == classify(r.importance)
        assert all(0 <= f <= 1 for f in (r.content_factor, r.activity_factor, r.recency_factor, r.topic_factor))


def test_rerun_adds_no_rows_and_scores_nothing(world):
    store, settings, gw = world
    first = score_messages(store, gw, settings, DAYS[0])
    again = score_messages(store, gw, settings, DAYS[0])
    assert first.processed == 29 and again.processed == 0 and again.skipped == 29
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message_scores)).scalar_one() == 29


def test_force_rescores_everything_without_new_rows(world):
    store, settings, gw = world
    score_messages(store, gw, settings, DAYS[0])
    forced = score_messages(store, gw, settings, DAYS[0], force=True)
    assert forced.processed == 29
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message_scores)).scalar_one() == 29


def test_new_code_version_makes_every_message_due(world):
    store, settings, gw = world
    score_messages(store, gw, settings, DAYS[0])
    assert score_messages(store, gw, settings, DAYS[0], version="score-v2").processed == 29


def test_topic_factor_rises_with_known_facts(world):
    store, settings, gw = world
    from background_pipelines.cognition.facts import extract_facts

    extract_facts(store, gw, settings, DAYS[0])
    score_messages(store, gw, settings, DAYS[1])
    assert _score_rows(store)["I work at ACME Corporation, the analytics team is tiny."].topic_factor > 0


def test_auto_pins_keep_the_newest_8_per_character(world):
    store, settings, gw = world
    for day in DAYS:
        score_messages(store, gw, settings, day)
    with store.connect() as conn:
        all_pins = [dict(r._mapping) for r in conn.execute(select(pins).order_by(pins.c.pinned_at))]
        active = active_pins(conn, CHARACTER)
    assert len(all_pins) >= 11  # ten life events on day 1, a death on day 2
    assert len(active) == 8 and all(p["kind"] == "auto" for p in active)
    evicted = [p for p in all_pins if p["unpinned_at"] is not None]
    assert evicted and max(p["pinned_at"] for p in evicted) <= min(p["pinned_at"] for p in active)


def test_manual_pins_are_never_evicted(world):
    store, settings, gw = world
    with store.connect() as conn:
        first_id = conn.execute(select(func.min(messages.c.id))).scalar_one()
    with store.begin() as conn:
        pin_manual(conn, CHARACTER, first_id)
    for day in DAYS:
        score_messages(store, gw, settings, day)
    with store.connect() as conn:
        active = active_pins(conn, CHARACTER)
    assert any(p["kind"] == "manual" and p["message_id"] == first_id for p in active)
    assert sum(p["kind"] == "auto" for p in active) == 8


def test_rerun_after_eviction_does_not_resurrect_pins(world):
    store, settings, gw = world
    for day in DAYS:
        score_messages(store, gw, settings, day)
    for day in DAYS:
        score_messages(store, gw, settings, day, force=True)
    with store.connect() as conn:
        assert len(active_pins(conn, CHARACTER)) == 8


def test_ledger_marks_each_scored_message_done(world):
    store, settings, gw = world
    score_messages(store, gw, settings, DAYS[2])
    assert ledger.counts(store, "score") == {("score", "done"): 24}
