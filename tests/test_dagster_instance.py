"""The code location loads and runs: a real materialization against a Dagster instance stored in
PostgreSQL (the shipped deploy/postgres/dagster.yaml), and a single-run backfill over a day range."""

from datetime import datetime, timedelta, timezone

import dagster as dg
from sqlalchemy import func, select

from background_pipelines import record_messages
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.store import open_store
from background_pipelines.store.schema import message_scores


def _chat(day: datetime, n: int, session: str) -> list[dict]:
    return [
        dict(
            platform="app", external_id=f"{session}-{i}", channel="dm", session=session,
            author="alice" if i % 2 == 0 else "Mira", author_kind="user" if i % 2 == 0 else "character",
            role="user" if i % 2 == 0 else "assistant",
            text=f"I work at Initech as a nurse and my dog Biscuit is sick, message {i}" if i % 2 == 0 else "Oh no, tell me more.",
            created_at=(day + timedelta(minutes=i)).isoformat(),
        )
        for i in range(n)
    ]


def test_materialize_against_postgres_instance(bgp_env, pg_dagster_instance):
    store = open_store(bgp_env)
    record_messages(_chat(datetime(2026, 11, 3, 9, tzinfo=timezone.utc), 12, "s1"), store)
    defs = build_definitions(Settings.from_env())
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=pg_dagster_instance, partition_key="2026-11-03",
        asset_selection=[dg.AssetKey("message_scores")],
    )
    assert result.success
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message_scores)).scalar_one() == 12
    # The run and its materialization are recorded in PostgreSQL.
    records = pg_dagster_instance.fetch_materializations(dg.AssetKey("message_scores"), limit=5).records
    assert [r.partition_key for r in records] == ["2026-11-03"]
    assert type(pg_dagster_instance.run_storage).__name__ == "PostgresRunStorage"


def test_single_run_backfill_over_three_days(bgp_env):
    store = open_store(bgp_env)
    for d in (1, 2, 3):
        record_messages(_chat(datetime(2026, 11, d, 9, tzinfo=timezone.utc), 6, f"s{d}"), store)
    defs = build_definitions(Settings.from_env())
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            asset_selection=[dg.AssetKey("message_scores")],
            tags={"dagster/asset_partition_range_start": "2026-11-01", "dagster/asset_partition_range_end": "2026-11-03"},
        )
        assert result.success
        keys = sorted(r.partition_key for r in instance.fetch_materializations(dg.AssetKey("message_scores"), limit=10).records)
    assert keys == ["2026-11-01", "2026-11-02", "2026-11-03"]
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message_scores)).scalar_one() == 18
