"""Decay soft-expires stale relations (marked, kept, reviewable) without touching fresh ones; a new
mention through the knowledge-graph step revives the relation."""

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from background_pipelines.cognition.graph import update_knowledge_graph
from background_pipelines.config import Settings
from background_pipelines.graph_upkeep import decay_relations
from background_pipelines.graph_upkeep.decay import strength
from background_pipelines.store.schema import facts, relations
from graph_upkeep_data import add_entities, rel

NOW = datetime(2026, 11, 20, 3, 0, 0)


def _relation(store, rid):
    with store.connect() as conn:
        return conn.execute(select(relations).where(relations.c.id == rid)).mappings().one()


def test_stale_relation_is_soft_expired_and_fresh_one_kept(store):
    with store.begin() as conn:
        ids = add_entities(conn, [("alice", "person"), ("Paris", "place"), ("Rome", "place")])
        # 0.97^100 ~ 0.048 < 0.1: stale; 0.97^10 ~ 0.74: fresh
        stale = rel(conn, ids[("alice", "person")], "visited", ids[("Paris", "place")], last_seen=NOW - timedelta(days=100))
        fresh = rel(conn, ids[("alice", "person")], "visited", ids[("Rome", "place")], last_seen=NOW - timedelta(days=10))
    result = decay_relations(store, factor=0.97, threshold=0.1, now=NOW)
    assert (result.checked, result.expired, result.revived) == (2, 1, 0)
    assert _relation(store, stale)["expired_at"] == NOW
    assert _relation(store, stale)["weight"] == 1.0  # marked, not rewritten or deleted
    assert _relation(store, fresh)["expired_at"] is None
    again = decay_relations(store, factor=0.97, threshold=0.1, now=NOW)
    assert again.expired == 0 and again.checked == 1  # idempotent: nothing decays twice


def test_heavier_relation_lasts_longer():
    last = NOW - timedelta(days=60)
    assert strength(1.0, last, NOW, 0.97) < 0.2 < strength(3.0, last, NOW, 0.97)


def _fact(conn, fid_day: datetime, obj: str, message_id: int) -> None:
    conn.execute(
        insert(facts).values(
            user_name="alice", kind="fact", subject="alice", predicate="likes", object=obj, confidence=0.9,
            valid_from=fid_day, source_message_ids=[message_id], day=fid_day.strftime("%Y-%m-%d"),
            backend="offline", version="t", run_id=None, created_at=fid_day,
        )
    )


def test_new_mention_through_the_knowledge_graph_step_revives(store, bgp_env):
    settings = Settings.from_env()
    first = datetime(2026, 7, 1, 10, 0)
    with store.begin() as conn:
        _fact(conn, first, "jazz", 1)
    update_knowledge_graph(store, None, settings, "2026-07-01")
    with store.connect() as conn:
        rid = conn.execute(select(relations.c.id).where(relations.c.predicate == "likes")).scalar_one()
    assert decay_relations(store, now=NOW).expired == 1
    assert _relation(store, rid)["expired_at"] == NOW

    mention = datetime(2026, 11, 19, 18, 0)
    with store.begin() as conn:
        _fact(conn, mention, "jazz", 2)
    update_knowledge_graph(store, None, settings, "2026-11-19")
    revived = _relation(store, rid)
    assert revived["expired_at"] is None and revived["last_seen"] == mention
    assert decay_relations(store, now=NOW).expired == 0


def test_decay_revives_a_relation_seen_after_it_expired(store):
    """The safety net for writers that update last_seen but leave the mark."""
    with store.begin() as conn:
        ids = add_entities(conn, [("alice", "person"), ("Paris", "place")])
        rid = rel(conn, ids[("alice", "person")], "visited", ids[("Paris", "place")],
                  last_seen=NOW - timedelta(hours=1), expired_at=NOW - timedelta(days=3))
    result = decay_relations(store, now=NOW)
    assert result.revived == 1 and _relation(store, rid)["expired_at"] is None
