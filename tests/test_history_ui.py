"""The UI follows imported history (issue 16.5): with a real dagster-webserver running (free port,
tmp DAGSTER_HOME), `bgp ingest` of an older export asks it to reload the code location, and the
asset's day partitions then reach back to the export's first day, shown as missing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from test_history_import import DAYS, telegram_export_2024

ROOT = Path(__file__).resolve().parents[1]
STATS = '{ assetNodes(assetKeys: [{path: ["message_scores"]}]) { partitionKeysByDimension { partitionKeys } partitionStats { numMaterialized numPartitions } } }'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(bgp_env, tmp_path, monkeypatch):
    """A real dagster-webserver over this worktree's workspace.yaml, stopped (its whole process
    group: the code server is its child) at the end."""
    monkeypatch.delenv("BGP_START_DATE", raising=False)
    monkeypatch.setenv("BGP_AUTOMATION_DEFAULT_STATUS", "stopped")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    port = _free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/server_info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "dagster-webserver exited"
            time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _stats(url: str) -> tuple[list[str], int, int]:
    node = httpx.post(f"{url}/graphql", json={"query": STATS}, timeout=120).json()["data"]["assetNodes"][0]
    return node["partitionKeysByDimension"][0]["partitionKeys"], node["partitionStats"]["numMaterialized"], node["partitionStats"]["numPartitions"]


def test_older_import_reloads_the_ui_and_its_days_appear_as_missing_partitions(store, tmp_path, monkeypatch, capsys, request):
    from _sensors_data import add_messages
    from datetime import datetime

    recent = date.today() - timedelta(days=3)
    add_messages(store, 3, at=datetime(recent.year, recent.month, recent.day, 10))
    url = request.getfixturevalue("webserver")  # loads after the recent messages: partitions start 3 days ago
    keys, _, _ = _stats(url)
    assert keys[0] == recent.isoformat()

    from background_pipelines.cli import main

    monkeypatch.setenv("BGP_DAGSTER_URL", url)
    assert main(["ingest", str(telegram_export_2024(tmp_path / "result.json")), "--character", "Mira", "--no-progress"]) == 0
    assert f"history now starts {DAYS[0]} (was {recent.isoformat()}): reloaded code location" in capsys.readouterr().out
    keys, materialized, total = _stats(url)
    assert keys[0] == DAYS[0] and set(DAYS) <= set(keys)
    assert total == len(keys) and materialized == 0  # the imported days are there, missing, until the sensor's backfill
