"""Signed webhooks over real HTTP (a stdlib receiver on 127.0.0.1): the signing, and the run-failure
and asset-completion sensors fed by real runs on a real instance."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from background_pipelines import webhooks
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions

SECRET = "s3cret-webhook-key"


class Receiver:
    """Records every POST; answers `status`."""

    def __init__(self, status: int = 200):
        self.status, self.calls = status, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.calls.append((self.path, dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/token-in-path"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _verified(call) -> dict:
    _, headers, body = call
    assert webhooks.verify(body, SECRET, headers.get("X-BGP-Signature"))
    assert SECRET.encode() not in body
    return json.loads(body)


def test_post_signs_the_exact_body_with_hmac_sha256(receiver):
    assert webhooks.post(receiver.url, {"event": "ping", "n": 1}, SECRET) == 200
    (path, headers, body), = receiver.calls
    assert path == "/hooks/token-in-path" and headers["X-BGP-Event"] == "ping"
    assert _verified(receiver.calls[0]) == {"event": "ping", "n": 1}
    assert not webhooks.verify(body + b" ", SECRET, headers["X-BGP-Signature"])  # tampering breaks it
    assert not webhooks.verify(body, "other-secret", headers["X-BGP-Signature"])


def test_rejected_delivery_names_the_host_never_the_path_or_secret():
    bad = Receiver(status=500)
    try:
        with pytest.raises(webhooks.WebhookError) as err:
            webhooks.post(bad.url, {"event": "x"}, SECRET)
    finally:
        bad.close()
    msg = str(err.value)
    assert "HTTP 500" in msg and "127.0.0.1" in msg and "token-in-path" not in msg and SECRET not in msg


def _env(monkeypatch, url, **extra):
    monkeypatch.setenv("BGP_ALERT_WEBHOOK_URL", url)
    monkeypatch.setenv("BGP_WEBHOOK_SECRET", SECRET)
    for k, v in extra.items():
        monkeypatch.setenv(k, v)
    return build_definitions(Settings.from_env())


def _run_event(instance, run_id, event_type):
    (record,) = instance.get_records_for_run(run_id, of_type=event_type).records
    return record.event_log_entry.dagster_event


def test_failed_run_posts_a_signed_alert_with_run_job_step_and_error(bgp_env, monkeypatch, receiver):
    defs = _env(monkeypatch, receiver.url)
    # a real failure: the cleanup job against a store that cannot be reached
    monkeypatch.setenv("BGP_DATABASE_URL", "postgresql://nobody:pw-not-logged@127.0.0.1:1/none")
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("cleanup_job").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        ctx = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor", dagster_instance=instance, dagster_run=run,
            dagster_event=_run_event(instance, result.run_id, dg.DagsterEventType.RUN_FAILURE),
        ).for_run_failure()
        defs.get_repository_def().get_sensor_def("run_failure_alert_sensor")(ctx)
    payload = _verified(receiver.calls[0])
    assert payload["event"] == "run_failure" and payload["run_id"] == result.run_id
    assert payload["job"] == "cleanup_job" and payload["step"] == "cleanup_store"
    # the store names its masked URL and the driver's first line (StoreError since issue 12 item 7)
    assert payload["error"].startswith("StoreError: ") and "OperationalError: connection failed" in payload["error"]
    assert "nobody:***@127.0.0.1:1/none" in payload["error"] and "pw-not-logged" not in payload["error"]
    assert payload["tags"]["bgp/latency_class"] == "action"


def test_completion_webhook_fires_only_for_chosen_assets(bgp_env, monkeypatch, receiver, store):
    from datetime import datetime

    from _sensors_data import add_messages

    add_messages(store, 3, at=datetime(2026, 11, 20, 9))
    defs = _env(monkeypatch, receiver.url, BGP_COMPLETION_WEBHOOK_ASSETS="message_scores, session_summaries")
    sensor = defs.get_repository_def().get_sensor_def("asset_completion_webhook_sensor")
    with dg.instance_for_test() as instance:
        for job, partition in (("scoring_job", "2026-11-20"), ("cleanup_job", None)):
            res = defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition)
            ctx = dg.build_run_status_sensor_context(
                sensor_name=sensor.name, dagster_instance=instance, dagster_run=instance.get_run_by_id(res.run_id),
                dagster_event=_run_event(instance, res.run_id, dg.DagsterEventType.RUN_SUCCESS),
            )
            out = sensor(ctx)
            if job == "cleanup_job":
                assert isinstance(out, dg.SkipReason)
    assert len(receiver.calls) == 1  # the cleanup run materialized nothing watched
    payload = _verified(receiver.calls[0])
    assert payload == {"event": "assets_materialized", "run_id": payload["run_id"], "job": "scoring_job",
                       "assets": ["message_scores"], "partition": "2026-11-20"}


def test_alert_sensors_are_left_out_without_a_url(bgp_env, monkeypatch):
    monkeypatch.delenv("BGP_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("BGP_COMPLETION_WEBHOOK_ASSETS", "message_scores")
    names = {s.name for s in build_definitions(Settings.from_env()).get_repository_def().sensor_defs}
    assert not names & {"run_failure_alert_sensor", "asset_completion_webhook_sensor"}
