"""Every job with config retries only what can heal: drift_job (not forget_job) run for real from the
Definitions fails at once, without a step retry, on an unknown character in its config, and is retried
by its op's policy after an embeddings endpoint answers 503 once (real HTTP to the local server).
The retry waits the cognition class's delay (30 s +- 30 s of jitter)."""

from __future__ import annotations

import dagster as dg
import pytest
from character_world import START, build_week

from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store import character as cstore
from sensors.jobs import JOB_SPECS, asset_jobs

DAY = "2026-10-07"  # a day of the synthetic week every character talked on


@pytest.fixture
def served(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", START)
    build_week(store)
    with LocalLLMServer() as srv:
        monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "openai")
        monkeypatch.setenv("BGP_EMBEDDING_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_MAX_ATTEMPTS", "1")  # one 503 fails the call: the op's policy retries
        yield srv


def _run(config: dict | None = None):
    job = build_definitions(Settings.from_env()).resolve_job_def("drift_job")
    run_config = {"ops": {"drift_observations": {"config": config}}} if config else None
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(partition_key=DAY, run_config=run_config, instance=instance, raise_on_error=False)
        return result, [e.event_type_value for e in result.all_events]


def test_every_asset_job_leaves_step_failures_to_the_op_policy(bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", START)
    built = asset_jobs(Settings.from_env())
    assert {s.name for s in JOB_SPECS} & set(built), "some asset job is defined"
    for name, b in built.items():
        assert b.job.tags["dagster/retry_on_asset_or_op_failure"] == "false", name


def test_a_user_error_fails_at_once_and_a_transient_one_is_retried(served, store):
    srv = served
    result, kinds = _run({"characters": ["Nobody"]})
    assert not result.success
    assert "STEP_UP_FOR_RETRY" not in kinds and "STEP_RESTARTED" not in kinds
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "unknown character(s) Nobody" in failure.event_specific_data.error.message
    assert srv.requests("embeddings") == [] and cstore.count_rows(store, "drift_observations") == 0

    srv.fail_next(1, status=503, path="embeddings")
    result, kinds = _run()
    assert result.success
    assert kinds.count("STEP_UP_FOR_RETRY") == 1 and "STEP_RESTARTED" in kinds
    statuses = [r["status"] for r in srv.requests("embeddings")]
    assert statuses[0] == 503 and 200 in statuses[1:]  # the 503, then the retry's answers
    assert cstore.count_rows(store, "drift_observations", [DAY]) >= 1
