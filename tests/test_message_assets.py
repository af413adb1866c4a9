"""The message-level assets through real Dagster runs (dg.materialize on an ephemeral instance) over
the demo world, on SQLite and PostgreSQL; the HTTP path against the local OpenAI-compatible server."""

from __future__ import annotations

import math

import dagster as dg
import pytest
from sqlalchemy import func, select

from assets import checks, knowledge, messages, signals, summaries
from assets.resources import LLMResource, StoreResource
from background_pipelines.cognition.graph import normalize_name
from background_pipelines.cognition.replay import script_offline_answers
from background_pipelines.config import Settings
from background_pipelines.demo import PLANTED_CONTRADICTIONS, load_demo
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store.graph import relations_of
from background_pipelines.store.messages import insert_message_rows, message_row, messages_for_day
from background_pipelines.store.schema import embeddings, entities, facts, message_scores, pins, relations, relationship_scores, summaries as summaries_t
from background_pipelines.users.identity import entity_norm

DAY = "2026-11-01"  # five sessions past the 20-message summary threshold
TABLES = {
    "message_scores": message_scores,
    "message_embeddings": embeddings,
    "session_summaries": summaries_t,
    "extracted_facts": facts,
    "knowledge_graph": relations,
    "relationship_scores": relationship_scores,
}
ASSET_KEYS = ["message_scores", "message_embeddings", "relationship_scores", "session_summaries", "extracted_facts", "knowledge_graph"]


RESOURCES = {"store": StoreResource(), "llm": LLMResource()}


def _defs(settings: Settings) -> dg.Definitions:
    parts = [m.definitions(settings) for m in (messages, signals, summaries, knowledge, checks)]
    return dg.Definitions.merge(*parts, dg.Definitions(resources=RESOURCES))


def _assets(settings: Settings) -> list:
    d = _defs(settings)
    return list(d.assets or []) + list(d.asset_checks or [])


@pytest.fixture
def demo(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAY)
    load_demo(store)
    return store


def _counts(store) -> dict[str, int]:
    with store.connect() as conn:
        out = {k: conn.execute(select(func.count()).select_from(t)).scalar_one() for k, t in TABLES.items()}
        out["entities"] = conn.execute(select(func.count()).select_from(entities)).scalar_one()
        out["pins"] = conn.execute(select(func.count()).select_from(pins)).scalar_one()
        out["weight"] = conn.execute(select(func.coalesce(func.sum(relations.c.weight), 0))).scalar_one()
    return out


def _materialize(instance, partition_key=None, tags=None, selection=None, raise_on_error=True):
    return dg.materialize(
        _assets(Settings.from_env()),
        instance=instance,
        resources=RESOURCES,
        partition_key=partition_key,
        tags=tags,
        selection=selection or ASSET_KEYS,
        raise_on_error=raise_on_error,
    )


def _meta(result, key: str) -> dict:
    """The metadata of `key`'s first materialization (a range run reports one per partition, each its own day)."""
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(key)]
    assert mats, f"{key} was not materialized"
    return {k: v.value for k, v in mats[0].materialization.metadata.items()}


def test_definitions_describe_group_tag_and_pool_every_asset():
    settings = Settings.from_env({"BGP_START_DATE": DAY, "BGP_LLM_BASE_URL": "http://127.0.0.1:9/v1"})
    graph = _defs(settings).resolve_asset_graph()
    groups = {"messages": "conversations", "session_summaries": "conversations", "message_scores": "message_signals",
              "message_embeddings": "message_signals", "relationship_scores": "message_signals",
              "extracted_facts": "knowledge", "knowledge_graph": "knowledge"}
    for key, group in groups.items():
        node = graph.get(dg.AssetKey(key))
        assert node.description and node.group_name == group and node.owners == ["team:cognition"]
        assert "python" in {k.split("/")[-1] for k in node.tags if k.startswith("dagster/kind/")}
        assert node.partitions_def is not None
    for key in ASSET_KEYS:
        assets_def = graph.assets_def_for_key(dg.AssetKey(key))
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run()
        assert assets_def.code_versions_by_key[dg.AssetKey(key)]
    llm_pool = {k: graph.assets_def_for_key(dg.AssetKey(k)).op.pool for k in ASSET_KEYS}
    assert llm_pool["session_summaries"] == llm_pool["extracted_facts"] == llm_pool["message_scores"] == "llm"
    assert llm_pool["message_embeddings"] != "llm" and llm_pool["knowledge_graph"] != "llm"


@pytest.mark.parametrize(
    "env, absent",
    [
        ({"BGP_CHAT_LLM_ENABLED": "false"}, {"session_summaries", "extracted_facts", "knowledge_graph"}),
        ({"ENABLE_RUNTIME_FACT_EXTRACTION": "false"}, {"extracted_facts", "knowledge_graph"}),
        ({}, set()),
    ],
)
def test_flags_leave_out_llm_and_fact_assets(env, absent):
    settings = Settings.from_env({"BGP_START_DATE": DAY, **env})
    d = _defs(settings)
    keys = {k.to_user_string() for k in d.resolve_all_asset_keys()}
    assert keys == {"messages", *ASSET_KEYS} - absent
    check_targets = {c.asset_key.to_user_string() for c in d.resolve_asset_graph().asset_check_keys}
    assert check_targets <= keys


def test_demo_partition_fills_every_asset_and_rerun_adds_nothing(demo):
    store = demo
    instance = dg.DagsterInstance.ephemeral()
    first = _materialize(instance, partition_key=DAY)
    filled = _counts(store)
    assert all(filled[k] > 0 for k in TABLES), filled
    meta = _meta(first, "extracted_facts")
    assert meta["processed"] > 0 and meta["dagster/row_count"] > 0 and "| user |" in meta["preview"]
    assert meta["llm_backend"] == "offline" and meta["llm_requests"] == 0
    assert all(e.passed for e in first.get_asset_check_evaluations())
    assert len(first.get_asset_check_evaluations()) == 4

    again = _materialize(instance, partition_key=DAY)
    assert _counts(store) == filled
    for key in ASSET_KEYS:
        assert _meta(again, key)["processed"] == 0, key


def test_http_rerun_makes_zero_llm_requests_and_facts_are_batched(demo, monkeypatch):
    store = demo
    with LocalLLMServer(api_key="sk-test-key") as srv:
        script_offline_answers(srv)
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", "sk-test-key")
        instance = dg.DagsterInstance.ephemeral()
        first = _materialize(instance, partition_key=DAY)
        log = srv.requests("chat/completions")
        filled = _counts(store)
        again = _materialize(instance, partition_key=DAY)
        assert srv.stats()["total"] == len(log), "the second run must not call the LLM"
    assert all(filled[k] > 0 for k in TABLES), filled
    assert _counts(store) == filled
    by_task = {}
    for r in log:
        by_task[r["task"]] = by_task.get(r["task"], 0) + 1
    per_speaker: dict[str, int] = {}  # facts come from batches of one speaker's messages
    for m in messages_for_day(store, DAY):
        per_speaker[m["author"]] = per_speaker.get(m["author"], 0) + 1
    assert by_task["extract_facts"] <= sum(math.ceil(n / 50) for n in per_speaker.values())
    assert by_task["score_messages"] <= math.ceil(len(messages_for_day(store, DAY)) / 50)
    meta = _meta(first, "extracted_facts")
    assert meta["llm_backend"] == "openai" and meta["llm_requests"] == by_task["extract_facts"] and meta["prompt_tokens"] > 0
    assert "sk-test-key" not in repr(meta) and "sk-test-key" not in repr(_meta(again, "session_summaries"))


def test_single_run_backfill_over_three_partitions(demo):
    store = demo
    instance = dg.DagsterInstance.ephemeral()
    days = ["2026-11-07", "2026-11-08", "2026-11-09"]
    result = _materialize(instance, tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]})
    assert result.success
    for key in ASSET_KEYS:
        mats = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(key)]
        assert sorted(m.partition for m in mats) == days, key
    # each partition carries its own day's counts, not the run's totals (issue 11, item 3)
    scored = {m.partition: m.materialization.metadata for m in result.get_asset_materialization_events()
              if m.asset_key == dg.AssetKey("message_scores")}
    for d in days:
        assert scored[d]["processed"].value == len(messages_for_day(store, d)) > 0
        assert scored[d]["dagster/row_count"].value == len(messages_for_day(store, d))
        assert scored[d]["run_days"].value == f"{days[0]}..{days[-1]} (3 days)"
    assert len({scored[d]["processed"].value for d in days}) > 1  # the demo's days differ in size
    runs = instance.get_runs()
    assert len(runs) == 1, "a single-run backfill is one Dagster run"


def test_planted_job_change_leaves_old_works_at_invalidated(demo):
    store = demo
    instance = dg.DagsterInstance.ephemeral()
    _materialize(instance, tags={"dagster/asset_partition_range_start": DAY, "dagster/asset_partition_range_end": "2026-11-14"},
                 selection=["extracted_facts", "knowledge_graph"])
    change = next(c for c in PLANTED_CONTRADICTIONS if c.predicate == "works_at")
    rels = relations_of(store, entity_norm(f"demo:{change.user}"), "works_at")
    old = [r for r in rels if normalize_name(r["dst_name"]) == normalize_name(change.old)]
    current = [r for r in rels if r["invalidated_at"] is None]
    assert old and all(r["invalidated_at"] is not None for r in old)
    assert [normalize_name(r["dst_name"]) for r in current] == [normalize_name(change.new)]


def test_blocking_citation_check_stops_the_graph(demo):
    store = demo
    from background_pipelines.store.ledger import utcnow

    with store.begin() as conn:
        conn.execute(facts.insert().values(
            user_name="alice", kind="fact", subject="alice", predicate="works_at", object="Nowhere Inc",
            confidence=0.9, valid_from=utcnow(), source_message_ids=[10**9], day=DAY, backend="test",
            version="x", created_at=utcnow(),
        ))
    instance = dg.DagsterInstance.ephemeral()
    result = _materialize(instance, partition_key=DAY, selection=["extracted_facts", "knowledge_graph"], raise_on_error=False)
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evals["facts_cite_existing_messages"].passed is False
    assert not [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey("knowledge_graph")]


def test_pin_cap_check_fails_past_eight_auto_pins(demo):
    store = demo
    from background_pipelines.store.ledger import utcnow

    ids = [m["id"] for m in messages_for_day(store, DAY)][:9]
    with store.begin() as conn:
        conn.execute(pins.insert(), [dict(character="Nova", message_id=i, kind="auto", pinned_at=utcnow()) for i in ids])
    result = _materialize(dg.DagsterInstance.ephemeral(), partition_key=DAY, selection=["message_scores"], raise_on_error=False)
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evals["auto_pins_within_cap"].passed is False


def test_messages_data_version_changes_when_messages_arrive(demo):
    store = demo
    instance = dg.DagsterInstance.ephemeral()
    defs = _defs(Settings.from_env())
    job = defs.resolve_job_def(messages.OBSERVE_JOB)

    def observed_version():
        assert job.execute_in_process(partition_key=DAY, instance=instance).success
        record = instance.get_latest_data_version_record(dg.AssetKey("messages"), partition_key=DAY)
        return record.asset_observation.tags["dagster/data_version"]

    v1 = observed_version()
    assert v1 == observed_version()
    with store.begin() as conn:
        insert_message_rows(conn, [message_row(platform="test", external_id="late-1", channel="c", session="late", author="alice",
                                                author_kind="user", role="user", text="I live in Oslo now.",
                                                created_at=messages_for_day(store, DAY)[-1]["created_at"])])
    assert observed_version() != v1


def test_embeddings_skip_same_model_and_record_failed_batches(bgp_env, store, monkeypatch):
    """Over HTTP (the local server's /embeddings): a failed batch is FAILED in the ledger with its reason,
    the other batches are saved; the next run embeds only the failed ones."""
    from background_pipelines.cognition.embedding import embed_messages
    from background_pipelines.llm import get_embedder
    from background_pipelines.store import ledger

    monkeypatch.setenv("BGP_START_DATE", DAY)
    monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "openai")
    monkeypatch.setenv("BGP_LLM_MAX_ATTEMPTS", "1")
    load_demo(store)
    n = len(messages_for_day(store, DAY))
    with LocalLLMServer() as srv:
        monkeypatch.setenv("BGP_EMBEDDING_BASE_URL", srv.base_url)
        settings = Settings.from_env()
        embedder = get_embedder(settings)
        srv.fail_next(1, status=500, path="embeddings")
        first = embed_messages(store, embedder, settings, DAY)
        assert first.failed == 100 and first.processed == n - 100
        assert first.extra["success"] == n - 100 and first.extra["embedding_model"] == embedder.model_id
        assert {r["error"] for r in ledger.failures(store, "embed")} and all(r["error"] for r in ledger.failures(store, "embed"))
        second = embed_messages(store, embedder, settings, DAY)
        assert second.processed == 100 and second.skipped == n - 100
        third = embed_messages(store, embedder, settings, DAY)
        assert third.processed == 0 and third.skipped == n and third.row_count == n
