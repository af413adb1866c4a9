"""Runs whose process is gone: marked failed and their pool slots freed, with no operator.

A run killed with SIGKILL (OOM killer, kill -9, a lost machine) never reports its end: Dagster keeps
it STARTED and its concurrency-pool slots held, so later runs wait on the pools forever. Dagster's
run monitoring detects dead workers only for launchers that can check them (docker, k8s), not for
the default launcher nor the CLI. Here every run, before its first step claims a slot, and the
`dead_runs_sensor` under the daemon, check the runs in progress on this host: the worker pid comes
from Dagster's own engine event ("Executing steps in process (pid: N)" / "Started process for run"),
the host from the `bgp/host` tag a run sets at start.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache

import dagster as dg

from background_pipelines.config import Settings
from sensors._common import sensor_status

HOST_TAG = "bgp/host"
IN_PROGRESS = (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING)
SENSOR_INTERVAL_SECONDS = 30


@lru_cache(maxsize=1)
def this_host() -> str:
    return socket.gethostname()


def tag_worker(instance: dg.DagsterInstance, run: dg.DagsterRun | None) -> None:
    """Record the host a run executes on (once), so a reaper elsewhere never judges it by a local pid."""
    if run is not None and run.tags.get(HOST_TAG) != this_host():
        instance.add_run_tags(run.run_id, {HOST_TAG: this_host()})


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from the first engine event that carries one."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = getattr(event, "event_specific_data", None) if event else None
        pid = (getattr(data, "metadata", None) or {}).get("pid")
        if pid is not None:
            try:
                return int(getattr(pid, "value", pid))
            except (TypeError, ValueError):
                return None
    return None


def _boot_time() -> float | None:
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def process_alive(pid: int, not_started_after: float | None = None) -> bool:
    """Whether `pid` is a live (not zombie) process that started no later than `not_started_after`
    (epoch seconds; a later start means the pid was reused by another process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return True  # no procfs (not Linux): existence is all we can tell
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    boot = _boot_time()
    if not_started_after is not None and boot is not None:
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        if started > not_started_after + 5:  # clock-tick rounding and skew
            return False
    return True


def reap_dead_runs(instance: dg.DagsterInstance, *, exclude: str | None = None, log=None) -> list[str]:
    """Mark failed every run in progress on this host whose worker process is gone, and free its pool
    slots. Returns their run ids. Runs of other hosts, and runs with no pid recorded yet (still
    starting: Dagster's run_monitoring start timeout covers those), are left alone."""
    local_only = instance.run_storage.__class__.__name__.startswith("Sqlite")  # one host by construction
    reaped: list[str] = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=list(IN_PROGRESS))):
        run = record.dagster_run
        if run.run_id == exclude:
            continue
        host = run.tags.get(HOST_TAG)
        if host != this_host() and not (host is None and local_only):
            continue
        pid = _worker_pid(instance, run.run_id)
        if pid is None or pid == os.getpid():
            continue
        started = record.start_time or record.create_timestamp.timestamp()
        if process_alive(pid, started):
            continue
        msg = f"Run worker (pid {pid} on {this_host()}) is gone; marked failed and its pool slots freed"
        instance.report_run_failed(run, msg)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
        if log is not None:
            log.warning(f"run {run.run_id}: {msg}")
    return reaped


def on_run_start(context) -> None:
    """Called once per run process before any step claims a pool slot (the store resource's setup):
    tag this run's host, then reap dead local runs so their slots cannot block this one."""
    instance, run = context.instance, context.run
    if instance is None or run is None:
        return
    tag_worker(instance, run)
    reap_dead_runs(instance, exclude=run.run_id, log=context.log)


def build_dead_runs_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="dead_runs_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=sensor_status(settings),
        description=(
            "Run monitoring for the default run launcher: marks failed the runs whose worker process on this host "
            f"is gone (kill -9, OOM) and frees their pool slots, every {SENSOR_INTERVAL_SECONDS}s"
        ),
    )
    def dead_runs_sensor(context: dg.SensorEvaluationContext):
        reaped = reap_dead_runs(context.instance, log=context.log)
        return dg.SkipReason(f"reaped {len(reaped)} dead runs: {', '.join(reaped)}" if reaped else "no dead runs")

    return dead_runs_sensor


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(sensors=[build_dead_runs_sensor(settings)])
