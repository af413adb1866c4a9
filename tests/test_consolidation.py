"""Entity consolidation: planted duplicates merge (audited), near misses and other types do not,
collapsing relations combine, and a second run merges nothing."""

from sqlalchemy import select

from background_pipelines.config import Settings
from background_pipelines.graph_upkeep import resolve_entities
from background_pipelines.graph_upkeep.consolidation import plan_merges
from background_pipelines.graph_upkeep.normalize import name_key
from background_pipelines.llm import get_embedder
from background_pipelines.store.schema import entities, entity_merges, relations
from graph_upkeep_data import build_graph


def _embedder():
    return get_embedder(Settings.from_env({"BGP_EMBEDDING_BACKEND": "hashing"}))


def test_planted_duplicates_merge_and_near_misses_stay(store):
    ids = build_graph(store)
    result = resolve_entities(store, _embedder())
    merged = {(p.merged_id, p.survivor_id, p.reason) for p in result.plans}
    assert merged == {
        # the survivor is the better-connected spelling
        (ids[("Acme Corp", "organization")], ids[("ACME Corporation", "organization")], "exact"),
        (ids[("New York City", "place")], ids[("NYC", "place")], "acronym"),
    }
    assert result.merges == 2
    with store.connect() as conn:
        names = {(r.name, r.type) for r in conn.execute(select(entities))}
        assert ("Globex", "organization") in names and ("Globe", "organization") in names
        assert ("Jordan", "person") in names and ("Jordan", "place") in names
        assert ("Acme Corp", "organization") not in names
        acme = conn.execute(select(entities).where(entities.c.name == "ACME Corporation")).mappings().one()
        assert acme["aliases"] == ["Acme Corp"]
        audit = conn.execute(select(entity_merges).order_by(entity_merges.c.id)).mappings().all()
    assert [a["merged_name"] for a in audit] == ["Acme Corp", "New York City"]
    assert audit[0]["snapshot"]["merged_entity"]["name"] == "Acme Corp"
    # the merged entity's 3 relations (works_at, located_in, same_as) + the works_at it collapsed into
    assert len(audit[0]["snapshot"]["relations_before"]) == 4


def test_colliding_relations_combine_into_one(store):
    ids = build_graph(store)
    resolve_entities(store, _embedder())
    alice, acme = ids[("alice", "person")], ids[("ACME Corporation", "organization")]
    with store.connect() as conn:
        rows = conn.execute(
            select(relations).where(relations.c.src_id == alice, relations.c.predicate == "works_at")
        ).mappings().all()
        same_as = conn.execute(select(relations).where(relations.c.predicate == "same_as")).all()
    assert len(rows) == 1 and rows[0]["dst_id"] == acme
    assert rows[0]["source_message_ids"] == [1, 2] and rows[0]["source_fact_ids"] == [1, 2]
    assert rows[0]["weight"] == 1.0 and rows[0]["last_seen"].day == 5
    assert same_as == []


def test_second_run_merges_nothing(store):
    build_graph(store)
    assert resolve_entities(store, _embedder()).merges == 2
    again = resolve_entities(store, _embedder())
    assert again.merges == 0 and again.plans == []


def test_typo_merges_but_extension_and_number_change_do_not():
    rows = [
        dict(id=1, name="Initech Solutions", type="organization", aliases=[]),
        dict(id=2, name="Initech Soultions", type="organization", aliases=[]),  # transposition
        dict(id=3, name="Globex", type="organization", aliases=[]),
        dict(id=4, name="Globe", type="organization", aliases=[]),
        dict(id=5, name="Area 51", type="place", aliases=[]),
        dict(id=6, name="Area 52", type="place", aliases=[]),
        dict(id=7, name="Acme Widgets", type="organization", aliases=[]),
        dict(id=8, name="Acme Gadgets", type="organization", aliases=[]),
        dict(id=9, name="Jordan", type="person", aliases=[]),
        dict(id=10, name="Jordan", type="place", aliases=[]),
    ]
    plans, stats = plan_merges(rows, _embedder())
    assert [(p.survivor_id, p.merged_id, p.reason) for p in plans] == [(1, 2, "fuzzy")]
    assert stats["pairs_compared"] < len(rows) * (len(rows) - 1) // 2


def test_known_alias_merges_a_differently_named_entity():
    rows = [
        dict(id=1, name="The Big Apple", type="place", aliases=["Gotham"]),
        dict(id=2, name="Gotham", type="place", aliases=[]),
    ]
    plans, _ = plan_merges(rows, None)
    assert [(p.survivor_id, p.merged_id, p.reason) for p in plans] == [(1, 2, "alias")]


def test_ambiguous_acronym_merges_nothing():
    rows = [
        dict(id=1, name="International Business Machines", type="organization", aliases=[]),
        dict(id=2, name="Insane Bear Movers", type="organization", aliases=[]),
        dict(id=3, name="IBM", type="organization", aliases=[]),
    ]
    plans, _ = plan_merges(rows, None)
    assert plans == []
    assert name_key("I.B.M.").as_acronym == "ibm" and name_key("Ibm").as_acronym is None


def test_a_name_one_slip_from_two_names_merges_with_neither():
    rows = [
        dict(id=1, name="Marlowe Logistics", type="organization", aliases=[]),  # one slip from both others
        dict(id=2, name="Marlove Logistics", type="organization", aliases=[]),
        dict(id=3, name="Marlowa Logistics", type="organization", aliases=[]),
    ]
    plans, _ = plan_merges(rows, None)
    assert plans == []


def test_a_typo_of_a_known_alias_merges_into_its_entity():
    rows = [
        dict(id=1, name="Big Apple", type="place", aliases=["New Amsterdam"]),
        dict(id=2, name="New Amsterdan", type="place", aliases=[]),
    ]
    plans, _ = plan_merges(rows, None)
    assert [(p.survivor_id, p.merged_id, p.reason) for p in plans] == [(1, 2, "fuzzy")]
