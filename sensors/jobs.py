"""The jobs that sensors and schedules start, built from the assets actually present.

A job selects its default asset keys (the contract's names) plus any asset tagged
`bgp/trigger=<trigger>`; keys that no module defines (flag off, not written yet) are left out, and
a job with nothing to select is not defined, so its sensor or schedule disappears with it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dagster as dg

from assets.latency import ACTION, COGNITION, SENSORY, LatencyClass
from assets.partitions import daily_partitions
from assets.resources import StoreResource
from background_pipelines.cleanup import DEFAULT_RETENTION_DAYS, run_cleanup
from background_pipelines.config import Settings

TRIGGER_TAG = "bgp/trigger"
# A failed step was already retried by its op's policy if a retry could heal it (assets/errors.py);
# the instance's run retries are for runs that died (a lost worker), never a second pass at a user error.
NO_RUN_RETRY_ON_STEP_FAILURE = {"dagster/retry_on_asset_or_op_failure": "false"}


@dataclass(frozen=True)
class JobSpec:
    name: str
    trigger: str  # assets tagged bgp/trigger=<trigger> join the job
    default_keys: tuple[str, ...]
    latency: LatencyClass
    calls_llm: bool  # left out when BGP_CHAT_LLM_ENABLED=false
    flag: str | None = None  # Settings field that must be true


JOB_SPECS = (
    JobSpec("scoring_job", "scoring", ("message_scores", "message_embeddings", "relationship_scores"), SENSORY, False),
    JobSpec("summaries_job", "summaries", ("session_summaries",), COGNITION, True),
    JobSpec("knowledge_job", "knowledge", ("extracted_facts", "knowledge_graph"), SENSORY, True, "enable_runtime_fact_extraction"),
    JobSpec("reflections_job", "reflections", ("reflections",), COGNITION, True),
    JobSpec("insights_job", "insights", ("insights",), COGNITION, True),
    # reflections are also swept nightly (their sensor handles the day's new summaries)
    JobSpec("nightly_job", "nightly", ("diaries", "dreams", "goal_strategies", "reflections", "gossip"), COGNITION, True),
    JobSpec("channel_summaries_job", "channel", ("channel_summaries",), COGNITION, True),
    JobSpec("nightly_upkeep_job", "upkeep", ("graph_consolidation", "graph_decay", "graph_enrichment", "store_backup"), ACTION, False),
    JobSpec("drift_job", "daily", ("drift_observations",), COGNITION, False),  # embeddings only
    JobSpec("weekly_upkeep_job", "weekly", ("graph_pruning",), ACTION, False),
)
SPECS = {s.name: s for s in JOB_SPECS}


@dataclass(frozen=True)
class BuiltJob:
    job: dg.UnresolvedAssetJobDefinition
    keys: tuple[str, ...]
    partitioned: bool  # True: runs take a daily partition key


@functools.lru_cache(maxsize=8)
def asset_catalog(settings: Settings) -> dict[str, tuple[dict, object]]:
    """{key: (tags, partitions_def)} of every materializable asset the assets/ modules define."""
    import assets

    catalog: dict[str, tuple[dict, object]] = {}
    for name in assets.family_modules():
        built = assets.module_definitions(name, settings)
        if built is None:
            continue
        for a in built.assets or []:
            if isinstance(a, dg.AssetSpec):
                catalog[a.key.to_user_string()] = (dict(a.tags or {}), a.partitions_def)
            elif isinstance(a, dg.AssetsDefinition) and a.is_materializable:
                for spec in a.specs:
                    catalog[spec.key.to_user_string()] = (dict(spec.tags or {}), a.partitions_def)
    return catalog


def _enabled(spec: JobSpec, settings: Settings) -> bool:
    if spec.calls_llm and not settings.chat_llm_enabled:
        return False
    return spec.flag is None or bool(getattr(settings, spec.flag))


@functools.lru_cache(maxsize=8)
def asset_jobs(settings: Settings) -> dict[str, BuiltJob]:
    """{job name: BuiltJob} for every enabled job whose selection is not empty."""
    catalog = asset_catalog(settings)
    daily = daily_partitions(settings)
    out: dict[str, BuiltJob] = {}
    for spec in JOB_SPECS:
        if not _enabled(spec, settings):
            continue
        keys = [
            k for k, (tags, pdef) in sorted(catalog.items())
            if (k in spec.default_keys or tags.get(TRIGGER_TAG) == spec.trigger)
            # one run = one daily partition: other partitionings cannot share these jobs
            and (pdef is None or pdef == daily)
        ]
        if not keys:
            continue
        job = dg.define_asset_job(
            spec.name,
            selection=dg.AssetSelection.assets(*keys),
            tags={**spec.latency.run_tags(), "bgp/job": spec.name, **NO_RUN_RETRY_ON_STEP_FAILURE},
            description=f"{spec.trigger} run of {', '.join(keys)} ({spec.latency.name} class)",
            # no executor_def: every job takes the Definitions' executor (BGP_EXECUTOR, in_process by
            # default, since a step subprocess re-imports the project for seconds of work)
        )
        out[spec.name] = BuiltJob(job, tuple(keys), any(catalog[k][1] is not None for k in keys))
    return out


# -- cleanup: not an asset (it derives nothing), an op job over the engine's cleanup -------------

@dg.op(description="Delete LLM cache rows, superseded ledger rows and finished scheduled prompts older than the retention (see cleanup.py)")
def cleanup_store(context, store: StoreResource) -> None:
    s = store.store()
    try:
        result = run_cleanup(s, DEFAULT_RETENTION_DAYS)
    finally:
        s.engine.dispose()
    context.log.info(f"cleanup: {result.as_dict()}")
    context.add_output_metadata(
        {"llm_cache_deleted": result.llm_cache_deleted, "ledger_deleted": result.ledger_deleted,
         "prompts_deleted": result.prompts_deleted, "prompt_fires_deleted": result.prompt_fires_deleted,
         "actions_deleted": result.actions_deleted, "cutoff": result.cutoff.isoformat(timespec="seconds")}
    )


@dg.job(name="cleanup_job", tags={**ACTION.run_tags(), "bgp/job": "cleanup_job", **NO_RUN_RETRY_ON_STEP_FAILURE},
        description="48-hourly cleanup of cache rows, superseded ledger rows and finished scheduled prompts older than 7 days")
def cleanup_job():
    cleanup_store()


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=[b.job for b in asset_jobs(settings).values()] + [cleanup_job])
