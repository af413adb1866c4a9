"""The shared shape of the message-level assets: daily partitions, single-run backfills, a `force`
config, the latency class's pool and retry policy, and a MaterializeResult built from the engine's
StageResult. Family modules (messages, signals, summaries, knowledge) declare assets with it."""

from typing import Callable, Sequence

import dagster as dg
from pydantic import Field

from assets._common import asset_args, materialize_result
from assets.latency import LatencyClass
from assets.resources import LLMResource, StoreResource
from background_pipelines.cognition.result import StageResult
from background_pipelines.config import Settings

class StageConfig(dg.Config):
    force: bool = Field(default=False, description="Reprocess every item of the partition(s), done or not (backfills).")


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
        description=description,
        **asset_args(settings, group_name=group_name, latency=latency, calls_llm=calls_llm, trigger=trigger, version=version),
    )
    def _asset(context: dg.AssetExecutionContext, config: StageConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s = store.store()
        helper = llm.gateway(s) if worker == "gateway" else llm.embedder() if worker == "embedder" else None
        result: StageResult | None = None
        for day in context.partition_keys:
            r = engine_fn(s, helper, store.settings(), day, force=config.force, version=version, run_id=context.run_id)
            result = r if result is None else result.merge(r)
        return materialize_result(context, name, result, "_nothing to do: every item is done at this code version_")

    return _asset
