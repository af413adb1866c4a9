"""Hub organisation in real Dagster runs: hubs get one group per relation type and direction carrying
the original provenance; a second run changes nothing; a new neighbour updates the layer (audited);
undo restores the graph exactly and keeps the hub alone until redone; below the threshold the layer goes."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import select

from assets.hubs import definitions as hub_definitions
from assets.resources import StoreResource
from background_pipelines.cli import main
from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.graph import update_knowledge_graph
from background_pipelines.config import Settings
from background_pipelines.hubs import list_organisations, organise_hubs
from background_pipelines.ingest.writer import record_messages
from background_pipelines.llm.gateway import Gateway
from background_pipelines.store.schema import entities, relations

DAY = "2026-11-02"


def _say(store, lines, start=0):
    record_messages([dict(external_id=f"m{start + i}", channel=f"dm/{u}", session=f"s-{u}", author=u, text=t,
                          created_at=f"{DAY}T10:{(start + i) % 60:02d}:00Z") for i, (u, t) in enumerate(lines)], store, platform="demo")
    settings = Settings.from_env()
    gw = Gateway.from_settings(settings, store)
    extract_facts(store, gw, settings, DAY)
    update_knowledge_graph(store, gw, settings, DAY)


def _world(store):
    users = [f"user{i}" for i in range(6)]
    lines = [(u, "I live in New York City.") for u in users] + [(u, "I work at Acme Corp.") for u in users]
    lines += [(u, "I grew up in New York City.") for u in users[:3]]
    _say(store, lines)


def _graph(store):
    with store.connect() as conn:
        ents = sorted(tuple(r) for r in conn.execute(select(entities.c.id, entities.c.norm, entities.c.type, entities.c.name)))
        rels = sorted((r.id, r.src_id, r.predicate, r.dst_id, r.weight, r.inferred, r.invalidated_at, r.expired_at,
                       tuple(r.source_fact_ids)) for r in conn.execute(select(relations)))
    return ents, rels


def _run():
    result = dg.materialize(list(hub_definitions(Settings.from_env()).assets), resources={"store": StoreResource()})
    assert result.success
    return {k: v.value for k, v in result.asset_materializations_for_node("hub_organisation")[0].metadata.items()}


def test_hubs_are_organised_idempotently_and_undone_exactly(store, bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_HUB_DEGREE_THRESHOLD", "5")
    _world(store)
    before = _graph(store)
    meta = _run()
    # New York City: lives_in x6 + from x3 (two groups); Acme Corp: works_at x6 (one group)
    assert (meta["hubs"], meta["organised"], meta["groups_created"]) == (2, 2, 3)
    assert meta["layer_relations_created"] == 3 + 6 + 3 + 6  # has_group per group + includes per member
    with store.connect() as conn:
        groups = {r.name: r.id for r in conn.execute(select(entities).where(entities.c.type == "hub_group"))}
        assert set(groups) == {"lives_in New York City", "from New York City", "works_at Acme Corp"}
        nyc = conn.execute(select(entities.c.id).where(entities.c.norm == "new york city")).scalar_one()
        members = conn.execute(select(relations).where(relations.c.src_id == groups["lives_in New York City"])).all()
        originals = {r.src_id: r for r in conn.execute(select(relations).where(relations.c.dst_id == nyc, relations.c.predicate == "lives_in"))}
        has = conn.execute(select(relations).where(relations.c.src_id == nyc, relations.c.predicate == "has_group")).all()
    assert len(members) == 6 and all(m.predicate == "includes" and m.inferred for m in members)
    for m in members:  # each member keeps the provenance of the relation it stands for
        o = originals[m.dst_id]
        assert (m.source_fact_ids, m.source_message_ids, m.valid_from) == (o.source_fact_ids, o.source_message_ids, o.valid_from)
    assert {h.dst_id for h in has} == {groups["lives_in New York City"], groups["from New York City"]}
    organised = _graph(store)

    again = _run()  # nothing changed in the graph: nothing written
    assert (again["organised"], again["unchanged"], again["layer_relations_created"], again["layer_relations_updated"]) == (0, 2, 0, 0)
    assert _graph(store) == organised

    _say(store, [("user6", "I live in New York City.")], start=100)  # a new neighbour
    grown = _run()
    assert (grown["organised"], grown["layer_relations_created"], grown["layer_relations_updated"]) == (1, 1, 1)
    orgs = {o["hub_name"]: o for o in list_organisations(store)}
    assert [a["action"] for a in orgs["New York City"]["audit"]] == ["organise", "update"]

    # undo both: the graph is what it was before organising (plus user6's own relation)
    with_user6 = [r for r in _graph(store)[1] if not r[5]]
    for o in orgs.values():
        assert main(["hubs", "undo", str(o["id"]), "--reason", "test"]) == 0
    assert [r for r in _graph(store)[1]] == with_user6
    assert {e for e in _graph(store)[0] if e[2] == "hub_group"} == set()
    assert main(["hubs", "undo", str(orgs["Acme Corp"]["id"])]) == 1  # already undone
    left = _run()
    assert (left["organised"], left["left_undone_by_a_person"]) == (0, 2)
    assert main(["hubs", "redo", str(nyc)]) == 0
    assert _run()["organised"] == 1
    # the pre-organise relations were never touched by any of it
    assert {r for r in before[1]} <= {r for r in _graph(store)[1]}


def test_a_hub_below_the_threshold_loses_its_layer(store, bgp_env):
    _world(store)
    # at threshold 3 each user (lives_in, works_at, from: one neighbour per type) is a hub with nothing to group
    r = organise_hubs(store, threshold=3)
    assert (r.organised, r.ungroupable) == (2, 3) and len(list_organisations(store)) == 2
    for o in list_organisations(store):
        assert main(["hubs", "undo", str(o["id"])]) == 0 and main(["hubs", "redo", str(o["hub_id"])]) == 0
    assert organise_hubs(store, threshold=5).organised == 2
    r = organise_hubs(store, threshold=50)
    assert (r.hubs, r.undone) == (0, 2)
    orgs = list_organisations(store)  # two undone and released by a person, then two undone by the threshold
    assert [(o["status"], o["undone_by"]) for o in orgs] == [("undone", "released")] * 2 + [("undone", "threshold")] * 2
    with store.connect() as conn:
        assert conn.execute(select(relations).where(relations.c.inferred.is_(True))).all() == []
    assert organise_hubs(store, threshold=5).organised == 2  # not a person's undo: organised again


def test_recall_never_returns_the_hub_layer(store, bgp_env):
    """The group nodes only restate relations that exist beside them: recall's graph evidence keeps the
    user's own relation and never a relation touching a group node."""
    from background_pipelines.recall import recall
    from background_pipelines.store.hubs import GROUP_TYPE

    _world(store)
    assert organise_hubs(store, threshold=5).organised == 2
    with store.connect() as conn:
        types = {r.id: r.type for r in conn.execute(select(entities.c.id, entities.c.type))}
        ends = {r.id: (r.src_id, r.dst_id) for r in conn.execute(select(relations.c.id, relations.c.src_id, relations.c.dst_id))}
    assert GROUP_TYPE in types.values()  # the layer exists, so the check below can fail
    hits = recall("demo:user0", "where do I live? New York City", store=store, kinds=("relation",), modes=("graph",))
    assert hits, "the user's own lives_in relation is found"
    for h in hits:
        assert GROUP_TYPE not in {types[e] for e in ends[h.id]}, h
