"""The endpoint probe against the local OpenAI-compatible server over real HTTP: the probe schedule's
tick, then a real run of probe_job. A refused key (401) fails the run naming the endpoint, never the
key; a good key records status and latency; the offline backend is skipped, not failed."""

from __future__ import annotations

from datetime import datetime, timezone

import json

import dagster as dg
import pytest

from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.probe import FAILED, OK, SKIPPED, probe_endpoints
from test_webhooks import Receiver

RIGHT_KEY = "sk-right-key-9c1e"
WRONG_KEY = "sk-wrong-DO-NOT-LEAK-4b2d"
TICK = datetime(2026, 12, 7, 14, tzinfo=timezone.utc)


@pytest.fixture
def server():
    with LocalLLMServer(api_key=RIGHT_KEY) as srv:
        yield srv


def _point_at(monkeypatch, srv, key):
    monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
    monkeypatch.setenv("BGP_LLM_API_KEY", key)
    monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "openai")
    monkeypatch.setenv("BGP_EMBEDDING_MODEL", "text-embedding-3-small")


def _scheduled_run(defs, instance):
    """Evaluate probe_schedule's tick, then run what it requests, as the daemon would."""
    sched = defs.get_repository_def().get_schedule_def("probe_schedule")
    assert sched.cron_schedule == "0 */2 * * *"
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK, repository_def=defs.get_repository_def()) as ctx:
        (request,) = sched.evaluate_tick(ctx).run_requests
    assert request.run_key == "probe:2026-12-07T14"
    job = defs.resolve_job_def(request.job_name or "probe_job")
    return job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)


def _alert_for(instance, run_id, monkeypatch) -> dict:
    """Evaluate run_failure_alert_sensor for the failed run against a local receiver; the posted JSON."""
    receiver = Receiver()
    try:
        monkeypatch.setenv("BGP_ALERT_WEBHOOK_URL", receiver.url)
        alerting = build_definitions(Settings.from_env())
        run = instance.get_run_by_id(run_id)
        (record,) = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        ctx = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor", dagster_instance=instance, dagster_run=run,
            dagster_event=record.event_log_entry.dagster_event,
        ).for_run_failure()
        alerting.get_repository_def().get_sensor_def("run_failure_alert_sensor")(ctx)
        (_, _, body), = receiver.calls
        return json.loads(body)
    finally:
        receiver.close()


def _materialization(result) -> dict:
    (mat,) = result.asset_materializations_for_node("endpoint_probe")
    return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}


def test_probe_fails_the_run_when_the_endpoint_answers_401(bgp_env, monkeypatch, server):
    _point_at(monkeypatch, server, WRONG_KEY)
    defs = build_definitions(Settings.from_env())
    with dg.instance_for_test() as instance:
        result = _scheduled_run(defs, instance)
        assert not result.success
        (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        message = failure.step_failure_data.error.message
        logs = " ".join(str(r.dagster_event or r.user_message) for r in instance.all_logs(result.run_id))
        alert = _alert_for(instance, result.run_id, monkeypatch)
    assert f"chat endpoint {server.base_url}" in message and f"embeddings endpoint {server.base_url}" in message
    assert "HTTP 401" in message and "key was refused" in message
    assert WRONG_KEY not in message and WRONG_KEY not in logs and RIGHT_KEY not in logs
    # the failure webhook alerts, naming the step, the endpoint and the status, never the key
    assert alert["job"] == "probe_job" and alert["step"] == "endpoint_probe"
    assert "chat endpoint" in alert["error"] and "HTTP 401" in alert["error"] and WRONG_KEY not in json.dumps(alert)
    # one request per endpoint: a refused key is not retried (neither by the client nor by the step)
    assert len(server.requests("chat/completions")) == 1 and len(server.requests("embeddings")) == 1


def test_probe_records_status_and_latency_of_each_endpoint(bgp_env, monkeypatch, server):
    _point_at(monkeypatch, server, RIGHT_KEY)
    defs = build_definitions(Settings.from_env())
    with dg.instance_for_test() as instance:
        result = _scheduled_run(defs, instance)
    assert result.success
    meta = _materialization(result)
    assert meta["chat_status"] == OK and meta["embeddings_status"] == OK and meta["failed"] == 0
    assert meta["chat_latency_ms"] > 0 and meta["embeddings_latency_ms"] > 0
    assert meta["chat_endpoint"] == server.base_url and "| chat:" in meta["preview"]
    (chat,) = server.requests("chat/completions")
    assert chat["json"]["max_tokens"] == 1  # a cheap request
    assert RIGHT_KEY not in str(meta)


def test_offline_backend_is_skipped_not_failed(bgp_env):
    defs = build_definitions(Settings.from_env())
    with dg.instance_for_test() as instance:
        result = _scheduled_run(defs, instance)
    assert result.success
    meta = _materialization(result)
    assert meta["chat_status"] == SKIPPED and "offline backend" in meta["chat_reason"]
    assert meta["embeddings_status"] == SKIPPED and meta["failed"] == 0


def test_forbidden_and_unreachable_endpoints_fail_with_the_reason(bgp_env, monkeypatch, server):
    _point_at(monkeypatch, server, RIGHT_KEY)
    server.fail_next(1, status=403, path="chat")
    chat, emb = probe_endpoints(Settings.from_env())
    assert chat.status == FAILED and chat.http_status == 403 and "key was refused" in chat.reason
    assert emb.status == OK
    monkeypatch.setenv("BGP_LLM_BASE_URL", "http://user:pw-secret@127.0.0.1:9/v1")
    monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "hashing")
    (chat, emb) = probe_endpoints(Settings.from_env())
    assert chat.status == FAILED and chat.http_status is None and "connection" in chat.reason
    assert "pw-secret" not in chat.summary() and emb.status == SKIPPED
