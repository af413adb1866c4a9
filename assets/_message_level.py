"""The shared shape of the message-level assets: daily partitions, single-run backfills, a `force`
config, the latency class's pool and retry policy, and a MaterializeResult built from the engine's
StageResult. Family modules (messages, signals, summaries, knowledge) declare assets with it."""

from typing import Callable, Sequence

import dagster as dg
from pydantic import Field

from assets._common import asset_args, ranged_materialize_result
from assets.errors import retry_only_healable
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
    deps: Sequence[str | dg.AssetDep],
    worker: str | None,  # "gateway", "embedder" or None: what the engine function takes second
    calls_llm: bool,
    trigger: str,
) -> dg.AssetsDefinition:
    """A daily-partitioned asset that runs `engine_fn` once over the partition keys of the run."""

    @dg.asset(
        name=name,
        deps=list(deps),
        description=description,
        **asset_args(settings, group_name=group_name, latency=latency, calls_llm=calls_llm, trigger=trigger, version=version),
    )
    def _asset(context: dg.AssetExecutionContext, config: StageConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        s = store.store()
        helper = llm.gateway(s) if worker == "gateway" else llm.embedder() if worker == "embedder" else None
        # one call over the run's whole range (a single-run backfill): reads and writes per range,
        # and each partition gets its own day's counts
        days = list(context.partition_keys)
        with retry_only_healable(name):  # a timeout or lost connection is retried; a bug or bad input is not
            result = engine_fn(s, helper, store.settings(), days, force=config.force, version=version, run_id=context.run_id)
        return ranged_materialize_result(context, name, result, "_nothing to do: every item is done at this code version_")

    return _asset
