"""`make demo`: materialize every asset of the code location once, headless, over the demo data's
days, then print what the store holds. Exits non-zero when a run fails or an asset wrote nothing.

Uses the Dagster instance at $DAGSTER_HOME, so the runs show up in the UI afterwards.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta

import dagster as dg
from sqlalchemy import func, select

from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.store import open_store
from background_pipelines.store.schema import messages, metadata


def _demo_days(store) -> list[str]:
    with store.connect() as conn:
        first, last = conn.execute(select(func.min(messages.c.day), func.max(messages.c.day))).one()
    if first is None:
        sys.exit("the store holds no messages: run `bgp demo-data` first")
    d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
    return [(d0 + timedelta(days=i)).isoformat() for i in range((d1 - d0).days + 1)]


def main() -> int:
    settings = Settings.from_env()
    store = open_store(settings.database_url)
    defs = build_definitions(settings)
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    instance = dg.DagsterInstance.get()
    days = _demo_days(store)

    # Materializable assets split by partitioning; observable/external specs are not run here.
    daily, unpartitioned = [], []
    for key in graph.materializable_asset_keys:
        (daily if graph.get(key).partitions_def is not None else unpartitioned).append(key)
    job_all = defs.resolve_implicit_global_asset_job_def()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the summary is the output
    failed = 0
    for day in days:
        result = job_all.execute_in_process(
            instance=instance, partition_key=day, asset_selection=sorted(daily), raise_on_error=False,
            run_config=quiet,
        ) if daily else None
        if result is not None and not result.success:
            failed += 1
            print(f"{day}: run {result.run_id} FAILED", file=sys.stderr)
        elif result is not None:
            print(f"{day}: run {result.run_id} ok")
    if unpartitioned:
        result = job_all.execute_in_process(
            instance=instance, asset_selection=sorted(unpartitioned), raise_on_error=False, run_config=quiet
        )
        print(f"unpartitioned: run {result.run_id} {'ok' if result.success else 'FAILED'}")
        failed += 0 if result.success else 1

    print("\nrows per table:")
    with store.connect() as conn:
        for table in metadata.sorted_tables:
            n = conn.execute(select(func.count()).select_from(table)).scalar_one()
            print(f"  {table.name:<24} {n:>8}")
    if failed:
        print(f"\n{failed} run(s) failed", file=sys.stderr)
        return 1
    print(f"\ndemo done: {len(days)} days, {len(daily)} daily and {len(unpartitioned)} other assets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
