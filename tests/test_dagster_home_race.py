"""Concurrent first use of a fresh DAGSTER_HOME (the repo's dagster.yaml): several processes opening
the instance at the same moment all succeed, and every SQLite storage ends with one Alembic head, so
later Dagster commands work. Each child imports Dagster once, then opens each fresh home on a common
start signal."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 3
HOMES = 3

_CHILD = textwrap.dedent(
    """
    import os, sys, time
    import dagster as dg
    tmp, me, homes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for h in range(homes):
        open(os.path.join(tmp, f"ready{h}_{me}"), "w").close()
        while not os.path.exists(os.path.join(tmp, f"go{h}")):
            time.sleep(0.002)
        instance = dg.DagsterInstance.from_config(os.path.join(tmp, f"home{h}"))
        instance.get_runs(limit=1)
        instance.dispose()
        print(f"ok {h}", flush=True)
    """
)


def _heads(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0]


def test_processes_initialising_one_fresh_dagster_home_all_succeed(tmp_path):
    homes = []
    for h in range(HOMES):
        home = tmp_path / f"home{h}"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        homes.append(home)
    procs = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), str(i), str(HOMES)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(PROCESSES)
    ]
    try:
        for h in range(HOMES):
            deadline = time.monotonic() + 300
            readies = [tmp_path / f"ready{h}_{i}" for i in range(PROCESSES)]
            while not all(r.exists() for r in readies) and all(p.poll() is None for p in procs) and time.monotonic() < deadline:
                time.sleep(0.005)
            (tmp_path / f"go{h}").touch()  # every child opens home h at once
        outcomes = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failed = [err[-1500:] for (out, err), p in zip(outcomes, procs) if p.returncode != 0 or out.split().count("ok") != HOMES]
    assert not failed, failed
    for home in homes:
        for db in (home / "history" / "runs.db", home / "history" / "runs" / "index.db", home / "schedules" / "schedules.db"):
            assert _heads(db) == 1, db
        instance = dg.DagsterInstance.from_config(str(home))  # a later command works
        try:
            assert instance.get_runs() == []
        finally:
            instance.dispose()
