"""The graph-upkeep and backup assets in real Dagster runs: materialized on the planted graph they
merge, decay, prune and back up, with the counts in metadata; they stay defined (and in the upkeep
jobs) when BGP_CHAT_LLM_ENABLED=false."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
from sqlalchemy import update

from assets.graph_upkeep import definitions
from assets.resources import LLMResource, StoreResource
from background_pipelines.config import Settings
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import relations
from graph_upkeep_data import build_graph

KEYS = ["graph_consolidation", "graph_enrichment", "graph_decay", "graph_pruning", "store_backup"]


def _assets(settings):
    return list(definitions(settings).assets)


def _meta(result, key):
    mats = result.asset_materializations_for_node(key)
    assert len(mats) == 1
    return {k: v.value for k, v in mats[0].metadata.items()}


def test_upkeep_assets_materialize_with_counts(store, bgp_env, tmp_path, monkeypatch):
    monkeypatch.setenv("BGP_BACKUP_DIR", str(tmp_path / "backups"))
    build_graph(store)
    with store.begin() as conn:  # everything seen yesterday but the lives_in relations (200 days ago)
        conn.execute(update(relations).values(last_seen=utcnow() - timedelta(days=1)))
        conn.execute(update(relations).where(relations.c.predicate == "lives_in").values(last_seen=utcnow() - timedelta(days=200)))
    settings = Settings.from_env()
    resources = {"store": StoreResource(), "llm": LLMResource()}
    result = dg.materialize(_assets(settings), resources=resources)
    assert result.success
    merged = _meta(result, "graph_consolidation")
    assert merged["merges"] == 2 and merged["pairs_compared"] < merged["all_pairs"]
    assert "ACME Corporation" in merged["preview"]
    decay = _meta(result, "graph_decay")
    assert decay["expired"] == 2  # alice lives_in NYC, Jordan lives_in Jordan
    assert _meta(result, "graph_pruning")["pruned"] == 0  # expired today: within the retention
    backup = _meta(result, "store_backup")
    assert backup["skipped"] is False and Path(backup["path"]).exists() and backup["size_bytes"] > 0

    again = dg.materialize(_assets(settings), resources=resources)
    assert _meta(again, "graph_consolidation")["merges"] == 0
    assert _meta(again, "graph_decay")["expired"] == 0
    assert _meta(again, "store_backup")["skipped"] is True  # the 23 h freshness guard


def test_upkeep_assets_survive_chat_llm_disabled():
    settings = Settings.from_env({"BGP_CHAT_LLM_ENABLED": "false"})
    specs = {s.key.to_user_string(): s for a in _assets(settings) for s in a.specs}
    assert sorted(specs) == sorted(KEYS)
    assert {k: s.tags["bgp/trigger"] for k, s in specs.items()} == {
        "graph_consolidation": "upkeep", "graph_enrichment": "upkeep", "graph_decay": "upkeep",
        "store_backup": "upkeep", "graph_pruning": "weekly",
    }
    assert all(s.description and s.owners and s.group_name in ("graph_upkeep", "operations") for s in specs.values())
