"""The jobs a person launches (Launchpad, `dagster job launch`): classification experiments and
analysis runs. No schedule or sensor starts them."""

from __future__ import annotations

import dagster as dg

from assets.latency import COGNITION
from background_pipelines.config import Settings
from sensors.jobs import NO_RUN_RETRY_ON_STEP_FAILURE, asset_catalog

JOBS = {"classification_experiment_job": "classification_experiment", "analysis_run_job": "analysis_proposals"}


def build_analysis_jobs(settings: Settings) -> list[dg.UnresolvedAssetJobDefinition]:
    catalog = asset_catalog(settings)
    return [
        dg.define_asset_job(
            name, selection=dg.AssetSelection.assets(key), tags={**COGNITION.run_tags(), "bgp/job": name, **NO_RUN_RETRY_ON_STEP_FAILURE},
            description=f"User-initiated {key.replace('_', ' ')} (typed config in the Launchpad)",
        )
        for name, key in JOBS.items()
        if key in catalog
    ]


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=build_analysis_jobs(settings))
