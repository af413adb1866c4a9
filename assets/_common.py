"""What every asset decorator shares, declared once: owners, kinds tags, the latency class's pool,
retry policy and tags, daily partitions with single-run backfills, and the MaterializeResult built
from an engine StageResult."""

from __future__ import annotations

from typing import Any

import dagster as dg

from assets.latency import LatencyClass
from assets.partitions import daily_partitions
from background_pipelines.cognition.result import StageResult, failure_rate_problem
from background_pipelines.config import Settings

OWNERS = ["team:cognition"]


def store_kind(settings: Settings) -> str:
    return "postgres" if settings.database_url.startswith("postgresql") else "sqlite"


def kinds(settings: Settings, calls_llm: bool) -> set[str]:
    llm = {"openai" if settings.llm_base_url else "llm"} if calls_llm else set()
    return {"python", store_kind(settings)} | llm


def asset_args(
    settings: Settings,
    *,
    group_name: str,
    latency: LatencyClass,
    calls_llm: bool,
    trigger: str,
    daily: bool = True,
    version: str | None = None,
    owners: list[str] = OWNERS,
) -> dict[str, Any]:
    """Keyword arguments for `dg.asset`: group, owners, kinds, latency-class pool/retry/tags, and for
    daily assets the partitions with a single-run backfill policy."""
    args: dict[str, Any] = dict(
        group_name=group_name,
        owners=owners,
        kinds=kinds(settings, calls_llm),
        tags={"bgp/latency_class": latency.name, "bgp/trigger": trigger},
        pool=latency.pool_for(calls_llm),
        retry_policy=latency.retry_policy(),
        code_version=version,
    )
    if daily:
        args.update(partitions_def=daily_partitions(settings), backfill_policy=dg.BackfillPolicy.single_run())
    return args


def materialize_result(
    context: dg.AssetExecutionContext, name: str, result: StageResult, nothing: str = "_nothing to do_"
) -> dg.MaterializeResult:
    """Metadata a person reads: counts, LLM usage, dagster/row_count and the markdown preview."""
    if result.failed:
        context.log.warning(f"{name}: {result.failed} item(s) failed (see the processing ledger): {'; '.join(result.errors[:3])}")
    if result.pending:
        context.log.info(f"{name}: {result.pending} item(s) pending (budget, or a day not over yet)")
    meta = {k: v for k, v in result.metadata().items() if v is not None}
    meta["dagster/row_count"] = dg.MetadataValue.int(int(result.row_count))
    meta["preview"] = dg.MetadataValue.md(result.preview or nothing)
    problem = failure_rate_problem(result, Settings.from_env().failure_rate_threshold)
    if problem:  # not green: the run fails, so the failure sensor alerts; what was done stays done
        raise dg.Failure(description=problem, metadata=meta, allow_retries=False)
    return dg.MaterializeResult(metadata=meta)


def ranged_materialize_result(
    context: dg.AssetExecutionContext, name: str, result: StageResult, nothing: str = "_nothing to do_"
) -> dg.MaterializeResult:
    """Metadata of a run over one or many day partitions: each partition's materialization gets its
    own day's counts, row count and preview (context.add_asset_metadata with partition_key) and the
    run's range. What belongs to the run as a whole (LLM usage: batches span days; run-wide
    counters) goes on the range's last day only: repeated on each of a year's partitions it was
    counted 365 times by anyone summing cost over partitions, and every repeat is serialised into
    Dagster's event log (~40% of a materialization event)."""
    if result.failed:
        context.log.warning(f"{name}: {result.failed} item(s) failed (see the processing ledger): {'; '.join(result.errors[:3])}")
    if result.pending:
        context.log.info(f"{name}: {result.pending} item(s) pending (budget, or a day not over yet)")
    days = list(context.partition_keys)
    by_day = result.by_day if result.by_day else {days[0]: result} if len(days) == 1 else {}
    run_days = f"{days[0]}..{days[-1]} ({len(days)} days)" if len(days) > 1 else days[0]
    per_day: dict[str, dict] = {}
    for day in days:
        r = by_day.get(day)
        if r is None:  # not in the engine's answer: say so rather than show another day's numbers
            per_day[day] = {"processed": 0, "preview": dg.MetadataValue.md(nothing)}
            continue
        meta = {k: v for k, v in r.counts().items() if v is not None}
        meta["dagster/row_count"] = dg.MetadataValue.int(int(r.row_count))
        meta["preview"] = dg.MetadataValue.md(r.preview or nothing)
        per_day[day] = meta
    per_day_keys = {k for meta in per_day.values() for k in meta}
    run_meta: dict = {k: v for k, v in result.usage.as_metadata().items() if v is not None}
    # run-wide counters the days do not split (pins evicted under a per-character cap, graph size)
    run_meta.update({f"run_{k}": v for k, v in result.extra.items() if k not in per_day_keys and v is not None})
    for day, meta in per_day.items():
        context.add_asset_metadata({**meta, "run_days": run_days, **(run_meta if day == days[-1] else {})}, partition_key=day)
    problem = failure_rate_problem(result, Settings.from_env().failure_rate_threshold)
    if problem:  # not green: the run fails, so the failure sensor alerts; what was done stays done
        raise dg.Failure(description=problem, metadata={**run_meta, "run_days": run_days,
                                                        **{k: v for k, v in result.counts().items() if v is not None}},
                         allow_retries=False)
    return dg.MaterializeResult()
