"""End-to-end latency under the real daemon: a burst of SUMMARY_MESSAGE_THRESHOLD messages inserted
into a new session -> its summary stored, p50 and p95 over several sessions. Goal: p50 <= 20 s.

    .venv/bin/python benchmarks/latency.py [--smoke] [--trials N] [--tick SECONDS]

Runs against a temp SQLite store and DAGSTER_HOME (the repo's dagster.yaml) with the default
offline LLM backend; the sensor tick is BGP_SENSOR_TICK_SECONDS (default 5, as in `make run`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._daemon import Daemon  # noqa: E402
from benchmarks._report import Report  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.ledger import utcnow  # noqa: E402
from background_pipelines.store.messages import insert_message_rows, message_row  # noqa: E402
from background_pipelines.store.schema import summaries  # noqa: E402

THRESHOLD = 20
# What --tuned-queue adds to the instance: dequeue every second and launch queued runs in parallel
TUNED_QUEUE = """run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
    dequeue_use_threads: true
    dequeue_num_workers: 4
"""


def burst(store, session: str) -> None:
    at = utcnow() - timedelta(seconds=THRESHOLD)
    rows = [
        message_row(platform="bench", external_id=f"{session}-{i}", channel="lobby", session=session,
                    author="alice" if i % 2 == 0 else "mira", author_kind="user" if i % 2 == 0 else "character",
                    role="user" if i % 2 == 0 else "assistant",
                    text=f"I finally booked the trip to Lisbon, message {i}, we talked about the old tram.",
                    created_at=at + timedelta(seconds=i))
        for i in range(THRESHOLD)
    ]
    with store.begin() as conn:
        insert_message_rows(conn, rows)


def summary_exists(store, session: str) -> bool:
    with store.connect() as conn:
        return conn.execute(select(summaries.c.id).where(summaries.c.session == session).limit(1)).first() is not None


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="3 trials")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--tick", type=int, default=5, help="BGP_SENSOR_TICK_SECONDS (default 5)")
    ap.add_argument("--timeout", type=float, default=180, help="per trial")
    ap.add_argument("--tuned-queue", action="store_true", help="run coordinator: 1 s dequeue, threaded launches")
    args = ap.parse_args(argv)
    trials = 3 if args.smoke else args.trials
    with tempfile.TemporaryDirectory(prefix="bgp_latency_", ignore_cleanup_errors=True) as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        store = open_store(url)
        daemon = Daemon(Path(tmp), url, instance_yaml_extra=TUNED_QUEUE if args.tuned_queue else "",
                        BGP_SENSOR_TICK_SECONDS=str(args.tick), SUMMARY_MESSAGE_THRESHOLD=str(THRESHOLD))
        latencies = []
        try:
            daemon.wait_ready()
            for n in range(trials):
                session = f"bench-{n}"
                t0 = time.monotonic()
                burst(store, session)
                while not summary_exists(store, session):
                    daemon.check()
                    if time.monotonic() - t0 > args.timeout:
                        raise TimeoutError(f"no summary for {session} in {args.timeout}s; log {daemon.log_path}")
                    time.sleep(0.1)
                latencies.append(time.monotonic() - t0)
                print(f"  trial {n + 1}/{trials}: {latencies[-1]:.1f} s", file=sys.stderr)
        finally:
            daemon.stop()
            store.engine.dispose()
    p50, p95 = statistics.median(latencies), pct(latencies, 95)
    queue = "tuned queue (1 s dequeue, threaded launches)" if args.tuned_queue else "repo dagster.yaml"
    print(f"\nmessage burst inserted -> summary stored, under dagster-daemon (SQLite, offline LLM, sensor tick {args.tick} s, {queue})\n")
    print("| trials | p50 (s) | p95 (s) | min (s) | max (s) | goal | met |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {trials} | {p50:.1f} | {p95:.1f} | {min(latencies):.1f} | {max(latencies):.1f} | p50 <= 20 s | {'yes' if p50 <= 20 else 'NO'} |")
    report = Report("latency")
    report.check(f"message burst -> summary stored under dagster-daemon, p50 of {trials} (p95 {p95:.1f} s)", f"{p50:.1f} s", "<= 20 s", p50 <= 20)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
