"""Scheduled prompts: the API and `bgp prompts` (bad input writes nothing), the exactly-once fire
(compare-and-set + unique claim, also under concurrent firing), cron in the user's timezone, the
48-hour cleanup, and the real scheduled_prompts_sensor -> actions_job -> signed webhook path across a
restart with a fresh instance and cursor and across two daemons evaluating at once."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import func, select

from assets.resources import StoreResource
from background_pipelines import record_messages, webhooks
from background_pipelines.cleanup import run_cleanup
from background_pipelines.cli import main as bgp
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.prompts import PromptError, add_prompt, cancel_prompt, fire_due_prompts, list_prompts
from background_pipelines.store import actions as astore
from background_pipelines.store import prompts as pstore
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import outbound_actions, prompt_fires, scheduled_prompts
from test_webhooks import SECRET, Receiver

ALICE = "test:alice"
NOW = datetime(2026, 12, 7, 12, 0)  # a Monday, UTC


@pytest.fixture
def people(store):
    record_messages([
        {"external_id": "1", "channel": "dm", "session": "s", "author": "alice", "text": "hi", "created_at": "2026-12-01T10:00:00Z"},
        {"external_id": "2", "channel": "dm", "session": "s", "author": "Mira", "author_kind": "character", "text": "hello",
         "created_at": "2026-12-01T10:00:05Z"},
    ], store, platform="test")
    return store


def _count(store, table) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_one_off_prompt_in_the_users_timezone(people):
    p = add_prompt(people, "alice", "Mira", "call mum", at="friday 9am", timezone="Europe/Berlin", now=NOW)
    assert p.user == ALICE and p.kind == "once" and p.status == "active"
    assert p.next_at == datetime(2026, 12, 11, 8, 0)  # Friday 09:00 in Berlin (UTC+1) is 08:00 UTC
    assert p.next_local.isoformat() == "2026-12-11T09:00:00+01:00"
    assert add_prompt(people, ALICE, "Mira", "x", at="in 90 minutes", now=NOW).next_at == NOW + timedelta(minutes=90)
    assert add_prompt(people, ALICE, "Mira", "x", at="2026-12-08 07:30", timezone="America/New_York", now=NOW).next_at == datetime(2026, 12, 8, 12, 30)


@pytest.mark.parametrize("kwargs, message", [
    (dict(at="next blue moon"), "time 'next blue moon': not understood"),
    (dict(at="2020-01-01 09:00"), "is in the past"),
    (dict(at="tomorrow 25:00"), "is not a time of day"),
    (dict(cron="61 9 * * *"), "cron '61 9 * * *': expected five fields"),
    (dict(cron="*/10 * * * * *"), "expected five fields"),
    (dict(at="in 1 hour", cron="0 9 * * *"), "exactly one of"),
    (dict(at="in 1 hour", timezone="Mars/Olympus"), "timezone 'Mars/Olympus': not an IANA timezone"),
    (dict(at="in 1 hour", user="nobody"), "unknown user 'nobody'"),
    (dict(at="in 1 hour", character="Zed"), "unknown character 'Zed'"),
    (dict(at="in 1 hour", text="  "), "text: the prompt is empty"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(people, kwargs, message):
    kwargs, args = dict(kwargs), dict(user="alice", character="Mira", text="call mum")  # the params are shared by backends
    args.update({k: kwargs.pop(k) for k in ("user", "character", "text") if k in kwargs})
    with pytest.raises(PromptError, match=message.replace("(", r"\(").replace("*", r"\*")):
        add_prompt(people, args["user"], args["character"], args["text"], now=NOW, **kwargs)
    assert _count(people, scheduled_prompts) == 0


def test_a_due_prompt_fires_once_and_a_second_evaluation_adds_nothing(people):
    p = add_prompt(people, "alice", "Mira", "call mum", at="in 5 minutes", now=NOW)
    assert fire_due_prompts(people, now=NOW).fired == []  # not due yet
    first = fire_due_prompts(people, now=NOW + timedelta(minutes=6))
    assert [(pid, occ) for pid, occ, _ in first.fired] == [(p.id, NOW + timedelta(minutes=5))]
    again = fire_due_prompts(people, now=NOW + timedelta(minutes=7))
    assert again.fired == [] and again.taken == 0
    assert _count(people, prompt_fires) == 1 and _count(people, outbound_actions) == 1
    (row,) = list_prompts(people, user="alice")
    assert row.status == "done" and row.next_at is None and row.fired == 1
    (action,) = astore.list_actions(people)
    assert action["kind"] == "prompt" and action["user_name"] == ALICE and action["payload"]["text"] == "call mum"


def test_a_stale_read_cannot_fire_an_occurrence_twice(people):
    """Two daemons read the same due prompt; the second's compare-and-set finds next_at moved and rolls back."""
    add_prompt(people, "alice", "Mira", "call mum", at="in 5 minutes", now=NOW)
    later = NOW + timedelta(minutes=6)
    (seen,) = pstore.due(people, later, 10)  # what the second daemon read before the first committed
    assert len(fire_due_prompts(people, now=later).fired) == 1
    with people.begin() as conn:
        assert pstore.advance(conn, seen, next_at=None, now=later) is False
    with people.begin() as conn:  # and the claim row alone also refuses the occurrence
        assert pstore.claim_occurrence(conn, seen, skipped=0, now=later) is False
    assert _count(people, prompt_fires) == 1 and _count(people, outbound_actions) == 1


def test_concurrent_firing_claims_each_occurrence_once(people):
    ids = [add_prompt(people, "alice", "Mira", f"p{i}", at="in 1 minute", now=NOW).id for i in range(12)]
    results, errors = [], []
    barrier = threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            results.append(fire_due_prompts(people, now=NOW + timedelta(minutes=2)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    fired = sorted(pid for r in results for pid, _, _ in r.fired)
    assert fired == sorted(ids)  # each once, across 4 concurrent firers
    assert _count(people, prompt_fires) == 12 and _count(people, outbound_actions) == 12


def test_cron_prompt_follows_local_time_across_dst_and_skips_missed_occurrences(people):
    p = add_prompt(people, "alice", "Mira", "stretch", cron="0 9 * * *", timezone="America/New_York", now=datetime(2026, 3, 7, 15))
    assert p.next_at == datetime(2026, 3, 8, 13)  # 09:00 EDT (DST starts 2026-03-08) is 13:00 UTC
    r = fire_due_prompts(people, now=datetime(2026, 3, 8, 13, 0, 30))
    assert len(r.fired) == 1 and r.skipped == 0
    (row,) = list_prompts(people)
    assert row.next_at == datetime(2026, 3, 9, 13) and row.status == "active"
    # the daemon was down three days: the earliest due occurrence fires once, the two after it are skipped
    r = fire_due_prompts(people, now=datetime(2026, 3, 11, 14))
    assert [occ for _, occ, _ in r.fired] == [datetime(2026, 3, 9, 13)] and r.skipped == 2
    (row,) = list_prompts(people)
    assert row.next_at == datetime(2026, 3, 12, 13) and row.fired == 2
    assert [f["skipped"] for f in pstore.fires(people)] == [0, 2]


def test_cancel_stops_a_prompt_and_is_idempotent(people):
    p = add_prompt(people, "alice", "Mira", "x", cron="*/5 * * * *", now=NOW)
    assert cancel_prompt(people, p.id).status == "cancelled"
    assert cancel_prompt(people, p.id).status == "cancelled"
    assert fire_due_prompts(people, now=NOW + timedelta(days=1)).fired == []
    with pytest.raises(PromptError, match="unknown prompt id 999"):
        cancel_prompt(people, 999)


def test_cleanup_removes_finished_prompts_older_than_7_days(people):
    done = add_prompt(people, "alice", "Mira", "old", at="in 1 minute", now=NOW - timedelta(days=10))
    fire_due_prompts(people, now=NOW - timedelta(days=10) + timedelta(minutes=2))
    undelivered = add_prompt(people, "alice", "Mira", "old, never delivered", at="in 1 minute", now=NOW - timedelta(days=10))
    fire_due_prompts(people, now=NOW - timedelta(days=10) + timedelta(minutes=2))
    cancelled = add_prompt(people, "alice", "Mira", "old cancelled", cron="0 9 * * *", now=NOW - timedelta(days=9))
    cancel_prompt(people, cancelled.id, now=NOW - timedelta(days=9))
    recent = add_prompt(people, "alice", "Mira", "recent cancelled", cron="0 9 * * *", now=NOW - timedelta(days=1))
    cancel_prompt(people, recent.id, now=NOW - timedelta(days=1))
    active = add_prompt(people, "alice", "Mira", "active", cron="0 9 * * *", now=NOW - timedelta(days=30))
    # the first one's action was delivered; the second's is still pending
    (first_action,) = [a for a in astore.list_actions(people) if a["payload"]["prompt_id"] == done.id]
    token = "t"
    astore.claim(people, first_action["id"], token, NOW - timedelta(days=10))
    astore.settle(people, first_action["id"], token, status=astore.DELIVERED, error=None, now=NOW - timedelta(days=10))

    result = run_cleanup(people, 7, now=NOW)

    assert result.prompts_deleted == 2 and result.prompt_fires_deleted == 1 and result.actions_deleted == 1
    left = {p.id for p in list_prompts(people)}
    assert left == {undelivered.id, recent.id, active.id}
    assert run_cleanup(people, 7, now=NOW).prompts_deleted == 0  # idempotent


def test_bgp_prompts_add_list_cancel(bgp_env, people, capsys):
    assert bgp(["prompts", "add", "alice", "Mira", "call mum", "--at", "in 2 hours", "--timezone", "Europe/Paris", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["user"] == ALICE and added["status"] == "active" and added["next_local"].endswith("+01:00")
    assert bgp(["prompts", "add", "alice", "Mira", "standup", "--cron", "30 9 * * 1-5"]) == 0
    assert "cron '30 9 * * 1-5'" in capsys.readouterr().out
    assert bgp(["prompts", "list", "--user", "alice"]) == 0
    listing = capsys.readouterr().out
    assert "call mum" in listing and "standup" in listing
    assert bgp(["prompts", "cancel", str(added["id"])]) == 0 and "cancelled" in capsys.readouterr().out
    assert bgp(["prompts", "add", "nobody", "Mira", "x", "--at", "in 1 hour"]) == 1
    assert "error: unknown user 'nobody'" in capsys.readouterr().err
    assert bgp(["prompts", "add", "alice", "Mira", "x", "--at", "someday"]) == 1
    assert "error: time 'someday': not understood" in capsys.readouterr().err
    assert len(list_prompts(people)) == 2


# -- the Dagster path: sensor tick -> actions_job run -> the bot's webhook ----------------------------

@pytest.fixture
def bot():
    r = Receiver()
    yield r
    r.close()


def _defs(monkeypatch, url):
    monkeypatch.setenv("BGP_ACTIONS_WEBHOOK_URL", url)
    monkeypatch.setenv("BGP_WEBHOOK_SECRET", SECRET)
    return build_definitions(Settings.from_env())


def _tick(defs, instance):
    """One evaluation of scheduled_prompts_sensor, as a daemon on `instance` makes it (its own cursor)."""
    repo = defs.get_repository_def()
    sensor = repo.get_sensor_def("scheduled_prompts_sensor")
    assert sensor.minimum_interval_seconds == 60
    with dg.build_sensor_context(instance=instance, resources={"store": StoreResource()}, definitions=defs) as ctx:
        return sensor.evaluate_tick(ctx)


def _run(defs, instance, request):
    job = defs.resolve_job_def(request.job_name or "actions_job")
    return job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)


def test_due_prompt_is_delivered_once_across_a_restart(bgp_env, people, monkeypatch, bot):
    p = add_prompt(people, "alice", "Mira", "call mum", at="in 1 minute", timezone="Europe/Berlin", now=utcnow() - timedelta(minutes=5))
    defs = _defs(monkeypatch, bot.url)
    with dg.instance_for_test() as first:
        data = _tick(defs, first)
        (request,) = data.run_requests
        assert _run(defs, first, request).success
    assert len(bot.calls) == 1
    _, headers, body = bot.calls[0]
    assert webhooks.verify(body, SECRET, headers["X-BGP-Signature"]) and headers["X-BGP-Event"] == "action"
    sent = json.loads(body)
    assert sent["kind"] == "prompt" and sent["user"] == ALICE and sent["character"] == "Mira"
    assert sent["payload"]["text"] == "call mum" and sent["payload"]["prompt_id"] == p.id
    assert sent["key"] == f"prompt:{p.id}:{p.next_at.isoformat(timespec='seconds')}"
    # a restart: a new instance, no cursor, the same store
    with dg.instance_for_test() as restarted:
        again = _tick(defs, restarted)
        assert again.run_requests == [] and "no action due" in again.skip_message
    assert len(bot.calls) == 1 and _count(people, prompt_fires) == 1
    (action,) = astore.list_actions(people)
    assert action["status"] == "delivered" and action["attempts"] == 1


def test_two_daemons_ticking_at_once_deliver_once(bgp_env, people, monkeypatch, bot):
    add_prompt(people, "alice", "Mira", "call mum", at="in 1 minute", now=utcnow() - timedelta(minutes=5))
    defs = _defs(monkeypatch, bot.url)
    with dg.instance_for_test() as a, dg.instance_for_test() as b:
        (req_a,) = _tick(defs, a).run_requests  # fires the prompt: one claim, one queued action
        (req_b,) = _tick(defs, b).run_requests  # fires nothing; the queued action is due, so it asks too
        assert req_a.run_key == req_b.run_key
        assert _run(defs, a, req_a).success and _run(defs, b, req_b).success
    assert len(bot.calls) == 1 and _count(people, prompt_fires) == 1


def test_refused_delivery_is_retried_with_the_reason_then_delivered(bgp_env, people, monkeypatch):
    add_prompt(people, "alice", "Mira", "call mum", at="in 1 minute", now=utcnow() - timedelta(minutes=5))
    down = Receiver(status=503)
    try:
        defs = _defs(monkeypatch, down.url)
        with dg.instance_for_test() as instance:
            (request,) = _tick(defs, instance).run_requests
            result = _run(defs, instance, request)
            assert result.success  # a retry is pending: no alert yet
            (action,) = astore.list_actions(people)
            assert action["status"] == "pending" and action["attempts"] == 1
            assert "answered HTTP 503" in action["last_error"] and "token-in-path" not in action["last_error"]
            assert action["next_attempt_at"] > utcnow()  # backed off: the next tick does not hammer the bot
            assert _tick(defs, instance).run_requests == []
    finally:
        down.close()
    assert len(down.calls) == 1
    up = Receiver()
    try:
        from background_pipelines.actions import deliver_actions

        r = deliver_actions(people, up.url, SECRET, now=utcnow() + timedelta(minutes=2))
        assert len(r.delivered) == 1 and len(up.calls) == 1
        assert json.loads(up.calls[0][2])["attempt"] == 2
    finally:
        up.close()
    assert _count(people, prompt_fires) == 1


def test_without_the_webhook_url_prompts_wait_and_no_sensor_exists(bgp_env, people, monkeypatch):
    monkeypatch.delenv("BGP_ACTIONS_WEBHOOK_URL", raising=False)
    defs = build_definitions(Settings.from_env())
    with dg.instance_for_test():
        repo = defs.get_repository_def()
        assert "scheduled_prompts_sensor" not in {s.name for s in repo.sensor_defs}
        assert "actions_job" in {j.name for j in repo.get_all_jobs()}


def test_forgetting_a_user_forgets_their_prompts_claims_and_actions(people, tmp_path):
    from background_pipelines.forget import forget

    add_prompt(people, "alice", "Mira", "call mum", at="in 1 minute", now=NOW)
    add_prompt(people, "alice", "Mira", "stretch", cron="0 9 * * *", now=NOW)
    fire_due_prompts(people, now=NOW + timedelta(minutes=2))
    assert (_count(people, scheduled_prompts), _count(people, prompt_fires), _count(people, outbound_actions)) == (2, 1, 1)
    forget(people, user="alice", home=tmp_path)
    assert (_count(people, scheduled_prompts), _count(people, prompt_fires), _count(people, outbound_actions)) == (0, 0, 0)
