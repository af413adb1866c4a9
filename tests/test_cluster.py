"""The cluster shape of deploy/cluster/ on this machine: a gRPC code server, the webserver, one daemon
and 2 celery workers over Redis, Dagster's storage and the store in PostgreSQL. A 7-day backfill of the
scoring and knowledge assets launched through the GraphQL API the UI uses succeeds, its steps run on
both workers, the pools hold, the store equals a sequential run of the same days, and every process
stops on SIGTERM. Costs ~3-8 minutes (process start-ups dominate), see README *Scale-out*."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import uuid
from pathlib import Path

import pytest
from conftest import PG_URL, _pg_admin_engine
from order_world import generate_history, load_history, process_days, snapshot
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from local_cluster import LocalCluster, backfill_stats, step_pools  # noqa: E402

from background_pipelines.store import open_store  # noqa: E402

POOLS = {"llm": 1, "sensory": 2, "social": 2, "action": 1, "cognition": 1}
# independent branches (scores, embeddings, facts) give the workers steps to run side by side
ASSETS = ["message_scores", "message_embeddings", "relationship_scores", "extracted_facts", "knowledge_graph"]
# what those assets derive, among the tables order_world.snapshot compares (summaries and the
# character days are not backfilled here: tests/test_order_independence.py compares them)
DERIVED = ("facts", "entities", "relations")


@pytest.fixture
def databases():
    """Three new PostgreSQL databases (Dagster's storage, the cluster's store, a sequential store)."""
    if not PG_URL:
        pytest.skip("BGP_TEST_DATABASE_URL is not set")
    if importlib.util.find_spec("dagster_celery") is None:
        if os.environ.get("CI"):  # CI installs the extra: its absence there is a failure, not a skip
            pytest.fail("dagster-celery is not installed: pip install -e '.[celery]'")
        pytest.skip("dagster-celery is not installed (pip install -e '.[celery]')")
    admin, url = _pg_admin_engine()
    names = [f"bgp_cluster_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("dagster", "store", "seq")]
    with admin.connect() as conn:
        for n in names:
            conn.execute(text(f'CREATE DATABASE "{n}"'))
    yield url, names
    with admin.connect() as conn:
        for n in names:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": n})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{n}"'))
    admin.dispose()


def test_seven_day_backfill_on_two_celery_workers_equals_the_sequential_store(databases, tmp_path, monkeypatch):
    url, (dagster_db, store_db, seq_db) = databases
    store_url, seq_url = (url.set(database=n).render_as_string(hide_password=False) for n in (store_db, seq_db))
    days, rows = generate_history(seed=3, days=7, users=6)
    for u in (store_url, seq_url):
        open_store(u).engine.dispose()  # migrate
        load_history(u, rows)
    monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "hashing")
    monkeypatch.setenv("BGP_DATABASE_URL", seq_url)
    assert process_days(seq_url, days, phases=("knowledge", "messages")) == []
    expected = {t: snapshot(seq_url)[t] for t in DERIVED}
    assert all(expected.values()), {t: len(v) for t, v in expected.items()}  # the comparison has something to compare

    pg = {"HOST": url.host or "127.0.0.1", "PORT": str(url.port or 5432), "USER": url.username or "postgres",
          "PASSWORD": url.password or "", "DB": dagster_db}
    redis_db = random.Random().randrange(2, 14, 2)  # broker db; results in the next one
    cluster = LocalCluster(tmp_path / "cluster", pg, store_url, f"redis://127.0.0.1:6379/{redis_db}", workers=2, pools=POOLS)
    try:
        cluster.start()
        backfill_id = cluster.launch_backfill(days, assets=ASSETS)
        status = cluster.wait_backfill(backfill_id)
        with cluster.instance() as instance:
            stats = backfill_stats(instance, backfill_id, step_pools())
    finally:
        codes = cluster.stop()

    assert status == "COMPLETED_SUCCESS", (status, stats)
    # single-run backfill policy: one run covers the 7 days
    assert stats.runs >= 1 and set(stats.statuses) == {"SUCCESS"}, stats
    # every step went through the broker, and both workers took some
    assert set(stats.steps_per_worker) == {"w1", "w2"}, stats.steps_per_worker
    assert sum(stats.steps_per_worker.values()) == stats.steps
    for pool, peak in stats.max_concurrent_per_pool.items():
        assert peak <= POOLS.get(pool, 4), (pool, peak, stats)
    assert stats.max_concurrent_per_pool.get("llm") == 1
    got = snapshot(store_url)
    for table in expected:
        assert got[table] == expected[table], f"{table} differ from the sequential run"
    # a clean shutdown: every process ended on SIGTERM (celery's warm shutdown), none had to be killed
    assert codes and "killed" not in codes.values(), codes
