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
