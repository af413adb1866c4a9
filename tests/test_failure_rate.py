"""A run whose every LLM call fails (a refused key, a 5xx on every call) is not green: the stage's
failure rate crosses BGP_FAILURE_RATE_THRESHOLD and the step fails with the reasons (so the run
failure sensor alerts); a few failed items below the threshold leave the run green."""

from __future__ import annotations

import dagster as dg
import pytest

from assets import knowledge, summaries
from assets.resources import LLMResource, StoreResource
from background_pipelines.cognition.result import StageResult, failure_rate_problem
from background_pipelines.config import ConfigError, Settings
from background_pipelines.demo import load_demo
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store import ledger

DAY = "2026-11-01"


def _run(settings: Settings, selection: list[str]):
    assets = [*summaries.definitions(settings).assets, *knowledge.definitions(settings).assets]
    return dg.materialize(assets, resources={"store": StoreResource(), "llm": LLMResource()}, partition_key=DAY,
                          selection=selection, raise_on_error=False)


@pytest.mark.parametrize("fault", ["refused_key", "server_error_on_every_call"])
def test_a_run_whose_every_llm_call_fails_is_not_green(fault, bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAY)
    monkeypatch.setenv("BGP_LLM_MAX_ATTEMPTS", "2")
    load_demo(store)
    with LocalLLMServer(api_key="sk-right") as srv:
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", "sk-wrong" if fault == "refused_key" else "sk-right")
        if fault == "server_error_on_every_call":
            srv.fail_next(100_000, status=503, path=None)
        result = _run(Settings.from_env(), ["session_summaries"])
        assert srv.stats()["total"] > 0
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.user_failure_data.description
    assert "attempted items failed (100%, BGP_FAILURE_RATE_THRESHOLD=0.5)" in message
    assert ("HTTP 401" if fault == "refused_key" else "HTTP 503") in message
    assert {f["status"] for f in ledger.failures(store, "summarize")} == {"failed"}  # still ledgered with reasons


def test_failures_below_the_threshold_leave_the_run_green(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAY)
    monkeypatch.setenv("BGP_LLM_MAX_ATTEMPTS", "1")
    load_demo(store)
    with LocalLLMServer() as srv:
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        srv.fail_next(1, status=500)  # one session of the day's five fails
        result = _run(Settings.from_env(), ["session_summaries"])
    assert result.success
    (mat,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in mat.materialization.metadata.items()}
    assert meta["failed"] == 1 and meta["processed"] >= 4


def test_the_threshold_is_a_setting():
    assert Settings.from_env({}).failure_rate_threshold == 0.5
    assert Settings.from_env({"BGP_FAILURE_RATE_THRESHOLD": "1"}).failure_rate_threshold == 1.0
    with pytest.raises(ConfigError, match="BGP_FAILURE_RATE_THRESHOLD"):
        Settings.from_env({"BGP_FAILURE_RATE_THRESHOLD": "0"})
    r = StageResult(stage="s", processed=1, failed=1, errors=["x: boom"])
    assert failure_rate_problem(r, 0.5) and failure_rate_problem(r, 0.6) is None
    assert failure_rate_problem(StageResult(stage="s", pending=5), 0.1) is None  # pending items are not attempted
