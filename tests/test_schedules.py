"""Schedules evaluated with build_schedule_context: yesterday's partition in BGP_TIMEZONE, and the
48-hour cleanup cadence against real runs on a real instance."""

from __future__ import annotations

import functools

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from background_pipelines.config import ConfigError, Settings
from background_pipelines.definitions import build_definitions
from sensors.jobs import asset_jobs
from sensors.schedules import build_schedules, partition_schedule


def _settings(monkeypatch, tz):
    monkeypatch.setenv("BGP_TIMEZONE", tz)
    return Settings.from_env()


@pytest.fixture
def sched_env(tmp_path, monkeypatch):
    """Schedules never read the store (the cleanup job does): one SQLite store, not every backend."""
    monkeypatch.setenv("BGP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BGP_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "hashing")
    # the store is empty, so the partitions would start today: fix them where the tick dates fall
    monkeypatch.setenv("BGP_START_DATE", "2026-10-01")


@functools.lru_cache(maxsize=16)
def _defs(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


def _evaluate(schedule, when, instance=None, settings=None):
    """Evaluate `schedule` inside the code location (plus itself, for probe schedules)."""
    defs = _defs(settings or Settings.from_env())
    if schedule.name not in {s.name for s in defs.get_repository_def().schedule_defs}:
        defs = dg.Definitions.merge(defs, dg.Definitions(schedules=[schedule]))
    if instance is None:
        with dg.instance_for_test() as own:
            return _evaluate(schedule, when, own, settings)
    # closed on exit: an open context can leave Dagster's defs-state storage pointing at this test's
    # temporary instance after it is gone, and break a later test
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()) as ctx:
        return schedule.evaluate_tick(ctx)


@pytest.mark.parametrize(
    "tz, local_tick, expected",
    [
        ("UTC", datetime(2026, 11, 21, 3), "2026-11-20"),
        # 03:00 on the 21st in UTC+14 is still the 20th in UTC: yesterday is the 20th there, not the 19th
        ("Pacific/Kiritimati", datetime(2026, 11, 21, 3), "2026-11-20"),
        ("America/Los_Angeles", datetime(2026, 11, 1, 3), "2026-10-31"),  # the DST change night
    ],
)
def test_nightly_partition_is_yesterday_in_the_configured_timezone(sched_env, monkeypatch, tz, local_tick, expected):
    settings = _settings(monkeypatch, tz)
    built = asset_jobs(settings)["scoring_job"]
    sched = partition_schedule("probe_schedule", built, settings.nightly_hour, settings, "probe")
    assert sched.execution_timezone == tz and sched.cron_schedule == "0 3 * * *"
    when = local_tick.replace(tzinfo=ZoneInfo(tz))
    with dg.instance_for_test() as instance:
        data = _evaluate(sched, when, instance, settings)
        assert [(r.partition_key, r.run_key) for r in data.run_requests] == [(expected, f"probe_schedule:{expected}")]
        # every nightly/daily/weekly schedule of the code location agrees
        for s in build_schedules(settings):
            if s.name in ("cleanup_schedule", "channel_summaries_schedule"):
                continue
            reqs = _evaluate(s, when, instance, settings).run_requests
            assert [r.partition_key for r in reqs] in ([expected], [None]), s.name


def test_nightly_hour_and_timezone_come_from_settings(sched_env, monkeypatch):
    monkeypatch.setenv("BGP_NIGHTLY_HOUR", "1")
    settings = _settings(monkeypatch, "Europe/Berlin")
    schedules = {s.name: s for s in build_schedules(settings)}
    assert {s.execution_timezone for n, s in schedules.items() if n != "channel_summaries_schedule"} == {"Europe/Berlin"}
    assert schedules["cleanup_schedule"].cron_schedule == "30 2 * * *"
    for name, cron in (("nightly_schedule", "0 1 * * *"), ("drift_schedule", "0 2 * * *"), ("weekly_upkeep_schedule", "0 3 * * 0")):
        if name in schedules:
            assert schedules[name].cron_schedule == cron


@pytest.mark.parametrize("tick, expected", [(datetime(2026, 11, 21, 0, 5), "2026-11-20"), (datetime(2026, 11, 21, 6, 5), "2026-11-21")])
def test_channel_summaries_close_the_utc_day_whose_window_just_ended(sched_env, monkeypatch, tick, expected):
    settings = _settings(monkeypatch, "Asia/Tokyo")  # channel windows are UTC whatever BGP_TIMEZONE says
    sched = {s.name: s for s in build_schedules(settings)}.get("channel_summaries_schedule")
    if sched is None:
        pytest.skip("no channel_summaries asset in this code location")
    data = _evaluate(sched, tick.replace(tzinfo=timezone.utc), settings=settings)
    assert [r.partition_key for r in data.run_requests] == [expected]


def test_yesterday_before_the_start_date_is_skipped(sched_env, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-11-21")
    settings = _settings(monkeypatch, "UTC")
    sched = partition_schedule("probe_schedule", asset_jobs(settings)["scoring_job"], 3, settings, "probe")
    data = _evaluate(sched, datetime(2026, 11, 21, 3, tzinfo=timezone.utc), settings=settings)
    assert data.run_requests == [] and "2026-11-20 is not a partition" in data.skip_message


def test_unknown_timezone_is_a_clear_error(sched_env, monkeypatch):
    with pytest.raises(ConfigError, match="BGP_TIMEZONE='Mars/Olympus'"):
        build_schedules(_settings(monkeypatch, "Mars/Olympus"))


def test_cleanup_runs_every_48_hours(sched_env, monkeypatch):
    defs = build_definitions(_settings(monkeypatch, "UTC"))
    sched = defs.get_repository_def().get_schedule_def("cleanup_schedule")
    with dg.instance_for_test() as instance:
        now = datetime.now(timezone.utc)
        first = _evaluate(sched, now, instance)
        assert len(first.run_requests) == 1 and first.run_requests[0].job_name in (None, "cleanup_job")
        assert defs.resolve_job_def("cleanup_job").execute_in_process(instance=instance).success
        day_later = _evaluate(sched, now + timedelta(hours=24), instance)
        assert day_later.run_requests == [] and "it runs every 48 h" in day_later.skip_message
        two_days = _evaluate(sched, now + timedelta(hours=48), instance)
        assert len(two_days.run_requests) == 1
