"""Sensor tick cost as the store and the 24-hour window grow, 1,000 new messages before each tick, on
SQLite and PostgreSQL. Two goals, each <= 1.5 (cost follows new rows, not the table nor the window):
  stored: tick(1M stored, 10k in the last 24 h) / tick(10k stored, 10k in the last 24 h)
  window: tick(1M stored, 100k in the last 24 h) / tick(1M stored, 10k in the last 24 h)

    .venv/bin/python benchmarks/sensor_tick.py [--smoke] [--rounds 5] [--no-postgres] [--pg-url URL]

Each store holds its window of last-24-hour traffic (the knowledge window); the rest is older
history with summaries and `extract` ledger rows, as a store that has been running for weeks.
Timed per round: `plan_new_messages` (the engine call) and the whole Dagster sensor tick
(`evaluate_tick` through build_sensor_context, store opened per tick as the daemon does). Both sizes are
populated first, then ticked in interleaved rounds (machine load hits both alike); median of --rounds
rounds of each after one warm-up, engine-only and full ticks alternating over fresh rows; every stage enabled, minimum scoring interval 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.ledger import utcnow  # noqa: E402
from background_pipelines.store.messages import message_row  # noqa: E402
from background_pipelines.store.schema import messages  # noqa: E402
from background_pipelines.triggers import dump_cursor, plan_new_messages  # noqa: E402
from benchmarks._report import Report  # noqa: E402

NEW = 1_000  # arriving before each tick
SESSION_LEN = 40

_COLS = "platform, external_id, channel, session, author, author_kind, role, text, created_at, day, ingested_at"


def _fill_sqlite(conn, n: int, prefix: str, base: datetime, step: float) -> None:
    conn.execute(text(f"""
        WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :n),
        t(n, ts) AS (SELECT n, datetime(:base, '+' || CAST(n * :step AS INTEGER) || ' seconds') FROM g)
        INSERT INTO messages ({_COLS})
        SELECT 'bench', :p || n, 'c' || (n % 20), :p || (n / {SESSION_LEN}),
               CASE WHEN n % 2 = 0 THEN 'u' || (n % 300) ELSE 'bot' || (n % 5) END,
               CASE WHEN n % 2 = 0 THEN 'user' ELSE 'character' END,
               CASE WHEN n % 2 = 0 THEN 'user' ELSE 'assistant' END,
               'history message ' || n || ' about trams, trips and tea', ts, substr(ts, 1, 10), ts
        FROM t
    """), dict(n=n, p=prefix, base=base.strftime("%Y-%m-%d %H:%M:%S"), step=step))


def _fill_pg(conn, n: int, prefix: str, base: datetime, step: float) -> None:
    conn.execute(text(f"""
        INSERT INTO messages ({_COLS})
        SELECT 'bench', :p || n, 'c' || (n % 20), :p || (n / {SESSION_LEN}),
               CASE WHEN n % 2 = 0 THEN 'u' || (n % 300) ELSE 'bot' || (n % 5) END,
               CASE WHEN n % 2 = 0 THEN 'user' ELSE 'character' END,
               CASE WHEN n % 2 = 0 THEN 'user' ELSE 'assistant' END,
               'history message ' || n || ' about trams, trips and tea', ts, to_char(ts, 'YYYY-MM-DD'), ts
        FROM (SELECT n, CAST(:base AS timestamp) + (n * :step) * interval '1 second' AS ts
              FROM generate_series(1, :n) AS n) g
    """), dict(n=n, p=prefix, base=base, step=step))


def populate(store, total: int, window: int, now: datetime) -> None:
    """`total` messages: older history over 28 days ending 25 h ago, then `window` in the last 23 h;
    summaries covering all but the last 5 messages of each session; extract done for old user
    messages and a quarter of the recent ones."""
    fill = _fill_pg if store.dialect == "postgresql" else _fill_sqlite
    old = max(0, total - window)
    with store.begin() as conn:
        if old:
            fill(conn, old, "h", now - timedelta(days=29, hours=1), 28 * 86400 / old)
        fill(conn, total - old, "r", now - timedelta(hours=23), 22 * 3600 / (total - old))
        conn.execute(text("""
            INSERT INTO summaries (session, channel, day, first_message_id, last_message_id, message_ids, participants,
                                   text, meaningfulness, status, backend, version, created_at)
            SELECT session, MIN(channel), MAX(day), MIN(id), MAX(id) - 5, '[]', '[]', 'summary', 3, 'kept', 'bench', 'v1',
                   MAX(created_at)
            FROM messages GROUP BY session HAVING COUNT(*) > 5
        """))
        id_text = "CAST(id AS TEXT)" if store.dialect == "postgresql" else "CAST(id AS TEXT)"
        conn.execute(text(f"""
            INSERT INTO processing_ledger (stage, item, version, status, attempts, updated_at)
            SELECT 'extract', {id_text}, 'v1', 'done', 1, created_at FROM messages
            WHERE author_kind = 'user' AND (created_at < :cut OR id % 4 = 0)
        """), dict(cut=now - timedelta(hours=24)))
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()


def add_new(store, round_no: int, window: int, now: datetime) -> None:
    """NEW messages: half continue the 25 newest sessions, half open 25 new ones."""
    rows = []
    for i in range(NEW):
        session = f"r{(window // SESSION_LEN) - (i % 25)}" if i < NEW // 2 else f"new{round_no}-{i % 25}"
        user = i % 2 == 0
        rows.append(message_row(
            platform="bench", external_id=f"n{round_no}-{i}", channel=f"c{i % 20}", session=session,
            author=f"u{i % 300}" if user else "bot1", author_kind="user" if user else "character",
            role="user" if user else "assistant", text=f"new message {i}", created_at=now - timedelta(seconds=NEW - i),
        ))
    with store.begin() as conn:
        conn.execute(messages.insert(), rows)


def sensor_tick(url: str):
    """A callable running the real new_messages_sensor tick against `url`."""
    import dagster as dg

    from assets.resources import StoreResource
    from background_pipelines.config import Settings
    from background_pipelines.definitions import build_definitions

    env = {**os.environ, "BGP_DATABASE_URL": url, "BGP_SENSOR_MIN_INTERVAL_SECONDS": "0", "BGP_EMBEDDING_BACKEND": "hashing"}
    defs = build_definitions(Settings.from_env(env))
    sensor = defs.get_repository_def().get_sensor_def("new_messages_sensor")
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor):
        ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"store": StoreResource(database_url=url)},
                                      definitions=defs)
        data = sensor.evaluate_tick(ctx)
        return data.cursor, len(data.run_requests)

    return tick


class Subject:
    """One populated store and its sensor, ticked round by round over fresh rows."""

    def __init__(self, url: str, total: int, window: int):
        self.url, self.total, self.window = url, total, window
        self.store = open_store(url)
        t0 = time.perf_counter()
        populate(self.store, total, window, utcnow())
        self.setup_s = time.perf_counter() - t0
        with self.store.connect() as conn:
            high = conn.execute(text("SELECT MAX(id) FROM messages")).scalar_one()
        self.cursor = dump_cursor({"seen": high, "scored": high, "scored_at": 0.0})
        self.tick = sensor_tick(url)
        self.engine_ms, self.sensor_ms, self.requests = [], [], []
        self.round = 0

    def step(self, record: bool) -> None:
        """Engine-only and full sensor ticks alternate, each over 1,000 fresh rows, sharing one cursor."""
        for full in (False, True):
            add_new(self.store, self.round, self.window, utcnow())
            self.round += 1
            t = time.perf_counter()
            if full:
                self.cursor, n_req = self.tick(self.cursor)
            else:
                plan = plan_new_messages(self.store, self.cursor, now=utcnow(), min_interval_seconds=0)
                assert plan.rows_read == NEW, plan.rows_read
                self.cursor, n_req = dump_cursor(plan.cursor), len(plan.requests)
            ms = (time.perf_counter() - t) * 1000
            if record:
                (self.sensor_ms if full else self.engine_ms).append(ms)
                self.requests.append(n_req)

    def result(self, backend: str) -> dict:
        self.store.engine.dispose()
        return dict(backend=backend, total=self.total, window=self.window, setup_s=self.setup_s, engine=statistics.median(self.engine_ms),
                    sensor=statistics.median(self.sensor_ms), requests=statistics.median(self.requests))


def measure(backend: str, urls: list[tuple[tuple[int, int], str]], rounds: int) -> list[dict]:
    """All stores are populated first, then ticked in interleaved rounds so machine load hits them alike."""
    subjects = [Subject(url, total, window) for (total, window), url in urls]
    for r in range(rounds + 1):  # round 0 warms caches
        for s in subjects:
            s.step(record=r > 0)
    return [s.result(backend) for s in subjects]


def _pg_database(admin_url: str):
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bgp_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin, name):
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="10k vs 100k stored messages, 5 rounds")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--pg-url", default=os.environ.get("BGP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                    help="admin URL; a throwaway database is created and dropped")
    args = ap.parse_args(argv)
    big = 100_000 if args.smoke else 1_000_000
    # (stored, in the last 24 h): the small store, the big store, the big store with a 10x window
    shapes = [(10_000, 10_000), (big, 10_000), (big, 100_000)]
    rounds = 5 if args.smoke else args.rounds
    results = []
    backends = ["sqlite"] + ([] if args.no_postgres else ["postgresql"])
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="bgp_tick_", ignore_cleanup_errors=True) as tmp:
                res = measure(backend, [(sh, f"sqlite:///{Path(tmp) / f'store_{sh[0]}_{sh[1]}.db'}") for sh in shapes], rounds)
        else:
            dbs = [_pg_database(args.pg_url) for _ in shapes]
            try:
                res = measure(backend, [(sh, url) for sh, (_, _, url) in zip(shapes, dbs)], rounds)
            finally:
                for admin, name, _ in dbs:
                    _drop(admin, name)
        results += res
        for r in res:
            print(f"  {backend} {r['total']:,} stored, {r['window']:,} in 24 h: engine {r['engine']:.1f} ms, sensor {r['sensor']:.1f} ms "
                  f"(setup {r['setup_s']:.0f} s)", file=sys.stderr)
    print(f"\nnew_messages_sensor tick, {NEW:,} new messages per tick, median of {rounds} rounds\n")
    print("| backend | stored messages | in the last 24 h | engine plan (ms) | full sensor tick (ms) | runs requested |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['backend']} | {r['total']:,} | {r['window']:,} | {r['engine']:.1f} | {r['sensor']:.1f} | {r['requests']:.0f} |")
    print("\n| backend | grows | compared | engine ratio | sensor ratio | goal |")
    print("|---|---|---|---|---|---|")
    checks = []
    for backend in backends:
        small, wide_store, wide_window = [r for r in results if r["backend"] == backend]
        for grows, a, b in (("stored", wide_store, small), ("window", wide_window, wide_store)):
            er, sr = a["engine"] / b["engine"], a["sensor"] / b["sensor"]
            compared = f"{a['total']:,} stored / {a['window']:,} in 24 h vs {b['total']:,} / {b['window']:,}"
            print(f"| {backend} | {grows} | {compared} | {er:.2f} | {sr:.2f} | <= 1.5 |")
            checks.append((f"full sensor tick, {backend}, {grows} grows: {compared} (engine plan alone {er:.2f}x)", f"{sr:.2f}x", "<= 1.5x", sr <= 1.5))
    print()
    report = Report("sensor_tick")
    for check in checks:
        report.check(*check)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
