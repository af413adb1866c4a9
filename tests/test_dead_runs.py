"""Nothing blocked by a dead run: kill -9 of a CLI run (twice) leaves pool slots held, and the next run
frees them itself (issue 12 item 2), with real `dagster job execute` processes, a real instance
with an `llm` pool of one slot and the local OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from _sensors_data import add_messages
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store import ledger, open_store
from sensors.run_health import HOST_TAG, process_alive, reap_dead_runs

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-20"


def _env(tmp: Path, url: str, base_url: str) -> dict[str, str]:
    home = tmp / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGP_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), BGP_HOME=str(tmp / "bgp_home"), BGP_DATABASE_URL=url, BGP_EMBEDDING_BACKEND="hashing",
               BGP_LLM_BASE_URL=base_url, BGP_LLM_API_KEY="sk-test", BGP_LLM_TIMEOUT_SECONDS="600", BGP_LLM_MAX_ATTEMPTS="1")
    return env


def _materialize(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "background_pipelines.definitions",
         "-j", "knowledge_job", "--tags", json.dumps({"dagster/partition": DAY})],
        cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
    )


def _wait(predicate, what: str, proc: subprocess.Popen, log: Path, timeout: float = 240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"the CLI exited ({proc.returncode}) before {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"no {what} within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def test_kill_9_twice_then_rerun_finishes_without_an_operator(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    ids = add_messages(store, 6, at=__import__("datetime").datetime(2026, 11, 20, 9))
    log = tmp_path / "cli.log"
    with LocalLLMServer(latency=600) as srv:  # every answer hangs: the step sits in the llm pool
        env = _env(tmp_path, url, srv.base_url)
        instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
        try:
            instance.event_log_storage.set_concurrency_slots("llm", 1)
            killed = []
            for attempt in range(2):
                proc = _materialize(env, log)
                _wait(lambda: srv.stats()["current_concurrent"] >= 1, f"run {attempt + 1} inside its LLM call", proc, log)
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                run = instance.get_runs(limit=1)[0]
                assert run.status == dg.DagsterRunStatus.STARTED and run.tags[HOST_TAG]  # dead, but Dagster cannot tell
                killed.append(run.run_id)
            srv.latency = 0.0
            proc = _materialize(env, log)
            assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
            runs = {r.run_id: r.status for r in instance.get_runs()}
            assert [runs[r] for r in killed] == [dg.DagsterRunStatus.FAILURE] * 2
            assert sorted(runs.values(), key=str).count(dg.DagsterRunStatus.SUCCESS) == 1
            info = instance.event_log_storage.get_concurrency_info("llm")
            assert info.claimed_slots == [] and info.pending_steps == []
        finally:
            instance.dispose()
    assert ledger.done_items(store, "extract", _extract_version(), [str(i) for i in ids]) == {str(i) for i in ids}
    store.engine.dispose()


def _extract_version() -> str:
    from background_pipelines.cognition.facts import VERSION

    return VERSION


def test_process_alive_tells_exited_zombie_and_reused_pids():
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    end = time.monotonic() + 30
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z" and time.monotonic() < end:
        time.sleep(0.05)
    assert not process_alive(child.pid)  # exited, not yet reaped by its parent: a zombie is dead
    child.wait()
    assert not process_alive(child.pid)
    assert not process_alive(os.getpid(), not_started_after=time.time() - 86400)  # same pid, a newer process


def _started_run(instance, pid: int, host: str) -> str:
    """A run as a worker with `pid` on `host` leaves it: STARTED, its engine event naming the pid, a slot held."""
    from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData

    run = instance.create_run_for_job(dg.GraphDefinition("g").to_job(), tags={HOST_TAG: host})
    instance.report_dagster_event(DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name=run.job_name), run.run_id)
    instance.report_engine_event(f"Executing steps in process (pid: {pid})", run, EngineEventData.in_process(pid))
    instance.event_log_storage.claim_concurrency_slot("llm", run.run_id, "step")
    return run.run_id


def test_dead_runs_sensor_frees_only_dead_local_runs():
    from background_pipelines.config import Settings
    from sensors.run_health import build_dead_runs_sensor, this_host

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with dg.instance_for_test() as instance:
            instance.event_log_storage.set_concurrency_slots("llm", 3)
            dead = _started_run(instance, gone.pid, this_host())
            live = _started_run(instance, alive.pid, this_host())
            foreign = _started_run(instance, gone.pid, "another-host")
            tick = build_dead_runs_sensor(Settings.from_env()).evaluate_tick(dg.build_sensor_context(instance=instance))
            assert tick.skip_message == f"reaped 1 dead runs: {dead}"
            status = {r: instance.get_run_by_id(r).status for r in (dead, live, foreign)}
            assert status == {dead: dg.DagsterRunStatus.FAILURE, live: dg.DagsterRunStatus.STARTED,
                              foreign: dg.DagsterRunStatus.STARTED}
            held = {c.run_id for c in instance.event_log_storage.get_concurrency_info("llm").claimed_slots}
            assert held == {live, foreign}
    finally:
        alive.kill()
        alive.wait()
