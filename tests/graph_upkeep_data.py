"""A small knowledge graph for the graph-upkeep tests, written straight into entities/relations:
two planted duplicates ("Acme Corp"/"ACME Corporation", "New York City"/"NYC") and near misses
that must stay apart ("Globex"/"Globe", a person and a place both named "Jordan")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from background_pipelines.graph_upkeep.normalize import normalize_name
from background_pipelines.store.schema import embeddings, entities, relations

T0 = datetime(2026, 10, 1, 12, 0, 0, 123456)

ENTITIES = [
    # (name, type)
    ("alice", "person"),
    ("Acme Corp", "organization"),
    ("ACME Corporation", "organization"),
    ("New York City", "place"),
    ("NYC", "place"),
    ("Globex", "organization"),
    ("Globe", "organization"),
    ("Jordan", "person"),
    ("Jordan", "place"),
    ("bob", "person"),
]


def add_entities(conn, items=ENTITIES, when: datetime = T0) -> dict[tuple[str, str], int]:
    ids = {}
    for name, etype in items:
        norm = normalize_name(name) if (name, "place") != ("Jordan", etype) else "jordan (place)"
        res = conn.execute(
            insert(entities).values(name=name, norm=norm, type=etype, aliases=[], created_at=when, updated_at=when)
        )
        ids[(name, etype)] = int(res.inserted_primary_key[0])
    return ids


def rel(conn, src: int, predicate: str, dst: int, *, weight=1.0, last_seen=T0, valid_from=T0, expired_at=None,
        inferred=False, msgs=(), fact_ids=()) -> int:
    res = conn.execute(
        insert(relations).values(
            src_id=src, predicate=predicate, dst_id=dst, weight=weight, confidence=0.8, first_seen=valid_from,
            last_seen=last_seen, valid_from=valid_from, invalidated_at=None, expired_at=expired_at,
            inferred=inferred, source_message_ids=list(msgs), source_fact_ids=list(fact_ids),
        )
    )
    return int(res.inserted_primary_key[0])


def build_graph(store) -> dict[tuple[str, str], int]:
    """The small graph; both spellings of Acme carry relations, two of which collapse on merge."""
    with store.begin() as conn:
        ids = add_entities(conn)
        alice, bob = ids[("alice", "person")], ids[("bob", "person")]
        acme1, acme2 = ids[("Acme Corp", "organization")], ids[("ACME Corporation", "organization")]
        nyc_full, nyc = ids[("New York City", "place")], ids[("NYC", "place")]
        rel(conn, alice, "works_at", acme1, msgs=[1], fact_ids=[1])
        rel(conn, alice, "works_at", acme2, weight=0.7, last_seen=datetime(2026, 10, 5), msgs=[2], fact_ids=[2])  # collides
        rel(conn, bob, "works_at", acme2, msgs=[3])
        rel(conn, acme2, "located_in", nyc)
        rel(conn, acme1, "located_in", nyc_full)
        rel(conn, acme1, "same_as", acme2)  # a link between the two spellings: dropped by the merge
        rel(conn, alice, "lives_in", nyc)
        rel(conn, ids[("Globex", "organization")], "located_in", ids[("Globe", "organization")])
        rel(conn, ids[("Jordan", "person")], "lives_in", ids[("Jordan", "place")])
        conn.execute(
            insert(embeddings).values(item_kind="entity", item_id=acme2, model="m", dim=2, vector=b"\x00\x01\x02\x03" * 2, created_at=T0)
        )
    return ids


GRAPH_TABLES = (entities, relations, embeddings)


def dump(store, tables=GRAPH_TABLES) -> dict[str, list[tuple]]:
    """Every row of `tables`, ordered by all columns, for exact before/after comparison."""
    out = {}
    with store.connect() as conn:
        for t in tables:
            rows = conn.execute(select(t)).all()
            out[t.name] = sorted((tuple(repr(v) for v in r) for r in rows))
    return out
