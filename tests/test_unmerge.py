"""Unmerge restores the graph exactly: full dumps of entities, relations and entity embeddings
before the merge and after the unmerge are equal, ids included."""

import pytest
from sqlalchemy import insert, select

from background_pipelines.config import Settings
from background_pipelines.graph_upkeep import UnmergeError, resolve_entities, unmerge
from background_pipelines.llm import get_embedder
from background_pipelines.store.schema import entities, entity_merges
from graph_upkeep_data import T0, build_graph, dump


def _embedder():
    return get_embedder(Settings.from_env({"BGP_EMBEDDING_BACKEND": "hashing"}))


def test_unmerge_restores_entities_and_relations_exactly(store):
    build_graph(store)
    before = dump(store)
    result = resolve_entities(store, _embedder())
    assert result.merges == 2 and dump(store) != before
    for merge_id in reversed(result.merge_ids):
        unmerge(store, merge_id)
    assert dump(store) == before
    with store.connect() as conn:
        assert all(r.undone_at is not None for r in conn.execute(select(entity_merges)))


def test_unmerge_of_the_last_merge_leaves_the_earlier_one(store):
    build_graph(store)
    acme_merge, nyc_merge = resolve_entities(store, _embedder()).merge_ids
    # the NYC merge moved a relation the Acme merge had touched: Acme must wait for it
    with pytest.raises(UnmergeError, match=rf"later merges \[{nyc_merge}\]"):
        unmerge(store, acme_merge)
    unmerge(store, nyc_merge)
    with store.connect() as conn:
        names = {r.name for r in conn.execute(select(entities))}
    assert "New York City" in names and "NYC" in names and "Acme Corp" not in names
    with pytest.raises(UnmergeError, match="already undone"):
        unmerge(store, nyc_merge)


def test_unmerge_refuses_when_a_later_merge_involves_the_same_entities(store):
    with store.begin() as conn:
        for name in ("Umbrella Corp", "Umbrella Corporation", "UMBRELLA corp."):
            conn.execute(insert(entities).values(name=name, norm=name.lower(), type="organization", aliases=[],
                                                 created_at=T0, updated_at=T0))
    result = resolve_entities(store, None)
    assert result.merges == 2
    before_first = dump(store)
    with pytest.raises(UnmergeError, match=r"later merges \[\d+\]"):
        unmerge(store, result.merge_ids[0])
    assert dump(store) == before_first  # refused: nothing written


def test_unmerge_refuses_when_the_name_was_taken_again(store):
    build_graph(store)
    result = resolve_entities(store, _embedder())
    with store.begin() as conn:  # the knowledge graph re-created the merged spelling meanwhile
        conn.execute(insert(entities).values(name="New York City", norm="new york city", type="place", aliases=[],
                                             created_at=T0, updated_at=T0))
    snapshot = dump(store)
    with pytest.raises(UnmergeError, match="now holds the name 'new york city'"):
        unmerge(store, result.merge_ids[1])
    assert dump(store) == snapshot


def test_unknown_merge_is_a_clear_error(store):
    with pytest.raises(UnmergeError, match="merge 999: no such merge"):
        unmerge(store, 999)


def test_forgetting_a_cited_message_deletes_the_merge_audit_holding_it(store):
    """An unmerge must not bring forgotten data back: audits whose before-images cite it go."""
    from datetime import datetime

    from background_pipelines.forget import forget
    from background_pipelines.store.messages import insert_message_rows, message_row

    with store.begin() as conn:
        insert_message_rows(conn, [
            message_row(platform="t", external_id=str(i), channel="c", session="s", author="alice", author_kind="user",
                        role="user", text=f"message {i}", created_at=datetime(2026, 10, 1, 12, i))
            for i in range(1, 4)
        ])
    build_graph(store)  # alice works_at ACME Corporation cites message 2
    acme_merge, nyc_merge = resolve_entities(store, _embedder()).merge_ids
    forget(store, message_ids=[2])
    with store.connect() as conn:
        left = list(conn.execute(select(entity_merges.c.id)).scalars())
    assert left == [nyc_merge]


def test_unmerge_is_the_function_after_its_submodule_was_imported():
    """The package binds `unmerge` lazily for the others; a submodule import must not shadow it."""
    import importlib

    importlib.import_module("background_pipelines.graph_upkeep.unmerge")
    from background_pipelines.graph_upkeep import unmerge as fn

    assert callable(fn) and fn.__name__ == "unmerge"


def test_a_lazy_name_that_is_a_submodule_name_is_refused():
    import pytest

    from background_pipelines.lazy import lazy_attributes

    with pytest.raises(ValueError, match=r"\['unmerge'\] are submodule names"):
        lazy_attributes("background_pipelines.graph_upkeep", {"unmerge": "unmerge"})
