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


RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
ACTIVE_STATUSES = (
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
)


CURSOR_KEY = "bgp/sensor_cursor/{}"


def durable_cursor(context: dg.SensorEvaluationContext, name: str) -> str | None:
    """The sensor's cursor. Dagster keeps it per code location, so renaming the location (or its
    repository) starts the sensor from nothing; then the copy kept under the sensor's bare name in the
    instance's key-value store takes over. The copy is the last cursor Dagster committed (what the
    tick was given), so at worst one tick is evaluated again: its run_keys are the same, its runs
    idempotent. To reset a sensor on purpose, set its cursor to `{}` (`dagster sensor cursor NAME --set '{}'`)."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a test context without an instance
        return context.cursor
    key = CURSOR_KEY.format(name)
    if context.cursor is not None:
        if _kept.get((id(instance), key)) != context.cursor:  # a tick with nothing new writes (and reads) nothing
            if instance.run_storage.get_cursor_values({key}).get(key) != context.cursor:
                instance.run_storage.set_cursor_values({key: context.cursor})
            _kept[(id(instance), key)] = context.cursor
        return context.cursor
    return instance.run_storage.get_cursor_values({key}).get(key)


_kept: dict[tuple[int, str], str] = {}  # per code-server process: the copy last written for each sensor


def run_requests(settings: Settings, requests: list[Request], jobs: dict[str, BuiltJob]) -> tuple[list[dg.RunRequest], list[str]]:
    """RunRequests for plan requests: one partition, or a range `first...last` as one single-run backfill
    (range tags). Days outside the partitions are clipped and reported; a request with none left is
    reported, not sent."""
    daily = daily_partitions(settings)
    out: list[dg.RunRequest] = []
    dropped: list[str] = []
    for r in requests:
        built = jobs[r.stage]
        tags = {"bgp/trigger_reason": r.reason[:200]}
        partition = None
        if built.partitioned:
            first, _, last = r.partition.partition("...")
            span = _clip(daily, first, last or first)
            keys = daily.get_partition_keys_in_range(span) if span else []
            if not keys:
                dropped.append(
                    f"{r.stage} {r.partition}: not a partition (they run {daily.start:%Y-%m-%d} to today, as loaded: "
                    "reload the code location after importing older history; fix messages dated in the future)"
                )
                continue
            if (keys[0], keys[-1]) != (first, last or first):
                dropped.append(f"{r.stage} {r.partition}: clipped to {keys[0]}...{keys[-1]} (the rest is not a partition)")
            if len(keys) == 1:
                partition = keys[0]
            else:
                tags.update({RANGE_START: keys[0], RANGE_END: keys[-1]})
        out.append(dg.RunRequest(run_key=r.run_key, job_name=built.job.name, partition_key=partition, tags=tags))
    return out, dropped


def _clip(daily, first: str, last: str) -> dg.PartitionKeyRange | None:
    """The part of first..last that is partitions (keys are ISO dates, so they compare as strings)."""
    keys = daily.get_partition_keys()
    if not keys:
        return None
    lo, hi = max(first, keys[0]), min(last, keys[-1])
    return dg.PartitionKeyRange(lo, hi) if lo <= hi else None


def active_runs(instance: dg.DagsterInstance, jobs: dict[str, BuiltJob]):
    """`active(stage)` for the planners: is a run of that stage's job queued or running? Asked lazily,
    so a tick with nothing to decide makes no run-storage query."""

    def active(stage: str) -> bool:
        built = jobs.get(stage)
        if built is None:
            return False
        records = instance.get_run_records(
            filters=dg.RunsFilter(job_name=built.job.name, statuses=list(ACTIVE_STATUSES)), limit=1
        )
        return bool(records)

    return active
