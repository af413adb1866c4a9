"""Helpers shared by the sensor and schedule modules: default status and run requests from plans."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from assets.partitions import daily_partitions
from background_pipelines.config import Settings
from background_pipelines.triggers import Request
from sensors.jobs import BuiltJob


def sensor_status(settings: Settings) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if settings.automation_default_status == "running" else dg.DefaultSensorStatus.STOPPED


def schedule_status(settings: Settings) -> dg.DefaultScheduleStatus:
    return (
        dg.DefaultScheduleStatus.RUNNING if settings.automation_default_status == "running" else dg.DefaultScheduleStatus.STOPPED
    )


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def run_requests(settings: Settings, requests: list[Request], jobs: dict[str, BuiltJob]) -> tuple[list[dg.RunRequest], list[str]]:
    """RunRequests for plan requests; requests for days outside the partitions are reported, not sent."""
    daily = daily_partitions(settings)
    out: list[dg.RunRequest] = []
    dropped: list[str] = []
    for r in requests:
        built = jobs[r.stage]
        if built.partitioned and not daily.has_partition_key(r.partition):
            dropped.append(f"{r.stage} {r.partition}: not a partition (before BGP_START_DATE or in the future)")
            continue
        out.append(
            dg.RunRequest(
                run_key=r.run_key,
                job_name=built.job.name,
                partition_key=r.partition if built.partitioned else None,
                tags={"bgp/trigger_reason": r.reason[:200]},
            )
        )
    return out, dropped
