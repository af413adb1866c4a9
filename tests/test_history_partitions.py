"""Day partitions follow the store: they start at its earliest message day when the code location
loads (BGP_START_DATE overrides), and messages no partition can hold are reported."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from _sensors_data import add_messages
from background_pipelines.config import ConfigError, Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.history import history_span, partition_start, today_utc


def _daily(defs):
    return defs.get_repository_def().asset_graph.get(_key("message_scores")).partitions_def


def _key(name):
    import dagster as dg

    return dg.AssetKey(name)


def test_partitions_start_at_the_earliest_message_day_without_configuration(bgp_env, store, monkeypatch):
    monkeypatch.delenv("BGP_START_DATE", raising=False)
    add_messages(store, 3, at=datetime(2024, 3, 4, 22, 30))
    add_messages(store, 2, session="s2", at=datetime(2025, 1, 2, 8))
    defs = build_definitions(Settings.from_env())
    daily = _daily(defs)
    assert daily.start.strftime("%Y-%m-%d") == "2024-03-04"
    keys = daily.get_partition_keys()
    assert keys[0] == "2024-03-04" and keys[-1] == today_utc() and "2025-01-02" in keys
    # every job and schedule shares the one partitioning (a sensor's has_partition_key agrees)
    job = defs.resolve_job_def("scoring_job")
    assert job.partitions_def == daily and job.partitions_def.has_partition_key("2024-03-04")


def test_start_date_setting_overrides_the_store(bgp_env, store, monkeypatch):
    add_messages(store, 3, at=datetime(2024, 3, 4, 12))
    monkeypatch.setenv("BGP_START_DATE", "2025-06-01")
    assert _daily(build_definitions(Settings.from_env())).get_partition_keys()[0] == "2025-06-01"


def test_malformed_start_date_is_one_clear_error(monkeypatch):
    with pytest.raises(ConfigError, match=r"BGP_START_DATE='2024-13-01': expected a date YYYY-MM-DD"):
        Settings.from_env({"BGP_START_DATE": "2024-13-01"})


def test_empty_store_starts_today(bgp_env, monkeypatch):
    monkeypatch.delenv("BGP_START_DATE", raising=False)
    assert partition_start(Settings.from_env()) == today_utc()


def test_messages_from_1970_and_the_future_are_reported_not_partitions(bgp_env, store, monkeypatch):
    monkeypatch.delenv("BGP_START_DATE", raising=False)
    old = add_messages(store, 2, session="zero", at=datetime(1970, 1, 1, 0, 0, 5))
    future = add_messages(store, 1, session="later", at=datetime.utcnow() + timedelta(days=40))
    add_messages(store, 4, at=datetime(2023, 7, 9, 10))
    span = history_span(store)
    assert (span.first_day, span.too_old, span.future) == ("2023-07-09", 2, 1)
    line = span.report()
    assert "2 dated before 1971-01-01" in line and f"ids {old}" in line and f"ids {future}" in line
    # the 1970 messages do not stretch the partitions back to 1970
    assert partition_start(Settings.from_env()) == "2023-07-09"
