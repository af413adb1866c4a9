"""The sensors as Dagster evaluates them: build_sensor_context over a real store and a real instance."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest

from _sensors_data import add_messages
from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.store.ledger import utcnow


@pytest.fixture
def defs(bgp_env):
    return build_definitions(Settings.from_env())


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _tick(defs, instance, db_url, cursor=None, name="new_messages_sensor"):
    sensor = defs.get_repository_def().get_sensor_def(name)
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"store": StoreResource(database_url=db_url)}, definitions=defs
    )
    return sensor.evaluate_tick(ctx)


def _requests(data):
    return sorted((r.job_name, r.partition_key, r.run_key) for r in data.run_requests)


def test_new_messages_sensor_targets_the_message_jobs(defs):
    sensor = defs.get_repository_def().get_sensor_def("new_messages_sensor")
    assert {t.job_name for t in sensor.targets} == {"scoring_job", "summaries_job", "knowledge_job"}
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_empty_store_skips_with_reason(defs, instance, bgp_env):
    data = _tick(defs, instance, bgp_env)
    assert data.run_requests == [] and data.skip_message == "no new messages past id 0"


def test_crossing_thresholds_requests_exactly_the_expected_runs(defs, instance, store, bgp_env):
    at = utcnow() - timedelta(minutes=30)
    ids = add_messages(store, 20, session="s1", at=at, step=timedelta(seconds=0))
    day = at.strftime("%Y-%m-%d")
    data = _tick(defs, instance, bgp_env)
    assert _requests(data) == [
        ("knowledge_job", day, f"knowledge:{day}:{ids[-1]}"),
        ("scoring_job", day, f"scoring:{day}:{ids[-1]}"),
        ("summaries_job", day, f"summaries:{day}:{ids[-1]}"),
    ]
    priorities = {r.job_name: defs.resolve_job_def(r.job_name).tags["dagster/priority"] for r in data.run_requests}
    assert int(priorities["scoring_job"]) > int(priorities["summaries_job"])  # sensory before cognition
    assert json.loads(data.cursor)["seen"] == ids[-1]


def test_below_threshold_within_min_interval_skips_and_says_why(defs, instance, store, bgp_env):
    add_messages(store, 2, at=utcnow() - timedelta(minutes=5))
    first = _tick(defs, instance, bgp_env)
    assert [r.job_name for r in first.run_requests] == ["scoring_job"]
    add_messages(store, 3, at=utcnow() - timedelta(minutes=1))
    second = _tick(defs, instance, bgp_env, cursor=first.cursor)
    assert second.run_requests == []
    assert "3 new messages wait for scoring" in second.skip_message
    assert "no session at 20 unsummarised messages (most: 5 in 's1')" in second.skip_message
    assert "5/10 user messages wait for knowledge" in second.skip_message
    assert json.loads(second.cursor)["seen"] > json.loads(first.cursor)["seen"]


def test_same_tick_twice_gives_the_same_run_keys(defs, instance, store, bgp_env):
    add_messages(store, 12, session="s9", at=utcnow() - timedelta(minutes=10))
    a = _tick(defs, instance, bgp_env)
    b = _tick(defs, instance, bgp_env)
    assert _requests(a) == _requests(b) and len(a.run_requests) == 2  # scoring + knowledge
    def same(cur):  # without the clock readings (when scoring and each outstanding request were asked for)
        c = {k: v for k, v in json.loads(cur).items() if k != "scored_at"}
        c["outstanding"] = {stage: e[:4] + e[5:] for stage, e in c["outstanding"].items()}
        return c

    assert same(a.cursor) == same(b.cursor)
    c = _tick(defs, instance, bgp_env, cursor=a.cursor)
    assert c.run_requests == [] and c.skip_message.startswith("no new messages past id")


def test_messages_before_the_start_date_are_reported_not_requested(defs, instance, store, bgp_env):
    from datetime import datetime

    add_messages(store, 3, at=datetime(2020, 1, 1, 12))
    data = _tick(defs, instance, bgp_env)
    assert data.run_requests == [] and "2020-01-01: not a partition" in data.skip_message


def test_sensors_start_stopped_when_configured(bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_AUTOMATION_DEFAULT_STATUS", "stopped")
    repo = build_definitions(Settings.from_env()).get_repository_def()
    assert {s.default_status for s in repo.sensor_defs} == {dg.DefaultSensorStatus.STOPPED}
    assert {s.default_status for s in repo.schedule_defs} == {dg.DefaultScheduleStatus.STOPPED}


def test_cursor_survives_a_code_location_rename(defs, instance, store, bgp_env):
    ids = add_messages(store, 12, session="s9", at=utcnow() - timedelta(minutes=10))
    first = _tick(defs, instance, bgp_env)
    more = add_messages(store, 2, session="s9", at=utcnow() - timedelta(minutes=1))
    second = _tick(defs, instance, bgp_env, cursor=first.cursor)  # Dagster committed first.cursor
    assert json.loads(second.cursor)["seen"] == more[-1]
    # renamed location: Dagster has no cursor for the "new" sensor; the one kept by sensor name is used,
    # so the 12 messages the first tick requested are not requested again
    renamed = _tick(defs, instance, bgp_env, cursor=None)
    assert json.loads(renamed.cursor)["seen"] == more[-1] and ids[-1] < more[-1]
    assert _requests(renamed) == _requests(second)  # at worst the last tick again: same run keys
    reset = _tick(defs, instance, bgp_env, cursor="{}")  # a deliberate reset still starts from scratch
    assert json.loads(reset.cursor)["seen"] == more[-1] and any(r.run_key.endswith(f":{more[-1]}") for r in reset.run_requests)
