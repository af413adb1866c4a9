"""Outbound actions from background work: queued once per key, posted signed to a real local HTTP
receiver by a real actions_job run, failures recorded with the reason and retried with backoff until
BGP_ACTIONS_MAX_ATTEMPTS (then the run fails, so the failure webhook alerts), a deliverer that died
mid-request leaves `failed` (outcome unknown), never a second post."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest

from background_pipelines import webhooks
from background_pipelines.actions import ActionError, deliver_actions, request_action
from background_pipelines.cli import main as bgp
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.store import actions as astore
from background_pipelines.store.ledger import utcnow
from test_webhooks import SECRET, Receiver


def test_request_action_is_idempotent_on_its_key(store):
    first = request_action(store, "post", key="diary:Mira:2026-12-06", payload={"text": "a quiet day"}, character="Mira")
    again = request_action(store, "post", key="diary:Mira:2026-12-06", payload={"text": "changed"}, character="Mira")
    assert first.created and not again.created and again.id == first.id
    (row,) = astore.list_actions(store)
    assert row["payload"] == {"text": "a quiet day"} and row["status"] == "pending"


@pytest.mark.parametrize("kind, key, payload, message", [
    ("fax", "k", {}, "action kind 'fax'"),
    ("image", " ", {}, "action key ' '"),
    ("voice", "k", ["not", "an", "object"], "expected a JSON object"),
    ("voice", "k", {"x": {1, 2}}, "not JSON-serialisable"),
])
def test_bad_action_requests_are_refused_and_write_nothing(store, kind, key, payload, message):
    with pytest.raises(ActionError, match=message):
        request_action(store, kind, key=key, payload=payload)
    assert astore.list_actions(store) == []


def test_actions_job_posts_each_action_signed_once(bgp_env, store, monkeypatch):
    bot = Receiver()
    monkeypatch.setenv("BGP_ACTIONS_WEBHOOK_URL", bot.url)
    monkeypatch.setenv("BGP_WEBHOOK_SECRET", SECRET)
    try:
        for kind in ("image", "voice", "heartbeat"):
            request_action(store, kind, key=f"{kind}:1", payload={"n": 1}, character="Mira", user="test:alice")
        defs = build_definitions(Settings.from_env())
        with dg.instance_for_test() as instance:
            job = defs.resolve_job_def("actions_job")
            first = job.execute_in_process(instance=instance)
            second = job.execute_in_process(instance=instance)  # nothing left: posts nothing
        assert first.success and second.success
        assert first.output_for_node("deliver_due_actions") is None
        kinds = []
        for _, headers, body in bot.calls:
            assert webhooks.verify(body, SECRET, headers["X-BGP-Signature"])
            kinds.append(json.loads(body)["kind"])
        assert sorted(kinds) == ["heartbeat", "image", "voice"]
        assert {a["status"] for a in astore.list_actions(store)} == {"delivered"}
    finally:
        bot.close()


def test_giving_up_after_max_attempts_fails_the_run_with_the_reason(bgp_env, store, monkeypatch):
    down = Receiver(status=500)
    monkeypatch.setenv("BGP_ACTIONS_WEBHOOK_URL", down.url)
    monkeypatch.setenv("BGP_ACTIONS_MAX_ATTEMPTS", "2")
    try:
        request_action(store, "post", key="post:1", payload={"text": "hello"})
        r = deliver_actions(store, down.url, SECRET, max_attempts=2)
        assert r.retrying and not r.failed
        # the backoff passed: the actions_job run makes the last attempt, gives up, and fails
        (row,) = astore.list_actions(store)
        with store.begin() as conn:
            from sqlalchemy import update

            from background_pipelines.store.schema import outbound_actions
            conn.execute(update(outbound_actions).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        defs = build_definitions(Settings.from_env())
        with dg.instance_for_test() as instance:
            result = defs.resolve_job_def("actions_job").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        assert "1 action(s) failed for good" in failure.step_failure_data.error.message
    finally:
        down.close()
    (row,) = astore.list_actions(store)
    assert row["status"] == "failed" and row["attempts"] == 2
    assert "answered HTTP 500" in row["last_error"] and "gave up after 2 attempts" in row["last_error"]
    assert len(down.calls) == 2


def test_a_deliverer_that_died_mid_request_never_posts_twice(store, capsys, bgp_env):
    bot = Receiver()
    try:
        q = request_action(store, "image", key="image:1", payload={"prompt": "a cat"})
        assert astore.claim(store, q.id, "dead-run", utcnow() - timedelta(minutes=30)) is not None  # then it died
        r = deliver_actions(store, bot.url, SECRET)
        assert r.stale == [q.id] and not r.delivered and bot.calls == []
        row = astore.get(store, q.id)
        assert row["status"] == "failed" and "outcome unknown" in row["last_error"]
        # an operator decides to send it again
        assert bgp(["actions", "retry", str(q.id)]) == 0
        assert "1 failed action(s) pending again" in capsys.readouterr().out
        assert len(deliver_actions(store, bot.url, SECRET).delivered) == 1 and len(bot.calls) == 1
        assert bgp(["actions", "list"]) == 0 and "delivered" in capsys.readouterr().out
    finally:
        bot.close()


def test_diary_posts_queue_one_post_per_entry_and_actions_job_delivers_them(bgp_env, store, monkeypatch):
    from background_pipelines.store.ledger import utcnow as now_
    from background_pipelines.store.schema import diaries

    with store.begin() as conn:  # the diaries asset's output for 2026-12-06 (upstream data of this test)
        for character in ("Mira", "Juno"):
            conn.execute(diaries.insert().values(
                character=character, day="2026-12-06", title=f"{character}'s day", text=f"{character} wrote", mood="calm",
                users=[], source_message_ids=[], source_summary_ids=[], source_fact_ids=[], material_hash="h", backend="offline",
                version="v", created_at=now_(), updated_at=now_()))
    bot = Receiver()
    monkeypatch.setenv("BGP_ACTIONS_WEBHOOK_URL", bot.url)
    monkeypatch.setenv("BGP_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("BGP_ACTIONS_DIARY_POSTS", "true")
    monkeypatch.setenv("BGP_START_DATE", "2026-12-01")
    try:
        defs = build_definitions(Settings.from_env())
        with dg.instance_for_test() as instance:
            nightly = defs.resolve_job_def("nightly_job")
            assert dg.AssetKey("diary_posts") in nightly.asset_layer.executable_asset_keys  # runs after diaries each night
            job = defs.resolve_implicit_global_asset_job_def()
            runs = [job.execute_in_process(instance=instance, partition_key="2026-12-06",
                                           asset_selection=[dg.AssetKey("diary_posts")]) for _ in range(2)]
            metas = [r.asset_materializations_for_node("diary_posts")[0].metadata for r in runs]
            assert (metas[0]["queued"].value, metas[1]["queued"].value, metas[1]["already_queued"].value) == (2, 0, 2)
            assert defs.resolve_job_def("actions_job").execute_in_process(instance=instance).success
        posts = sorted((json.loads(b)["key"], json.loads(b)["payload"]["text"]) for _, _, b in bot.calls)
        assert posts == [("diary:Juno:2026-12-06", "Juno wrote"), ("diary:Mira:2026-12-06", "Mira wrote")]
    finally:
        bot.close()


@pytest.mark.parametrize("flag", ["ENABLE_CHARACTER_DIARY", "BGP_CHAT_LLM_ENABLED", "BGP_ACTIONS_DIARY_POSTS"])
def test_diary_posts_exist_only_with_diaries_and_their_flag(bgp_env, monkeypatch, flag):
    monkeypatch.setenv("BGP_ACTIONS_DIARY_POSTS", "true")
    on = build_definitions(Settings.from_env())
    monkeypatch.setenv(flag, "false")
    off = build_definitions(Settings.from_env())
    keys = lambda d: {k.to_user_string() for a in d.assets or [] if isinstance(a, dg.AssetsDefinition) for k in a.keys}  # noqa: E731
    assert "diary_posts" in keys(on) and "diary_posts" not in keys(off)
