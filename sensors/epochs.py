"""The nightly epoch synthesis: `epochs_job` over yesterday's partition (in BGP_TIMEZONE), an hour
after the nightly passes so the day's facts and graph are folded first."""

from __future__ import annotations

import dagster as dg

from assets.epochs import TRIGGER
from assets.latency import COGNITION
from background_pipelines.config import Settings
from sensors.jobs import NO_RUN_RETRY_ON_STEP_FAILURE, TRIGGER_TAG, BuiltJob, asset_catalog
from sensors.schedules import partition_schedule


def build_epochs_job(settings: Settings) -> BuiltJob | None:
    keys = sorted(k for k, (tags, _p) in asset_catalog(settings).items() if tags.get(TRIGGER_TAG) == TRIGGER)
    if not keys:
        return None
    job = dg.define_asset_job("epochs_job", selection=dg.AssetSelection.assets(*keys),
                              tags={**COGNITION.run_tags(), "bgp/job": "epochs_job", **NO_RUN_RETRY_ON_STEP_FAILURE},
                              description="Nightly knowledge epochs per character for a day (cognition class)")
    return BuiltJob(job, tuple(keys), True)


def definitions(settings: Settings) -> dg.Definitions:
    built = build_epochs_job(settings)
    if built is None:
        return dg.Definitions()
    schedule = partition_schedule("epochs_schedule", built, (settings.nightly_hour + 1) % 24, settings,
                                  "Nightly knowledge epochs for yesterday's partition (an hour after the nightly passes)")
    return dg.Definitions(jobs=[built.job], schedules=[schedule])
