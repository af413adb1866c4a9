"""The shared shape of the message-level assets: daily partitions, single-run backfills, a `force`
config, the latency class's pool and retry policy, and a MaterializeResult built from the engine's
StageResult. Family modules (messages, signals, summaries, knowledge) declare assets with it."""

from typing import Callable, Sequence

import dagster as dg
from pydantic import Field

from assets.latency import LatencyClass
from assets.partitions import daily_partitions
from assets.resources import LLMResource, StoreResource
from background_pipelines.cognition.result import StageResult
from background_pipelines.config import Settings

OWNERS = ["team:cognition"]


class StageConfig(dg.Config):
    force: bool = Field(default=False, description="Reprocess every item of the partition(s), done or not (backfills).")


def store_kind(settings: Settings) -> str:
    return "postgres" if settings.database_url.startswith("postgresql") else "sqlite"


def kinds(settings: Settings, calls_llm: bool) -> set[str]:
    return {"python", store_kind(settings)} | ({"openai"} if calls_llm and settings.llm_base_url else {"llm"} if calls_llm else set())


def materialize_result(result: StageResult) -> dg.MaterializeResult:
    meta = {k: v for k, v in result.metadata().items() if v is not None}
    meta["dagster/row_count"] = dg.MetadataValue.int(int(result.row_count))
    meta["preview"] = dg.MetadataValue.md(result.preview or "_nothing to do: every item is done at this code version_")
    return dg.MaterializeResult(metadata=meta)


def stage_asset(
    settings: Settings,
    *,
    name: str,
    engine_fn: Callable[..., StageResult],
    version: str,
    description: str,
    group_name: str,
    latency: LatencyClass,
    deps: Sequence[str],
    worker: str | None,  # "gateway", "embedder" or None: what the engine function takes second
    calls_llm: bool,
    trigger: str,
) -> dg.AssetsDefinition:
    """A daily-partitioned asset that runs `engine_fn` for each partition key of the run."""

    @dg.asset(
        name=name,
        deps=list(deps),
        partitions_def=daily_partitions(settings),
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=description,
        group_name=group_name,
        owners=OWNERS,
        kinds=kinds(settings, calls_llm),
        tags={"bgp/latency_class": latency.name, "bgp/trigger": trigger},
        pool=latency.pool_for(calls_llm),
        retry_policy=latency.retry_policy(),
        code_version=version,
    )
    def _asset(context: dg.AssetExecutionContext, config: StageConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s = store.store()
        helper = llm.gateway(s) if worker == "gateway" else llm.embedder() if worker == "embedder" else None
        result: StageResult | None = None
        for day in context.partition_keys:
            r = engine_fn(s, helper, store.settings(), day, force=config.force, version=version, run_id=context.run_id)
            result = r if result is None else result.merge(r)
        if result.failed:
            context.log.warning(f"{name}: {result.failed} items failed (see the processing ledger): {'; '.join(result.errors[:3])}")
        return materialize_result(result)

    return _asset
