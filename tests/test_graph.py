"""update_knowledge_graph over the demo world: the planted job change invalidates the old works_at,
an employer written two ways is one entity with an alias, re-mentions add weight and clear soft
expiry, reruns change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.graph import normalize_name, update_knowledge_graph
from background_pipelines.config import Settings
from background_pipelines.demo import PLANTED_ALIASES, PLANTED_CONTRADICTIONS, load_demo
from background_pipelines.llm import Gateway
from background_pipelines.store.graph import relations_of
from background_pipelines.store.schema import entities, relations
from background_pipelines.users.identity import entity_norm

DEMO_DAYS = [f"2026-11-{d:02d}" for d in range(1, 15)]


@pytest.fixture
def demo(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DEMO_DAYS[0])
    load_demo(store)
    settings = Settings.from_env()
    return store, settings, Gateway.from_settings(settings, store)


def _build(store, settings, gw, days=DEMO_DAYS, **kw):
    for day in days:
        extract_facts(store, gw, settings, day, **kw)
        update_knowledge_graph(store, gw, settings, day, **kw)


def _table_counts(store):
    with store.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(entities)).scalar_one(),
            conn.execute(select(func.count()).select_from(relations)).scalar_one(),
            conn.execute(select(func.sum(relations.c.weight))).scalar_one(),
        )


def test_normalize_name_folds_case_articles_and_company_suffixes():
    assert normalize_name("ACME Corporation") == normalize_name("Acme Corp") == "acme"
    assert normalize_name("the Daily Ledger") == "daily ledger"
    assert normalize_name("Café Zürich") == "cafe zurich"


def test_job_change_invalidates_old_works_at_and_keeps_it(demo):
    store, settings, gw = demo
    _build(store, settings, gw)
    change = next(c for c in PLANTED_CONTRADICTIONS if c.predicate == "works_at")
    rels = relations_of(store, entity_norm(f"demo:{change.user}"), "works_at")
    old = [r for r in rels if normalize_name(r["dst_name"]) == normalize_name(change.old)]
    new = [r for r in rels if normalize_name(r["dst_name"]) == normalize_name(change.new)]
    assert old and all(r["invalidated_at"] is not None for r in old)
    assert [r for r in new if r["invalidated_at"] is None], "the new employer is the current relation"
    current = [r for r in rels if r["invalidated_at"] is None]
    assert len(current) == 1 and normalize_name(current[0]["dst_name"]) == normalize_name(change.new)
    assert old[0]["invalidated_at"] >= old[0]["valid_from"]


def test_backfilling_days_out_of_order_gives_the_same_current_job(demo):
    store, settings, gw = demo
    _build(store, settings, gw, days=list(reversed(DEMO_DAYS)))
    change = next(c for c in PLANTED_CONTRADICTIONS if c.predicate == "works_at")
    current = [r for r in relations_of(store, entity_norm(f"demo:{change.user}"), "works_at") if r["invalidated_at"] is None]
    assert [normalize_name(r["dst_name"]) for r in current] == [normalize_name(change.new)]


def test_entity_written_two_ways_is_one_entity_with_alias(demo):
    store, settings, gw = demo
    _build(store, settings, gw)
    alias = next(a for a in PLANTED_ALIASES if normalize_name(a.canonical) == normalize_name(a.alias))
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(entities).where(entities.c.norm == normalize_name(alias.canonical)))]
    assert len(rows) == 1
    assert {rows[0]["name"], *rows[0]["aliases"]} >= {alias.canonical, alias.alias}
    assert rows[0]["type"] == "org"


def test_rerun_and_force_add_no_rows_and_no_weight(demo):
    store, settings, gw = demo
    _build(store, settings, gw)
    before = _table_counts(store)
    _build(store, settings, gw)
    _build(store, settings, gw, force=True)
    assert _table_counts(store) == before


def test_remention_bumps_weight_last_seen_and_clears_soft_expiry(demo):
    store, settings, gw = demo
    first_days, later_days = DEMO_DAYS[:7], DEMO_DAYS[7:]
    _build(store, settings, gw, days=first_days)
    with store.begin() as conn:
        conn.execute(update(relations).values(expired_at=func.current_timestamp()))
        snapshot = {r.id: (r.weight, r.last_seen) for r in conn.execute(select(relations))}
    _build(store, settings, gw, days=later_days)
    with store.connect() as conn:
        after = {r.id: r for r in conn.execute(select(relations))}
    bumped = [i for i, (w, seen) in snapshot.items() if after[i].weight > w]
    assert bumped, "some relation of the first week is mentioned again in the second"
    for i in bumped:
        assert after[i].last_seen > snapshot[i][1] and after[i].expired_at is None
        assert len(after[i].source_message_ids) >= 2


def test_every_relation_cites_messages_and_facts(demo):
    store, settings, gw = demo
    _build(store, settings, gw, days=DEMO_DAYS[:3])
    with store.connect() as conn:
        rows = list(conn.execute(select(relations)))
    assert rows and all(r.source_message_ids and r.source_fact_ids for r in rows)


def test_abbreviation_is_an_alias_not_a_move(bgp_env, store, monkeypatch):
    from datetime import datetime

    from background_pipelines.store.messages import insert_message_rows, message_row

    monkeypatch.setenv("BGP_START_DATE", "2026-11-01")
    rows = [
        message_row(platform="t", external_id=str(i), channel="c", session="s", author="chen", author_kind="user", role="user",
                    text=text, created_at=datetime(2026, 11, d, 10))
        for i, (d, text) in enumerate([(1, "I live in New York City."), (2, "I live in NYC, the winters are brutal.")])
    ]
    with store.begin() as conn:
        insert_message_rows(conn, rows)
    settings = Settings.from_env()
    gw = Gateway.from_settings(settings, store)
    _build(store, settings, gw, days=["2026-11-01", "2026-11-02"])
    rels = relations_of(store, entity_norm("t:chen"), "lives_in")
    assert len(rels) == 1 and rels[0]["invalidated_at"] is None and rels[0]["weight"] == 2
    with store.connect() as conn:
        city = conn.execute(select(entities).where(entities.c.norm == "new york city")).one()
    assert "NYC" in city.aliases
