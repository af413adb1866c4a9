"""The real daemon loop: `dagster-daemon run` (which starts the code server) with a temp DAGSTER_HOME
and a temp SQLite store; inserted messages must lead to sensor-triggered runs that succeed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select

from _sensors_data import add_messages
from background_pipelines.store import open_store
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import summaries

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 180


def daemon_env(tmp: Path, store_url: str, **extra: str) -> dict[str, str]:
    home = tmp / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGP_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home), BGP_HOME=str(tmp / "bgp_home"), BGP_DATABASE_URL=store_url,
        BGP_EMBEDDING_BACKEND="hashing", BGP_SENSOR_TICK_SECONDS="1", BGP_SENSOR_MIN_INTERVAL_SECONDS="0",
        BGP_AUTOMATION_DEFAULT_STATUS="running", **extra,
    )
    return env


class Daemon:
    """`dagster-daemon run` in its own process group, stopped (TERM, then KILL) on exit."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])

    def runs(self, job: str, status=None):
        filters = dg.RunsFilter(job_name=job, statuses=[status] if status else None, tags={"dagster/sensor_name": "new_messages_sensor"})
        return self.instance.get_runs(filters=filters)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        self.instance.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def wait_for(predicate, what: str, daemon: Daemon, log: Path, timeout: float = DEADLINE_SECONDS):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if daemon.proc.poll() is not None:
            pytest.fail(f"dagster-daemon exited ({daemon.proc.returncode}) waiting for {what}:\n{log.read_text()[-3000:]}")
        value = predicate()
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"no {what} within {timeout:.0f}s; daemon log tail:\n{log.read_text()[-3000:]}")


def test_inserted_messages_lead_to_sensor_triggered_runs_that_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    log = tmp_path / "daemon.log"
    with Daemon(daemon_env(tmp_path, url), log) as daemon:
        at = utcnow() - timedelta(minutes=2)
        ids = add_messages(store, 20, session="live", at=at, step=timedelta(seconds=1))
        wait_for(lambda: daemon.runs("scoring_job", dg.DagsterRunStatus.SUCCESS), "successful scoring_job run", daemon, log)
        wait_for(lambda: daemon.runs("summaries_job", dg.DagsterRunStatus.SUCCESS), "successful summaries_job run", daemon, log)
        for job in ("scoring_job", "summaries_job"):
            assert not daemon.runs(job, dg.DagsterRunStatus.FAILURE), job
        run = daemon.runs("summaries_job", dg.DagsterRunStatus.SUCCESS)[-1]
        assert run.tags["dagster/partition"] == (at + timedelta(seconds=19)).strftime("%Y-%m-%d")
        assert run.tags["bgp/latency_class"] == "cognition"
    with store.connect() as conn:
        assert conn.execute(select(func.max(summaries.c.last_message_id)).where(summaries.c.session == "live")).scalar_one() == ids[-1]
    store.engine.dispose()
