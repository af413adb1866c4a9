"""The lore digest's job and sensor: every 20 minutes, while some lore document still owes chunks,
one run of `lore_digest` (a bounded slice of each document). The sensor reads one small table; a run
already queued or in flight is not doubled."""

from __future__ import annotations

import time

import dagster as dg

from assets.latency import COGNITION
from assets.lore import TRIGGER
from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.store.lore import owed_summary
from sensors._common import ACTIVE_STATUSES, sensor_status
from sensors.jobs import NO_RUN_RETRY_ON_STEP_FAILURE, TRIGGER_TAG, asset_catalog

INTERVAL_SECONDS = 20 * 60


def build_lore_job(settings: Settings) -> dg.UnresolvedAssetJobDefinition | None:
    keys = sorted(k for k, (tags, _p) in asset_catalog(settings).items() if tags.get(TRIGGER_TAG) == TRIGGER)
    if not keys:
        return None
    return dg.define_asset_job(
        "lore_digest_job", selection=dg.AssetSelection.assets(*keys),
        tags={**COGNITION.run_tags(), "bgp/job": "lore_digest_job", **NO_RUN_RETRY_ON_STEP_FAILURE},
        description="One slice of every pending lore document into the knowledge graph (cognition class)",
    )


def build_lore_sensor(settings: Settings, job) -> dg.SensorDefinition:
    @dg.sensor(
        name="lore_digest_sensor", job=job, minimum_interval_seconds=INTERVAL_SECONDS, default_status=sensor_status(settings),
        description="Every 20 min while a lore document owes chunks: one lore_digest run (a slice of each document)",
    )
    def lore_digest_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
        s = store.store()
        try:
            pending, fingerprint = owed_summary(s)
        finally:
            s.engine.dispose()
        if not pending:
            return dg.SkipReason("no lore document owes a chunk")
        live = context.instance.get_run_records(filters=dg.RunsFilter(job_name=job.name, statuses=list(ACTIVE_STATUSES)), limit=1)
        if live:
            return dg.SkipReason(f"a lore_digest run is already queued or running ({live[0].dagster_run.run_id[:8]})")
        # the same owed state within one interval is one run, whichever daemon or retried tick asks
        bucket = int(time.time()) // INTERVAL_SECONDS
        return dg.RunRequest(run_key=f"lore_digest:{fingerprint}:{bucket}", tags={"bgp/trigger_reason": f"{pending} document(s) owe chunks"})

    return lore_digest_sensor


def definitions(settings: Settings) -> dg.Definitions:
    job = build_lore_job(settings)
    if job is None:
        return dg.Definitions()
    return dg.Definitions(jobs=[job], sensors=[build_lore_sensor(settings, job)])
