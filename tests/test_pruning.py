"""Weekly pruning deletes only relations expired longer than the retention and orphan entities
past the grace period; enrichment adds inferred co-occurrence edges once."""

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from background_pipelines.graph_upkeep import enrich_cooccurrence, prune_graph
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import entities, facts, messages, relations
from graph_upkeep_data import add_entities, rel

NOW = datetime(2026, 11, 22, 4, 0, 0)
OLD = NOW - timedelta(days=90)


def test_prune_removes_only_what_is_past_retention(store):
    with store.begin() as conn:
        ids = add_entities(conn, [("alice", "person"), ("Paris", "place"), ("Rome", "place"), ("Oslo", "place"),
                                  ("Lima", "place"), ("Quito", "place")], when=OLD)
        a = ids[("alice", "person")]
        long_expired = rel(conn, a, "visited", ids[("Paris", "place")], expired_at=NOW - timedelta(days=31))
        recently_expired = rel(conn, a, "visited", ids[("Rome", "place")], expired_at=NOW - timedelta(days=29))
        current = rel(conn, a, "visited", ids[("Oslo", "place")])
        # Lima: no relation but a fact names it; Quito: a true orphan
        conn.execute(insert(facts).values(user_name="alice", kind="fact", subject="alice", predicate="likes", object="lima",
                                          confidence=0.9, valid_from=OLD, source_message_ids=[], day="2026-08-24",
                                          backend="offline", version="t", created_at=OLD))
        fresh_orphan = conn.execute(insert(entities).values(name="Bern", norm="bern", type="place", aliases=[],
                                                            created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
    result = prune_graph(store, retention_days=30, now=NOW)
    assert [r["dst"] for r in result.pruned_rows] == ["Paris"]
    with store.connect() as conn:
        left = set(conn.execute(select(relations.c.id)).scalars())
        names = set(conn.execute(select(entities.c.name)).scalars())
    assert left == {recently_expired, current} and long_expired not in left
    # Paris lost its last relation this run and is collected; Lima is named by a fact; Bern is too new
    assert {o["name"] for o in result.orphan_rows} == {"Paris", "Quito"}
    assert names == {"alice", "Rome", "Oslo", "Lima", "Bern"} and fresh_orphan
    assert prune_graph(store, retention_days=30, now=NOW).pruned == 0


def _messages(store, session, texts):
    with store.begin() as conn:
        insert_message_rows(conn, [
            message_row(platform="t", external_id=f"{session}-{i}", channel="c", session=session, author="alice",
                        author_kind="user", role="user", text=t, created_at=datetime(2026, 11, 1 + i, 12))
            for i, t in enumerate(texts)
        ])


def test_cooccurrence_adds_inferred_edges_once(store):
    _messages(store, "s1", ["I work at Acme", "I went to Paris"])
    _messages(store, "s2", ["Acme again", "Paris again"])
    _messages(store, "s3", ["Berlin only"])
    with store.connect() as conn:
        mids = {r.external_id: r.id for r in conn.execute(select(messages))}
    with store.begin() as conn:
        ids = add_entities(conn, [("alice", "person"), ("Acme", "organization"), ("Paris", "place"), ("Berlin", "place")])
        a, acme, paris, berlin = (ids[k] for k in [("alice", "person"), ("Acme", "organization"), ("Paris", "place"), ("Berlin", "place")])
        rel(conn, a, "works_at", acme, msgs=[mids["s1-0"], mids["s2-0"]])
        rel(conn, a, "visited", paris, msgs=[mids["s1-1"], mids["s2-1"]])
        rel(conn, a, "visited", berlin, msgs=[mids["s3-0"]])
    long_after = datetime(2027, 3, 1)  # 0.4 x 0.97^120 < 0.1: decay would expire it at once
    stale = enrich_cooccurrence(store, min_sessions=2, now=long_after)
    assert stale.inserted == 0 and stale.stale == 1
    result = enrich_cooccurrence(store, min_sessions=2, now=NOW)
    assert result.inserted == 1 and result.skipped_explicit == 2  # alice-acme, alice-paris are explicit
    with store.connect() as conn:
        inferred = conn.execute(select(relations).where(relations.c.inferred.is_(True))).mappings().all()
    assert [(r["src_id"], r["predicate"], r["dst_id"]) for r in inferred] == [(acme, "co_occurs_with", paris)]
    assert sorted(inferred[0]["source_message_ids"]) == sorted(mids[k] for k in ("s1-0", "s1-1", "s2-0", "s2-1"))
    again = enrich_cooccurrence(store, min_sessions=2, now=long_after)  # an existing edge is kept, not re-judged
    assert (again.inserted, again.updated) == (0, 0)
