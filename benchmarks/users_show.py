"""`bgp users show` at 10,000 users: the time to build one user's profile (and to resolve a name)
with 100 users in the store and with 10,000, in one run. Every read goes through an indexed user
column, so the ratio should stay near 1; the simplest honest baseline is the same profile built by
scanning the tables for the user instead (what a query without the user indexes costs).

    python benchmarks/users_show.py [--users 10000] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import Report  # noqa: E402

SMOKE_ARGS = ["--smoke"]


def _fill(store, users: int, per_user: int) -> None:
    from background_pipelines.ingest import record_messages
    from background_pipelines.store.schema import facts

    t0 = datetime(2026, 11, 1, 9)
    msgs = []
    for u in range(users):
        for i in range(per_user):
            msgs.append(dict(platform="bench", external_id=f"{u}-{i}", channel=f"dm-{u}", session=f"s-{u}", author=f"user{u}",
                             author_id=str(u), text=f"I work at Company{u % 97} and my dog is called Rex{u}.",
                             created_at=(t0 + timedelta(minutes=u * per_user + i)).isoformat()))
            if len(msgs) >= 20000:
                record_messages(msgs, store)
                msgs = []
    if msgs:
        record_messages(msgs, store)
    with store.begin() as conn:
        rows = [dict(user_name=f"bench:{u}", kind="fact", subject=f"bench:{u}", predicate="works_at", object=f"Company{u % 97}",
                     confidence=0.9, valid_from=t0, source_message_ids=[u * per_user + 1], day="2026-11-01", backend="offline",
                     version="bench", created_at=t0) for u in range(users)]
        for i in range(0, len(rows), 5000):
            conn.execute(facts.insert(), rows[i : i + 5000])


def _time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10000)
    p.add_argument("--per-user", type=int, default=5)
    p.add_argument("--smoke", action="store_true", help="1,000 users instead of 10,000")
    args = p.parse_args(argv)
    big = 1000 if args.smoke else args.users
    os.environ.setdefault("BGP_EMBED_ON_WRITE", "never")
    from sqlalchemy import select

    from background_pipelines.store import open_store
    from background_pipelines.store.schema import facts, messages
    from background_pipelines.users import resolve_user
    from background_pipelines.users.show import user_profile

    report = Report("users_show")
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for n in (100, big):
            store = open_store(f"sqlite:///{tmp}/s{n}.db")
            started = time.perf_counter()
            _fill(store, n, args.per_user)
            fill_s = time.perf_counter() - started
            key = f"bench:{n // 2}"
            profile_ms = _time(lambda: user_profile(store, key), 7)
            resolve_ms = _time(lambda: resolve_user(store, f"user{n // 2}"), 21)

            def scan():  # the baseline: the same user's rows found by reading every row
                with store.connect() as conn:
                    [r for r in conn.execute(select(messages.c.id, messages.c.author)) if r.author == key]
                    [r for r in conn.execute(select(facts.c.id, facts.c.user_name)) if r.user_name == key]

            scan_ms = _time(scan, 5)
            results[n] = (profile_ms, resolve_ms, scan_ms)
            print(f"{n:>6} users ({n * args.per_user} messages, filled in {fill_s:.1f} s): profile {profile_ms:.1f} ms, "
                  f"resolve a name {resolve_ms:.2f} ms, full-scan baseline {scan_ms:.1f} ms", flush=True)
            store.engine.dispose()
    (p_small, r_small, s_small), (p_big, r_big, s_big) = results[100], results[big]
    load = os.getloadavg()[0]
    report.check(f"users show profile at {big:,} / at 100 users, SQLite (load {load:.1f})", f"{p_big / p_small:.2f}x", "<= 2x",
                 p_big / p_small <= 2)
    report.check(f"resolve a display name at {big:,} / at 100 users", f"{r_big / r_small:.2f}x", "<= 2x", r_big / r_small <= 2)
    report.check(f"profile at {big:,} users vs a full scan for the same user", f"{p_big:.1f} ms vs {s_big:.1f} ms",
                 "profile below the scan", p_big < s_big)
    return report.finish(f"load average {load:.1f}")


if __name__ == "__main__":
    sys.exit(main())
