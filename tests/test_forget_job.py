"""forget_job from the Launchpad or `dagster job launch`: every field present with a type and a safe
default (a dry run), and a user error fails the run at once, with no op retry and no run retry."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import func, select

from assets.forget import ForgetConfig, forget_job
from assets.resources import StoreResource
from background_pipelines.ingest import record_messages
from background_pipelines.store.schema import messages


def _seed(store):
    record_messages([
        dict(platform="telegram", external_id=str(i), channel="c", session="s", author="alice", author_id="user1",
             text=f"hello {i}", created_at=f"2026-11-02T10:0{i}:00Z") for i in range(3)
    ] + [dict(platform="discord", external_id="9", channel="c", session="s2", author="alice", author_id=77,
              text="hi", created_at="2026-11-02T11:00:00Z")], store)


def _run(db_url, config, instance):
    return forget_job.execute_in_process(
        run_config={"ops": {"forget_op": {"config": config}}}, resources={"store": StoreResource(database_url=db_url)},
        instance=instance, raise_on_error=False,
    )


def _count(store):
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages)).scalar_one()


def test_config_fields_are_typed_present_and_default_to_a_dry_run():
    fields = ForgetConfig.model_fields
    assert set(fields) == {"user", "message_ids", "dry_run"}
    assert fields["dry_run"].default is True and fields["user"].default == "" and all(f.description for f in fields.values())
    assert forget_job.tags["dagster/retry_on_asset_or_op_failure"] == "false"


def test_a_run_is_a_dry_run_unless_told_otherwise(bgp_env, store, db_url):
    _seed(store)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(db_url, {"user": "telegram:user1"}, instance)
        assert result.success
        meta = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"][0].event_specific_data.metadata
        assert meta["dry_run"].value is True and meta["messages"].value == 3 and meta["rows_that_would_be_removed"].value > 0
        assert _count(store) == 4
        assert _run(db_url, {"user": "telegram:user1", "dry_run": False}, instance).success
    assert _count(store) == 1


def test_user_errors_fail_at_once_without_retries(bgp_env, store, db_url):
    _seed(store)
    with dg.DagsterInstance.ephemeral() as instance:
        for config, says in (({"user": "nobody"}, "unknown user"), ({"user": "alice"}, "ambiguous"),
                             ({}, "set `user`"), ({"message_ids": [12345]}, "unknown message id")):
            result = _run(db_url, config, instance)
            assert not result.success
            kinds = [e.event_type_value for e in result.all_events]
            assert "STEP_UP_FOR_RETRY" not in kinds and "STEP_RESTARTED" not in kinds, config
            failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
            assert says in failure.event_specific_data.error.message, (config, failure.event_specific_data.error.message)
    assert _count(store) == 4


def test_only_healable_failures_are_retried():
    import httpx
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from assets.errors import healable
    from background_pipelines.forget import ForgetError
    from background_pipelines.llm.transport import RequestFailed

    def status(code):
        req = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
        return httpx.HTTPStatusError("x", request=req, response=httpx.Response(code, request=req))

    try:  # a real refused connection: nothing listens on port 9
        create_engine("postgresql+psycopg://u@127.0.0.1:9/db", connect_args={"connect_timeout": 2}).connect()
    except OperationalError as exc:
        refused = exc
    assert healable(refused)
    assert healable(status(429)) and healable(status(503)) and not healable(status(400)) and not healable(status(404))
    assert healable(RequestFailed("timeout", "t")) and not healable(RequestFailed("client_error", "bad request", 400))
    assert not healable(ForgetError("unknown user")) and not healable(KeyError("x")) and not healable(ValueError("typo"))
