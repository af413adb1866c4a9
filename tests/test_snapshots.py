"""Store snapshots on a schedule: ticks of snapshot_schedule each run snapshot_job for real, and the
snapshots keep the newest 5 (files and catalogue); nightly backups are untouched."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from background_pipelines.backup import backup_store
from background_pipelines.config import ConfigError, Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.store.backups import list_backups


def test_snapshot_schedule_keeps_the_newest_5(bgp_env, store, tmp_path, monkeypatch):
    backup_dir = tmp_path / "backups"
    monkeypatch.setenv("BGP_BACKUP_DIR", str(backup_dir))
    settings = Settings.from_env()
    nightly = backup_store(store, backup_dir, kind="nightly")
    defs = build_definitions(settings)
    made, keys = [], set()
    with dg.instance_for_test() as instance:
        sched = defs.get_repository_def().get_schedule_def("snapshot_schedule")
        assert sched.cron_schedule == "45 */6 * * *"
        for i in range(7):
            when = datetime(2026, 12, 1, 0, 45, tzinfo=timezone.utc) + timedelta(hours=6 * i)
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                           repository_def=defs.get_repository_def()) as ctx:
                (request,) = sched.evaluate_tick(ctx).run_requests
            keys.add(request.run_key)
            result = defs.resolve_job_def(request.job_name or "snapshot_job").execute_in_process(instance=instance, tags=request.tags)
            assert result.success
            (mat,) = result.asset_materializations_for_node("store_backup")
            assert mat.metadata["kind"].value == "snapshot"
            made.append(mat.metadata["path"].value)
    assert len(keys) == 7  # one run per tick
    kept = list_backups(store, "snapshot")
    assert [b["path"] for b in kept] == list(reversed(made[-5:]))  # the newest 5, newest first
    on_disk = sorted(str(p) for p in backup_dir.iterdir() if "snapshot" in p.name)
    assert on_disk == sorted(made[-5:])
    assert [b["path"] for b in list_backups(store, "nightly")] == [nightly.path] and Path(nightly.path).exists()


def test_snapshot_interval_must_divide_the_day(monkeypatch):
    monkeypatch.setenv("BGP_SNAPSHOT_EVERY_HOURS", "5")
    with pytest.raises(ConfigError, match="BGP_SNAPSHOT_EVERY_HOURS=5: expected a divisor of 24"):
        Settings.from_env()
