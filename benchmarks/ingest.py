"""Import throughput and peak memory of `bgp ingest` on generated canonical JSONL.

Each import runs in its own subprocess (peak RSS = that process's ru_maxrss) against a fresh store:
an SQLite file, or a throwaway PostgreSQL database that is dropped afterwards. A second import of
the same file measures the dedup path (it must insert 0).

    python benchmarks/ingest.py --sizes 100000,1000000 --backends sqlite,postgresql
    python benchmarks/ingest.py --smoke            # 20,000 messages, SQLite and PostgreSQL
    python benchmarks/ingest.py --formats jsonl,telegram   # also the streamed Telegram export path
Goal: >= 20,000 messages/s on SQLite; peak memory flat in the file size (largest vs smallest).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import Report  # noqa: E402

GOAL_MSGS_PER_S = 20_000
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
WORDS = ("the a my we I you it is was to of and in on for at with work cat dog coffee morning tonight weekend "
         "really great tired happy busy book movie music run walk city train rain sun friend family job team "
         "meeting lunch dinner idea plan trip home late early today tomorrow maybe sure thanks").split()


def generate(path: Path, n: int, seed: int = 1) -> None:
    """n canonical JSONL messages: 2,000 users, 4 characters, sessions of ~12 messages, 60-200 chars."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1)
    chars = ["Mira", "Captain Rook", "Professor Quill", "Juno"]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            session = i // 12
            user = f"user{session % 2000}"
            is_char = i % 2 == 1
            words = rng.choices(WORDS, k=rng.randint(12, 35))
            f.write(json.dumps({
                "platform": "bench",
                "external_id": f"b{i}",
                "channel": f"dm/{chars[session % 4]}/{user}",
                "session": f"s{session}",
                "author": chars[session % 4] if is_char else user,
                "author_kind": "character" if is_char else "user",
                "text": " ".join(words).capitalize() + ".",
                "created_at": (start + timedelta(seconds=i * 7)).isoformat() + "Z",
            }) + "\n")


def generate_telegram(path: Path, n: int, seed: int = 1) -> None:
    """The same kind of traffic as a Telegram Desktop full export: 100 chats, entity-list texts."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1)
    chats = 100
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"about": "benchmark", "chats": {"about": "chats", "list": [')
        for c in range(chats):
            f.write(("," if c else "") + json.dumps({"name": f"chat {c}", "type": "personal_chat", "id": 1000 + c})[:-1])
            f.write(', "messages": [')
            for j in range(c * n // chats, (c + 1) * n // chats):
                at = start + timedelta(seconds=j * 7)
                words = " ".join(rng.choices(WORDS, k=rng.randint(12, 35)))
                text = words if j % 3 else ["Hey ", {"type": "bold", "text": words}]
                msg = {"id": j, "type": "message", "date": at.isoformat(), "date_unixtime": str(int((at - datetime(1970, 1, 1)).total_seconds())),
                       "from": "Mira" if j % 2 else f"user{j // 12 % 2000}", "from_id": f"user{j % 2000}", "text": text,
                       "text_entities": []}
                f.write(("," if j > c * n // chats else "") + json.dumps(msg))
            f.write("]}")
        f.write("]}}")


def _child(path: str, url: str) -> None:
    """Runs inside the subprocess: one import, then a JSON line with the figures."""
    import resource

    from background_pipelines.ingest import ingest_file
    from background_pipelines.store import open_store

    store = open_store(url)  # migrations happen here, outside the timed import
    cpu = time.process_time()
    report = ingest_file(path, store, progress=False)
    cpu = time.process_time() - cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps(dict(read=report.read, inserted=report.inserted, duplicates=report.duplicates,
                          seconds=report.seconds, cpu_seconds=cpu, rss_mb=usage.ru_maxrss / 1024)))


def _run_import(path: Path, url: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(path), url], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class _PgDatabase:
    """A throwaway PostgreSQL database on the admin URL's server, dropped on exit."""

    def __init__(self, admin_url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.name = f"bgp_bench_{uuid.uuid4().hex[:10]}"
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> str:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": self.name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}"'))
        self.admin.dispose()


def _measure(fmt: str, n: int, backends: list[str], tmp: Path, pg_admin_url: str) -> list[tuple]:
    path = tmp / f"messages_{n}.{'jsonl' if fmt == 'jsonl' else 'json'}"
    (generate if fmt == "jsonl" else generate_telegram)(path, n)
    size_mb = path.stat().st_size / 1e6
    rows = []
    for backend in backends:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / f'store_{fmt}_{n}.db'}"
            first, again = _run_import(path, url), _run_import(path, url)
        elif backend == "postgresql":
            with _PgDatabase(pg_admin_url) as url:
                first, again = _run_import(path, url), _run_import(path, url)
        else:
            raise SystemExit(f"unknown backend {backend!r}")
        assert first["inserted"] == n and again["inserted"] == 0, (first, again)
        rows.append((fmt, backend, n, size_mb, first, again))
        print(f"  done: {fmt} {backend} {n:,}", file=sys.stderr)
    path.unlink()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--formats", default="jsonl", help="jsonl and/or telegram (default: %(default)s)")
    parser.add_argument("--smoke", action="store_true", help="20,000 messages only")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    sizes = [20_000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    results = []
    with tempfile.TemporaryDirectory(prefix="bgp_bench_") as tmp:
        for fmt in args.formats.split(","):
            for n in sizes:
                results += _measure(fmt, n, backends, Path(tmp), args.pg_admin_url)
    print()
    print(f"bgp ingest (goal: >= {GOAL_MSGS_PER_S:,} messages/s for canonical JSONL on SQLite; flat peak memory)")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end (other work slows wall time)")
    print("msgs/s: wall clock, the goal's measure. msgs/CPU-s: per CPU-second of the importing process, which")
    print("on SQLite includes the database engine (in-process), so it shows throughput free of CPU contention;")
    print("on PostgreSQL the server's work is not in it.")
    header = (f"{'format':<9}{'backend':<11}{'messages':>11}{'file MB':>9}{'import s':>10}{'msgs/s':>10}"
              f"{'msgs/CPU-s':>12}{'reimport msgs/s':>17}{'peak RSS MB':>13}  goal")
    print(header)
    print("-" * len(header))
    report = Report("ingest")
    for fmt, backend, n, size_mb, first, again in results:
        rate = n / first["seconds"]
        goal = ("met" if rate >= GOAL_MSGS_PER_S else "MISSED") if (backend, fmt) == ("sqlite", "jsonl") else "-"
        print(f"{fmt:<9}{backend:<11}{n:>11,}{size_mb:>9.0f}{first['seconds']:>10.1f}{rate:>10,.0f}"
              f"{n / first['cpu_seconds']:>12,.0f}{n / again['seconds']:>17,.0f}{max(first['rss_mb'], again['rss_mb']):>13.0f}  {goal}")
    for fmt, backend, n, size_mb, first, again in results:
        if (backend, fmt) == ("sqlite", "jsonl"):
            rate = n / first["seconds"]
            report.check(f"import rate, {n:,} JSONL messages into SQLite ({n / first['cpu_seconds']:,.0f} per CPU-s)",
                         f"{rate:,.0f} msg/s", f">= {GOAL_MSGS_PER_S:,} msg/s", rate >= GOAL_MSGS_PER_S)
    for fmt in args.formats.split(","):
        for backend in backends:
            rows = [r for r in results if r[:2] == (fmt, backend)]
            if len(rows) >= 2:
                small, big = rows[0], rows[-1]
                ratio = max(big[4]["rss_mb"], big[5]["rss_mb"]) / max(small[4]["rss_mb"], small[5]["rss_mb"])
                print(f"{fmt} on {backend}: peak RSS at {big[2]:,} vs {small[2]:,} messages = {ratio:.2f}x "
                      f"({'flat' if ratio < 1.25 else 'NOT flat'}; the file is {big[2] / small[2]:.0f}x bigger)")
                report.check(f"peak RSS, {fmt} into {backend}: {big[2]:,} vs {small[2]:,} messages", f"{ratio:.2f}x", "< 1.25x (flat)",
                             ratio < 1.25)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
