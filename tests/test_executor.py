"""BGP_EXECUTOR picks the executor of every job (and of the UI's own asset runs) without editing code,
and run config switches one run to another executor; real runs, steps observed by process id."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableRepository

from background_pipelines import record_messages
from background_pipelines.config import ConfigError, Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.store import open_store


def _chat(day: datetime, n: int) -> list[dict]:
    return [
        dict(
            platform="app", external_id=f"x-{day:%d}-{i}", channel="dm", session=f"s{day:%d}",
            author="alice" if i % 2 == 0 else "Mira", author_kind="user" if i % 2 == 0 else "character",
            role="user" if i % 2 == 0 else "assistant",
            text="I work at Initech as a nurse" if i % 2 == 0 else "Tell me more.",
            created_at=(day + timedelta(minutes=i)).isoformat(),
        )
        for i in range(n)
    ]


def _step_pids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    return {r.event_log_entry.dagster_event.pid for r in records}


def _run_scoring(instance: dg.DagsterInstance, run_config: dict) -> str:
    """Execute scoring_job for one day the way a run worker does: reconstructed from the module,
    re-imported so that its `defs` reads this test's environment (store, partition start)."""
    importlib.reload(importlib.import_module("background_pipelines.definitions"))
    repo = ReconstructableRepository.for_module("background_pipelines.definitions", "defs", os.getcwd())
    job = repo.get_reconstructable_job("scoring_job")
    with dg.execute_job(job, instance=instance, run_config=run_config, tags={"dagster/partition": "2026-11-03"}) as result:
        assert result.success
        return result.run_id


def test_every_job_and_the_asset_job_use_the_configured_executor(bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_EXECUTOR", "multiprocess")
    defs = build_definitions(Settings.from_env())
    jobs = [defs.resolve_job_def(n) for n in ("scoring_job", "knowledge_job", "cleanup_job")]
    jobs.append(defs.resolve_implicit_global_asset_job_def())
    for job in jobs:
        assert job.executor_def.name == "bgp_executor", job.name
        # the default entry of the selector is the configured executor
        assert job.executor_def.config_schema.as_field().default_value == {"multiprocess": {}}


def test_run_config_switches_one_run_to_another_executor(bgp_env):
    record_messages(_chat(datetime(2026, 11, 3, 9, tzinfo=timezone.utc), 6), open_store(bgp_env))
    with dg.instance_for_test() as instance:
        in_process = _step_pids(instance, _run_scoring(instance, {"execution": {"config": {"in_process": {}}}}))
        multi = _step_pids(instance, _run_scoring(instance, {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}))
    assert in_process == {os.getpid()}
    # one worker process per step, none of them the run's
    assert len(multi) >= 2 and os.getpid() not in multi


def test_bgp_executor_env_reaches_a_run_started_from_the_cli(bgp_env, tmp_path):
    """An operator sets BGP_EXECUTOR and starts a run with the dagster CLI: no code edited."""
    record_messages(_chat(datetime(2026, 11, 3, 9, tzinfo=timezone.utc), 6), open_store(bgp_env))
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "BGP_EXECUTOR": "multiprocess", "DAGSTER_HOME": str(home)}
    cli = [sys.executable, "-m", "dagster", "job", "execute", "-m", "background_pipelines.definitions", "-a", "defs",
           "-j", "scoring_job", "--tags", json.dumps({"dagster/partition": "2026-11-03"})]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        engine = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records
        parent = {r.event_log_entry.dagster_event.pid for r in engine
                  if "multiprocess executor: parent process" in (r.event_log_entry.user_message or "")}
        steps = _step_pids(instance, run.run_id)
    assert len(parent) == 1 and len(steps) >= 2 and not (steps & parent)


def test_unknown_or_missing_executor_is_a_one_line_error(monkeypatch):
    with pytest.raises(ConfigError, match="BGP_EXECUTOR='threads': expected one of in_process, multiprocess, celery, k8s"):
        Settings.from_env({"BGP_EXECUTOR": "threads"})
    from assets.executor import default_executor

    if importlib.util.find_spec("dagster_k8s") is None:
        with pytest.raises(ConfigError, match=r"BGP_EXECUTOR=k8s: the dagster_k8s package is not installed \(pip install -e '.\[k8s\]'\)"):
            default_executor(Settings.from_env({"BGP_EXECUTOR": "k8s"}))


def test_celery_broker_reaches_the_executor_by_env_name_never_by_value(monkeypatch):
    if importlib.util.find_spec("dagster_celery") is None:
        pytest.skip("dagster-celery is not installed (pip install -e '.[celery]')")
    from assets.executor import default_executor

    settings = Settings.from_env({"BGP_EXECUTOR": "celery", "BGP_CELERY_BROKER_URL": "redis://:hunter2pw@redis:6379/0",
                                  "BGP_CELERY_BACKEND_URL": "redis://:hunter2pw@redis:6379/1"})
    default = default_executor(settings).config_schema.as_field().default_value
    assert default == {"celery": {"broker": {"env": "BGP_CELERY_BROKER_URL"}, "backend": {"env": "BGP_CELERY_BACKEND_URL"}}}
    assert "hunter2pw" not in repr(settings) + repr(default)
