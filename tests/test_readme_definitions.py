"""The README names every job, sensor and schedule the code location defines (everything on), so a
new one cannot land undocumented; and every job of its jobs table exists."""

from __future__ import annotations

import re
from pathlib import Path

from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_job_sensor_and_schedule_is_in_the_readme(tmp_path):
    env = {"BGP_HOME": str(tmp_path), "BGP_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
           "BGP_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/alerts", "BGP_COMPLETION_WEBHOOK_ASSETS": "diaries",
           "BGP_ACTIONS_WEBHOOK_URL": "http://127.0.0.1:9/bot", "BGP_ACTIONS_DIARY_POSTS": "true"}
    repo = build_definitions(Settings.from_env(env)).get_repository_def()
    names = {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")}
    names |= {s.name for s in repo.sensor_defs} | {s.name for s in repo.schedule_defs}
    missing = sorted(n for n in names if f"`{n}`" not in README)
    assert missing == []
    table_jobs = set(re.findall(r"^\| `(\w+_job)` \|", README, re.MULTILINE))
    assert table_jobs and table_jobs <= names
    assert {j for j in names if j.endswith("_job")} <= table_jobs
