"""What is known about a user, in the Dagster UI: users_sensor makes every account a partition of
user_memory, materializing one shows that person's facts (with validity and sources), summaries and
graph as metadata, never another account's, and forget_job drops the partition and its metadata."""

from __future__ import annotations

import dagster as dg

from assets.forget import forget_job
from assets.resources import StoreResource
from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.graph import update_knowledge_graph
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.ingest import record_messages
from background_pipelines.llm import Gateway

DAY = "2026-11-02"
TG, DC = "telegram:user111", "discord:900100"


def _seed(store):
    lines = [("telegram", "user111", "I work as a nurse."), ("telegram", "user111", "I live in Lisbon."),
             ("discord", 900100, "I work as a teacher.")]
    record_messages([
        dict(platform=p, external_id=f"m{i}", channel="dm/Nova/alice", session=f"s-{p}", author="alice", author_id=uid,
             author_kind="user", text=text, created_at=f"{DAY}T10:{i:02d}:00Z")
        for i, (p, uid, text) in enumerate(lines)
    ], store)
    settings = Settings.from_env()
    gateway = Gateway.from_settings(settings, store)
    extract_facts(store, gateway, settings, DAY)
    update_knowledge_graph(store, gateway, settings, DAY)


def _tick(defs, instance, db_url, cursor=None):
    """One users_sensor evaluation, its partition requests applied as the daemon applies them."""
    sensor = defs.get_repository_def().get_sensor_def("users_sensor")
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"store": StoreResource(database_url=db_url)}) as ctx:
        data = sensor.evaluate_tick(ctx)
    for request in data.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return data


def test_each_account_is_a_partition_whose_materialization_shows_what_is_known(bgp_env, store, db_url, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAY)
    _seed(store)
    defs = build_definitions(Settings.from_env())
    asset = next(a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.key == dg.AssetKey("user_memory"))
    with dg.DagsterInstance.ephemeral() as instance:
        data = _tick(defs, instance, db_url)
        assert set(instance.get_dynamic_partitions("users")) == {TG, DC}
        assert _tick(defs, instance, db_url, data.cursor).skip_message.startswith("no new user accounts")

        result = dg.materialize([asset], partition_key=TG, instance=instance, resources={"store": StoreResource(database_url=db_url)})
        assert result.success
        (mat,) = result.asset_materializations_for_node("user_memory")
        meta = {k: v.value for k, v in mat.metadata.items()}
        assert meta["facts"] >= 2 and meta["current_facts"] >= 2 and meta["graph_neighbours"] >= 1 and meta["person"] == TG
        preview = meta["preview"]
        assert "nurse" in preview and "Lisbon" in preview and "(current)" in preview and "msgs " in preview
        assert "teacher" not in preview, "the other alice's memory"
        # what the UI reads back: the partition's latest materialization
        event = instance.get_latest_materialization_event(dg.AssetKey("user_memory"))
        assert event.dagster_event.partition == TG

        run = forget_job.execute_in_process(
            run_config={"ops": {"forget_op": {"config": {"user": TG, "dry_run": False}}}},
            resources={"store": StoreResource(database_url=db_url)}, instance=instance,
        )
        assert run.success
        assert set(instance.get_dynamic_partitions("users")) == {DC}
        assert instance.get_latest_materialization_event(dg.AssetKey("user_memory")) is None
