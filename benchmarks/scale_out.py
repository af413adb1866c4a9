"""Scale-out: the same backfill of generated history (scores, embeddings, facts, graph) on the cluster
shape of deploy/cluster/ with 1 and 2 celery workers and with the multiprocess executor: wall time,
CPU seconds, steps per worker, most steps of one pool at once, and whether every store came out equal.

Needs PostgreSQL (BGP_TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test) and Redis
(127.0.0.1:6379); each configuration gets its own new databases, dropped afterwards.
    python benchmarks/scale_out.py [--days 14] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "deploy"))
sys.path.insert(0, str(ROOT / "tests"))
from benchmarks._report import Report, markdown_table  # noqa: E402
from local_cluster import LocalCluster, backfill_stats, step_pools  # noqa: E402
from order_world import generate_history, load_history, snapshot  # noqa: E402

SMOKE_ARGS = ["--smoke"]
ASSETS = ["message_scores", "message_embeddings", "relationship_scores", "extracted_facts", "knowledge_graph"]
POOLS = {"llm": 4, "sensory": 8, "social": 8, "action": 4, "cognition": 4}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _one(admin, url, name: str, executor: str, workers: int, days: list[str], rows: list[dict], tmp: Path) -> dict:
    dbs = [f"bgp_scale_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("dagster", "store")]
    with admin.connect() as conn:
        for n in dbs:
            conn.execute(text(f'CREATE DATABASE "{n}"'))
    store_url = url.set(database=dbs[1]).render_as_string(hide_password=False)
    try:
        load_history_migrated(store_url, rows)
        pg = {"HOST": url.host or "127.0.0.1", "PORT": str(url.port or 5432), "USER": url.username or "postgres",
              "PASSWORD": url.password or "", "DB": dbs[0]}
        cluster = LocalCluster(tmp / name.replace(" ", "_").replace(",", ""), pg, store_url, "redis://127.0.0.1:6379/10",
                               workers=workers, executor=executor, pools=POOLS)
        cpu0, t0 = _children_cpu(), time.perf_counter()
        try:
            cluster.start()
            started = time.perf_counter()
            backfill = cluster.launch_backfill(days, assets=ASSETS)
            status = cluster.wait_backfill(backfill)
            done = time.perf_counter()
            with cluster.instance() as instance:
                stats = backfill_stats(instance, backfill, step_pools())
        finally:
            cluster.stop()
        cpu = _children_cpu() - cpu0
        return dict(name=name, status=status, start_s=started - t0, backfill_s=done - started, cpu_s=cpu,
                    stats=stats, snapshot=snapshot(store_url))
    finally:
        with admin.connect() as conn:
            for n in dbs:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": n})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{n}"'))


def load_history_migrated(store_url: str, rows: list[dict]) -> None:
    from background_pipelines.store import open_store

    open_store(store_url).engine.dispose()  # runs the migrations
    load_history(store_url, rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--users", type=int, default=12)
    ap.add_argument("--smoke", action="store_true", help="2 days, 1 worker only")
    args = ap.parse_args()
    days_n = 2 if args.smoke else args.days
    configs = [("celery, 1 worker", "celery", 1)] if args.smoke else [
        ("celery, 1 worker", "celery", 1), ("celery, 2 workers", "celery", 2), ("multiprocess", "multiprocess", 0)]
    url = make_url(os.environ.get("BGP_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    days, rows = generate_history(seed=14, days=days_n, users=args.users)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"scale_out: {days_n}-day backfill of {', '.join(ASSETS)}; {len(rows)} messages, {args.users} users; "
          f"{os.cpu_count()} cores; {load}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bgp_scale_") as tmp:
        for name, executor, workers in configs:
            print(f"... {name}", flush=True)
            results.append(_one(admin, url, name, executor, workers, days, rows, Path(tmp)))
    admin.dispose()

    table = []
    for r in results:
        s = r["stats"]
        table.append((r["name"], r["status"], f"{r['start_s']:.0f}", f"{r['backfill_s']:.1f}", f"{s.wall_seconds:.1f}",
                      f"{r['cpu_s']:.0f}", s.runs, s.steps,
                      ", ".join(f"{k} {v}" for k, v in sorted(s.steps_per_worker.items())),
                      ", ".join(f"{k} {v}" for k, v in sorted(s.max_concurrent_per_pool.items()))))
    print()
    print(markdown_table(["configuration", "backfill", "cluster start s", "launch to done s", "first to last event s",
                          "CPU s (cluster, start to stop)", "runs", "steps", "steps per worker", "max steps at once per pool"], table))
    print(f"\nload after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}\n")

    report = Report("scale_out")
    base = results[0]
    for r in results:
        report.check(f"{r['name']}: backfill succeeded", r["status"], "COMPLETED_SUCCESS", r["status"] == "COMPLETED_SUCCESS")
        held = all(v <= POOLS.get(k, 4) for k, v in r["stats"].max_concurrent_per_pool.items())
        report.check(f"{r['name']}: most steps at once per pool within its limit", str(r["stats"].max_concurrent_per_pool), "<= pool limits", held)
        if r is not base:
            report.check(f"{r['name']}: facts, entities, relations equal to '{base['name']}'", "equal" if r["snapshot"] == base["snapshot"] else "differ",
                         "equal", r["snapshot"] == base["snapshot"])
    by = {r["name"]: r for r in results}
    if "celery, 2 workers" in by:
        ratio = by["celery, 2 workers"]["backfill_s"] / by["celery, 1 worker"]["backfill_s"]
        report.check("backfill wall, 2 workers / 1 worker (2 cores shared with other load)", f"{ratio:.2f}x", "<= 0.75", ratio <= 0.75)
        w2 = by["celery, 2 workers"]["stats"].steps_per_worker
        report.check("steps ran on both workers", str(w2), "both > 0", len([v for v in w2.values() if v > 0]) == 2)
    return report.finish(note=load)


if __name__ == "__main__":
    sys.exit(main())
