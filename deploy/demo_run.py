"""`make demo`: materialize every asset of the code location once, headless, over every day the store
holds messages (any range: the demo world, or an imported export from years ago), then print what the
store holds. Daily assets run as single-run backfills, as the UI would launch them: one per stretch
of message days (a gap of more than GAP_DAYS empty days starts a new one, so an export from 2024 next
to this month's messages does not materialize the empty years between). Exits non-zero when a run
fails.

Uses the Dagster instance at $DAGSTER_HOME, so the runs show up in the UI afterwards.
"""

from __future__ import annotations

import sys
from datetime import date

import dagster as dg
from sqlalchemy import func, select

from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.history import history_span, resolve_start
from background_pipelines.store import open_store
from background_pipelines.store.message_views import day_versions
from background_pipelines.store.schema import metadata

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
GAP_DAYS = 7


def stretches(days: list[str], gap: int = GAP_DAYS) -> list[tuple[str, str]]:
    """(first, last) of each stretch of sorted message days no more than `gap` empty days apart."""
    out: list[list[str]] = []
    for d in days:
        if out and (date.fromisoformat(d) - date.fromisoformat(out[-1][1])).days <= gap + 1:
            out[-1][1] = d
        else:
            out.append([d, d])
    return [(a, b) for a, b in out]


def main() -> int:
    settings = Settings.from_env()
    store = open_store(settings.database_url)
    span = history_span(store)
    if span.report():
        print(span.report(), file=sys.stderr)
    if span.first_day is None:
        sys.exit("the store holds no messages dated in a day partition: run `bgp demo-data` or `bgp ingest FILE` first")
    settings = resolve_start(settings)
    defs = build_definitions(settings)
    graph = defs.get_repository_def().asset_graph
    instance = dg.DagsterInstance.get()
    # BGP_START_DATE may start the partitions after the first message: process what they cover.
    first = max(span.first_day, settings.start_date)
    last = span.last_day
    message_days = sorted(d for d in day_versions(store) if first <= d <= last)

    # Materializable assets split by partitioning; observable/external specs are not run here.
    # Per-user views (user_memory, dynamic partitions added by users_sensor) are materialized from the UI,
    # and assets that need a person's config are launched with it.
    daily, unpartitioned = [], []
    for key in graph.materializable_asset_keys:
        schema = graph.get(key).assets_def.op.config_schema
        if schema is not None and schema.as_field().is_required:
            continue  # run on request with a person's config (analysis runs, classification experiments)
        pdef = graph.get(key).partitions_def
        if pdef is None:
            unpartitioned.append(key)
        elif isinstance(pdef, dg.TimeWindowPartitionsDefinition):
            daily.append(key)
    job_all = defs.resolve_implicit_global_asset_job_def()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the summary is the output
    failed = 0
    for a, b in stretches(message_days) if daily else []:
        result = job_all.execute_in_process(
            instance=instance, asset_selection=sorted(daily), raise_on_error=False, run_config=quiet,
            tags={RANGE_START: a, RANGE_END: b},
        )
        print(f"{a}..{b}: run {result.run_id} {'ok' if result.success else 'FAILED'}")
        failed += 0 if result.success else 1
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
    print(f"\ndemo done: {first}..{last}, {len(daily)} daily and {len(unpartitioned)} other assets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
