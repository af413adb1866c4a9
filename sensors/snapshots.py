"""Store snapshots on a schedule, beside the nightly backup: every BGP_SNAPSHOT_EVERY_HOURS (6) the
`store_backup` asset writes a snapshot and rotates snapshots to the newest 5 (nightly backups keep
their own 14). It calls no LLM, so it stays with BGP_CHAT_LLM_ENABLED=false."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from assets.latency import ACTION
from background_pipelines.config import Settings
from sensors._common import schedule_status
from sensors.jobs import NO_RUN_RETRY_ON_STEP_FAILURE

snapshot_job = dg.define_asset_job(
    "snapshot_job",
    selection=dg.AssetSelection.assets("store_backup"),
    # baked in, so a launch from the UI is a snapshot too (the nightly job writes nightly backups)
    config={"ops": {"store_backup": {"config": {"snapshot": True, "force": False}}}},
    tags={**ACTION.run_tags(), "bgp/job": "snapshot_job", **NO_RUN_RETRY_ON_STEP_FAILURE},
    description="A store snapshot (store_backup with snapshot: true); snapshots keep the newest 5",
)


def build_snapshot_schedule(settings: Settings) -> dg.ScheduleDefinition:
    hours = settings.snapshot_every_hours

    @dg.schedule(
        name="snapshot_schedule", job=snapshot_job, cron_schedule=f"45 */{hours} * * *" if hours < 24 else "45 0 * * *",
        execution_timezone="UTC", default_status=schedule_status(settings),
        description=f"Every {hours} h: a store snapshot, keeping the newest 5",
    )
    def snapshot_schedule(context: dg.ScheduleEvaluationContext):
        t = context.scheduled_execution_time or datetime.now(timezone.utc)
        t = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
        return dg.RunRequest(run_key=f"snapshot:{t.astimezone(timezone.utc):%Y-%m-%dT%H:%M}")

    return snapshot_schedule


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=[snapshot_job], schedules=[build_snapshot_schedule(settings)])
