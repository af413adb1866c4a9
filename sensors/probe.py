"""The endpoint probe's job and its schedule (every 2 h): finds refused or exhausted keys and dead
endpoints before live requests do. It calls no chat model for work, so it stays with
BGP_CHAT_LLM_ENABLED=false (the chat endpoint is then reported skipped)."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from assets.latency import ACTION
from background_pipelines.config import Settings
from sensors._common import schedule_status
from sensors.jobs import NO_RUN_RETRY_ON_STEP_FAILURE

PROBE_CRON = "0 */2 * * *"

probe_job = dg.define_asset_job(
    "probe_job",
    selection=dg.AssetSelection.assets("endpoint_probe"),
    tags={**ACTION.run_tags(), "bgp/job": "probe_job", **NO_RUN_RETRY_ON_STEP_FAILURE},
    description="Probe the configured LLM and embedding endpoints and keys (endpoint_probe)",
)


def build_probe_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="probe_schedule", job=probe_job, cron_schedule=PROBE_CRON, execution_timezone="UTC",
        default_status=schedule_status(settings),
        description="Every 2 h: endpoint_probe (a refused key or a dead endpoint fails the run and alerts)",
    )
    def probe_schedule(context: dg.ScheduleEvaluationContext):
        t = context.scheduled_execution_time or datetime.now(timezone.utc)
        t = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
        return dg.RunRequest(run_key=f"probe:{t.astimezone(timezone.utc):%Y-%m-%dT%H}")

    return probe_schedule


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=[probe_job], schedules=[build_probe_schedule(settings)])
