"""The scheduled-prompts tick against the number of prompts stored: what scheduled_prompts_sensor does
every 60 s (fire the due prompts, then read the due actions) with 1,000 vs 100,000 future prompts
stored, idle (nothing due: the common tick) and firing 10 due prompts, in one run, SQLite. The due
read goes through the (status, next_at) index, so the ratios should stay near 1; CPU seconds of this
process (SQLite runs in it), median of the repetitions.

    python benchmarks/prompts_tick.py [--small 1000] [--large 100000] [--repeat 15] [--smoke]
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
DUE = 10


def _store(path: Path, stored: int, now: datetime):
    from background_pipelines.store import open_store
    from background_pipelines.store.schema import scheduled_prompts

    store = open_store(f"sqlite:///{path}")
    rows = [dict(user_name=f"bench:{i % 500}", character="Mira", text=f"reminder {i}", kind="cron" if i % 3 else "once",
                 cron="0 9 * * *" if i % 3 else None, timezone="Europe/Berlin", next_at=now + timedelta(hours=1 + i % 5000),
                 status="active", fired=0, created_at=now, updated_at=now) for i in range(stored)]
    with store.begin() as conn:
        for i in range(0, len(rows), 10000):
            conn.execute(scheduled_prompts.insert(), rows[i : i + 10000])
    return store


def _add_due(store, now: datetime, n: int, tag: str) -> None:
    from background_pipelines.store.schema import scheduled_prompts

    with store.begin() as conn:
        conn.execute(scheduled_prompts.insert(), [dict(
            user_name="bench:due", character="Mira", text=f"due {tag} {i}", kind="once", cron=None, timezone="UTC",
            next_at=now - timedelta(seconds=30), status="active", fired=0, created_at=now, updated_at=now) for i in range(n)])


def _tick(store, now: datetime) -> tuple[float, int]:
    from background_pipelines.prompts import fire_due_prompts
    from background_pipelines.store.actions import due_summary

    t0 = time.process_time()
    fired = fire_due_prompts(store, now=now)
    due_summary(store, now)
    return time.process_time() - t0, len(fired.fired)


def measure(store, now: datetime, repeat: int) -> dict:
    _add_due(store, now, DUE, "warm-up")
    _tick(store, now)  # warm-up (imports, statement caches), not measured
    idle = [_tick(store, now)[0] for _ in range(repeat)]
    firing, fired_total, refired = [], 0, 0
    for r in range(repeat):
        _add_due(store, now, DUE, str(r))
        cpu, fired = _tick(store, now)
        firing.append(cpu)
        fired_total += fired
        refired += _tick(store, now)[1]  # a second tick right after: must fire nothing
    return {"idle": statistics.median(idle), "firing": statistics.median(firing), "fired": fired_total,
            "expected": DUE * repeat, "refired": refired}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--smoke", action="store_true", help="100 vs 10,000 prompts, 5 repetitions")
    args = ap.parse_args(argv)
    if args.smoke:
        args.small, args.large, args.repeat = 100, 10_000, 5
    now = datetime(2026, 12, 7, 12, 0)
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.large):
            t0 = time.perf_counter()
            store = _store(Path(tmp) / f"prompts_{n}.db", n, now)
            print(f"{n:,} prompts stored in {time.perf_counter() - t0:.1f} s")
            results[n] = measure(store, now, args.repeat)
            store.engine.dispose()
            r = results[n]
            print(f"  {n:,} stored: idle tick {r['idle'] * 1000:.2f} ms CPU, tick firing {DUE} {r['firing'] * 1000:.2f} ms CPU; "
                  f"fired {r['fired']} of {r['expected']}, fired again by the next tick {r['refired']}")
    small, large = results[args.small], results[args.large]
    report = Report("prompts_tick")
    ratio = large["idle"] / small["idle"]
    report.check(f"idle tick CPU, {args.large:,} vs {args.small:,} prompts stored, SQLite "
                 f"({large['idle'] * 1000:.2f} vs {small['idle'] * 1000:.2f} ms)", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5)
    ratio = large["firing"] / small["firing"]
    report.check(f"tick firing {DUE} due prompts CPU, {args.large:,} vs {args.small:,} stored, SQLite "
                 f"({large['firing'] * 1000:.2f} vs {small['firing'] * 1000:.2f} ms)", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5)
    fired = sum(r["fired"] for r in results.values())
    expected = sum(r["expected"] for r in results.values())
    refired = sum(r["refired"] for r in results.values())
    report.check("due occurrences fired / due, and fired again by the next tick", f"{fired} / {expected}, {refired} again",
                 "all once, 0 again", fired == expected and refired == 0)
    return report.finish(f"SQLite, median of {args.repeat}")


if __name__ == "__main__":
    sys.exit(main())
