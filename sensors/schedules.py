"""Schedules in BGP_TIMEZONE: nightly cognition and upkeep at BGP_NIGHTLY_HOUR for yesterday's
partition, daily drift observation, weekly graph pruning, channel summaries every 6 h (UTC windows),
and the cleanup every 48 hours.

48 h: cron cannot say "every 48 h" ("*/2" in the day field restarts each month, so the 31st and
the 1st both run). The cleanup schedule ticks daily and skips unless its job last ran >= 47 h ago
(an hour of slack so a tick a few seconds early does not slip to 72 h).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from assets.partitions import daily_partitions
from background_pipelines.config import ConfigError, Settings
from sensors._common import schedule_status
from sensors.jobs import BuiltJob, asset_jobs, cleanup_job

CLEANUP_EVERY = timedelta(hours=47)
_LIVE = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.SUCCESS,
]


def zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"BGP_TIMEZONE={settings.timezone!r}: not an IANA timezone (e.g. UTC, Europe/Berlin)") from None


def _tick_time(context: dg.ScheduleEvaluationContext) -> datetime:
    t = context.scheduled_execution_time or datetime.now(timezone.utc)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def yesterday(context: dg.ScheduleEvaluationContext, tz: ZoneInfo) -> str:
    """The day before the tick's date in the configured timezone, as a partition key."""
    return (_tick_time(context).astimezone(tz).date() - timedelta(days=1)).isoformat()


def partition_schedule(name: str, built: BuiltJob, hour: int, settings: Settings, description: str, weekday: int | None = None):
    """A schedule at `hour` (in BGP_TIMEZONE) requesting `built` for yesterday's partition there."""
    tz = zone(settings)
    daily = daily_partitions(settings)
    cron = f"0 {hour} * * {'*' if weekday is None else weekday}"

    @dg.schedule(
        name=name, job=built.job, cron_schedule=cron, execution_timezone=settings.timezone,
        default_status=schedule_status(settings), description=description,
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        key = yesterday(context, tz)
        if not built.partitioned:
            return dg.RunRequest(run_key=f"{name}:{key}")
        if not daily.has_partition_key(key):
            return dg.SkipReason(f"{key} is not a partition (the day partitions start {daily.start:%Y-%m-%d}: no message is older)")
        return dg.RunRequest(run_key=f"{name}:{key}", partition_key=key)

    return _schedule


def build_channel_schedule(settings: Settings, built: BuiltJob) -> dg.ScheduleDefinition:
    """Every 6 h (UTC, as channel windows are): the UTC day whose latest window has just ended."""
    daily = daily_partitions(settings)

    @dg.schedule(
        name="channel_summaries_schedule", job=built.job, cron_schedule="5 */6 * * *", execution_timezone="UTC",
        default_status=schedule_status(settings), description="Channel summaries of the 6-hour windows that just ended",
    )
    def channel_summaries_schedule(context: dg.ScheduleEvaluationContext):
        key = (_tick_time(context).astimezone(timezone.utc) - timedelta(hours=6)).date().isoformat()
        if not daily.has_partition_key(key):
            return dg.SkipReason(f"{key} is not a partition (the day partitions start {daily.start:%Y-%m-%d}: no message is older)")
        return dg.RunRequest(run_key=f"channel_summaries_schedule:{_tick_time(context):%Y-%m-%dT%H}", partition_key=key)

    return channel_summaries_schedule


def build_cleanup_schedule(settings: Settings) -> dg.ScheduleDefinition:
    zone(settings)

    @dg.schedule(
        name="cleanup_schedule", job=cleanup_job, cron_schedule=f"30 {(settings.nightly_hour + 1) % 24} * * *",
        execution_timezone=settings.timezone, default_status=schedule_status(settings),
        description="Every 48 h: daily tick that skips unless cleanup_job last ran >= 47 h ago",
    )
    def cleanup_schedule(context: dg.ScheduleEvaluationContext):
        now = _tick_time(context)
        last = context.instance.get_run_records(
            filters=dg.RunsFilter(job_name=cleanup_job.name, statuses=_LIVE), limit=1
        )
        if last:
            since = now - last[0].create_timestamp
            if since < CLEANUP_EVERY:
                return dg.SkipReason(
                    f"cleanup ran {since.total_seconds() / 3600:.1f} h ago; it runs every 48 h"
                )
        return dg.RunRequest(run_key=f"cleanup:{now.astimezone(timezone.utc):%Y-%m-%dT%H}")

    return cleanup_schedule


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    jobs = asset_jobs(settings)
    h = settings.nightly_hour
    wanted = [
        ("nightly_schedule", "nightly_job", h, None, "Nightly character cognition for yesterday's partition"),
        ("nightly_upkeep_schedule", "nightly_upkeep_job", h, None, "Nightly graph consolidation, decay and store backup"),
        ("drift_schedule", "drift_job", (h + 1) % 24, None, "Daily drift observation for yesterday's partition"),
        ("weekly_upkeep_schedule", "weekly_upkeep_job", (h + 2) % 24, 0, "Weekly (Sunday) graph pruning and orphan collection"),
    ]
    out = [
        partition_schedule(name, jobs[job], hour, settings, desc, weekday)
        for name, job, hour, weekday, desc in wanted
        if job in jobs
    ]
    if "channel_summaries_job" in jobs:
        out.append(build_channel_schedule(settings, jobs["channel_summaries_job"]))
    return out + [build_cleanup_schedule(settings)]


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(schedules=build_schedules(settings))
