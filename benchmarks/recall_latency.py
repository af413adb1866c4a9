"""recall() latency as one user's history grows: a 1,000,000-message store where 3,000 users have 100
messages each, 200 have 1,000 and 50 have 10,000 (half theirs, half the characters' replies), with facts,
summaries, a knowledge graph and a 384-dim vector per message and summary. p50/p95 of fused recall
(wall and CPU of this process) per history size, and of each mode for the heaviest users, on SQLite and
PostgreSQL. Goal: fused p95 < 100 ms at every size; the heavy user is the real case.

    .venv/bin/python benchmarks/recall_latency.py [--smoke] [--backend sqlite|postgresql|both]
        [--scale S] [--queries Q] [--pg-url URL]

--smoke: 50,000 messages (200 x 100, 10 x 1,000, 2 x 10,000), 60 questions per row. --scale multiplies the user counts.
Data is synthetic (random vectors under the hashing model id:
the search does the same work whatever the numbers); bulk-loaded with executemany in big batches
through the migrated schema, so the FTS triggers and tsvector indexes are maintained as in production.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from background_pipelines.config import Settings  # noqa: E402
from background_pipelines.llm.embedders import HashingEmbedder  # noqa: E402
from background_pipelines.forget import forget  # noqa: E402
from background_pipelines.recall import recall  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.messages import insert_message_values  # noqa: E402
from benchmarks._report import Report  # noqa: E402

CHARACTERS = ["Juno", "Mira", "Rex", "Luna"]
JOBS = ["nurse", "pharmacist", "barista", "gardener", "teacher", "pilot", "welder", "chef", "architect", "plumber",
        "librarian", "dentist", "accountant", "firefighter", "translator", "photographer", "baker", "electrician"]
CITIES = ["Lisbon", "Vienna", "Stockholm", "Denver", "Osaka", "Nairobi", "Lima", "Oslo", "Austin", "Porto", "Quito",
          "Leeds", "Krakow", "Seoul", "Perth", "Accra"]
PETS = ["cat", "dog", "parrot", "rabbit", "tortoise", "hamster"]
PET_NAMES = ["Pixel", "Biscuit", "Pepper", "Rocky", "Mochi", "Olive", "Ziggy", "Nala", "Tofu", "Scout"]
WORDS = ("weather train coffee weekend movie garden music book trip beach mountain concert dinner lunch market "
         "football tennis bike rain snow sunset museum bakery recipe soup bread coffee tea guitar piano paint "
         "novel podcast game chess puzzle hike swim run yoga sleep dream work office meeting project deadline "
         "holiday family sister brother mother father friend neighbour cousin birthday party wedding gift").split()
QUESTIONS = ["What is {u}'s job?", "Which city does {u} live in?", "Does {u} have a pet?", "What did {u} say about the {w}?",
             "Where does {u} work?", "Tell me about {u}'s {w} and {w2}"]
BATCH = 20_000
FORGET_TIMES: list[tuple] = []
DIM = HashingEmbedder.dim
MODEL = HashingEmbedder.model_id


def _ph(conn) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _insert(conn, table: str, cols: list[str], rows: list[tuple]) -> None:
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([_ph(conn)] * len(cols))})"
    for i in range(0, len(rows), BATCH):
        conn.exec_driver_sql(sql, rows[i : i + BATCH])


def synthesize(store, history: dict[str, int], seed: int = 7) -> dict:
    """Fill a fresh store with `history` (user name -> messages); returns timings. Message ids are 1..n
    in insertion order (fresh store)."""
    rng = random.Random(seed)
    vec_rng = np.random.default_rng(seed)
    per_session = 20
    t0 = datetime(2026, 1, 1)
    timings = {}
    started = time.perf_counter()
    mid = 0
    msg_rows: list[tuple] = []
    summaries_rows: list[tuple] = []
    profile, first_id = {}, {}
    now = datetime(2026, 11, 1)
    for u, (name, per_user) in enumerate(history.items()):
        job, city, pet, pet_name = rng.choice(JOBS), rng.choice(CITIES), rng.choice(PETS), rng.choice(PET_NAMES)
        profile[name] = (job, city, pet, pet_name)
        first_id[name] = mid + 1
        planted = [f"I work as a {job} these days", f"I live in {city} now", f"My {pet} {pet_name} is asleep on my lap"]
        for s in range(max(1, per_user // per_session)):
            char = CHARACTERS[(u + s) % len(CHARACTERS)]
            session = f"{name}-s{s}"
            ids = []
            for i in range(per_session):
                mid += 1
                at = t0 + timedelta(days=(u * 7 + s * 3) % 300, minutes=i)
                if i % 2 == 0:
                    text = planted[(s * 10 + i) // 2 % 3] if (s < 2 and i < 6) else " ".join(rng.choices(WORDS, k=rng.randint(5, 14)))
                    row = ("bench", f"m{mid}", f"dm/{char}/{name}", session, name, "user", "user", text, at, at.strftime("%Y-%m-%d"), now, name)
                else:
                    text = "That sounds " + " ".join(rng.choices(WORDS, k=rng.randint(4, 10)))
                    row = ("bench", f"m{mid}", f"dm/{char}/{name}", session, char, "character", "assistant", text, at, at.strftime("%Y-%m-%d"), now, char)
                msg_rows.append(row)
                ids.append(mid)
            summaries_rows.append((session, f"dm/{char}/{name}", at.strftime("%Y-%m-%d"), ids[0], ids[-1], _json(ids), _json([name, char]),
                                   f"{name} chatted with {char} about " + ", ".join(rng.choices(WORDS, k=6)), 3, "kept", "offline", "1", now))
    with store.begin() as conn:
        for i in range(0, len(msg_rows), BATCH):
            insert_message_values(conn, msg_rows[i : i + BATCH])
    timings["messages"] = time.perf_counter() - started
    n_msgs = len(msg_rows)
    del msg_rows
    t = time.perf_counter()
    with store.begin() as conn:
        _insert(conn, "summaries", ["session", "channel", "day", "first_message_id", "last_message_id", "message_ids", "participants",
                                    "text", "meaningfulness", "status", "backend", "version", "created_at"], summaries_rows)
    timings["summaries"] = time.perf_counter() - t
    # facts, entities, relations: 3 facts per user, the graph over shared objects
    t = time.perf_counter()
    fact_rows, names = [], {}
    for name, (job, city, pet, pet_name) in profile.items():
        base = first_id[name]
        src = {"works_as": base, "lives_in": base + 2, "has_pet": base + 4}
        for pred, obj in (("works_as", job), ("lives_in", city), ("has_pet", pet_name)):
            fact_rows.append((name, "fact", name, pred, obj, 0.9, t0, _json([src[pred]]), "2026-01-01", "offline", "1", "bench", now))
        for n, typ in ((name, "person"), (job, "occupation"), (city, "place"), (pet_name, "pet")):
            names.setdefault(n.lower(), (n, typ))
    with store.begin() as conn:
        _insert(conn, "facts", ["user_name", "kind", "subject", "predicate", "object", "confidence", "valid_from", "source_message_ids",
                                "day", "backend", "version", "run_id", "created_at"], fact_rows)
        _insert(conn, "entities", ["name", "norm", "type", "aliases", "created_at", "updated_at"],
                [(n, norm, typ, "[]", now, now) for norm, (n, typ) in names.items()])
        eid = {norm: i for norm, i in conn.exec_driver_sql("SELECT norm, id FROM entities")}
        fid = {}
        for i, user, pred in conn.exec_driver_sql("SELECT id, user_name, predicate FROM facts"):
            fid[(user, pred)] = i
        rel_rows = []
        for name, (job, city, pet, pet_name) in profile.items():
            base_fact = fid[(name, "works_as")]
            for pred, obj in (("works_as", job), ("lives_in", city), ("has_pet", pet_name)):
                rel_rows.append((eid[name], pred, eid[obj.lower()], 1.0, 0.9, t0, t0, t0, False,
                                 _json([base_fact]), _json([fid[(name, pred)]])))
        _insert(conn, "relations", ["src_id", "predicate", "dst_id", "weight", "confidence", "first_seen", "last_seen", "valid_from",
                                    "inferred", "source_message_ids", "source_fact_ids"], rel_rows)
    timings["facts+graph"] = time.perf_counter() - t
    # vectors: one per message and per summary (random unit vectors: the search cost is the same)
    t = time.perf_counter()
    with store.begin() as conn:
        n_sum = conn.exec_driver_sql("SELECT count(*) FROM summaries").scalar_one()
        for kind, total in (("message", n_msgs), ("summary", n_sum)):
            for start in range(1, total + 1, BATCH):
                ids = range(start, min(total, start + BATCH - 1) + 1)
                m = vec_rng.standard_normal((len(ids), DIM), dtype=np.float32)
                m /= np.linalg.norm(m, axis=1, keepdims=True)
                _insert(conn, "embeddings", ["item_kind", "item_id", "model", "dim", "vector", "created_at"],
                        [(kind, i, MODEL, DIM, m[k].astype("<f4").tobytes(), now) for k, i in enumerate(ids)])
    timings["vectors"] = time.perf_counter() - t
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with store.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    timings["total"] = time.perf_counter() - started
    return {"timings": timings, "messages": n_msgs, "users": len(history), "profile": profile}


def _json(value) -> str:
    import json

    return json.dumps(value)


def measure(store, settings, users: list[str], n_queries: int, modes, seed: int = 11) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds (this process) of `n_queries` random questions about random `users`."""
    rng = random.Random(seed)
    for u in users[:10]:  # warm-up: embedder, pools, page cache
        recall(u, "What is their job?", store=store, settings=settings, modes=modes)
    wall, cpu = [], []
    for _ in range(n_queries):
        u = rng.choice(users)
        q = rng.choice(QUESTIONS).format(u=u, w=rng.choice(WORDS), w2=rng.choice(WORDS))
        t, c = time.perf_counter(), time.process_time()
        recall(u, q, store=store, settings=settings, modes=modes)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def _pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def population(scale: float, smoke: bool) -> dict[str, int]:
    """user name -> messages in their history: many light users, fewer medium, a few heavy."""
    counts = {100: 200, 1_000: 10, 10_000: 2} if smoke else {100: 3_000, 1_000: 200, 10_000: 50}
    history = {}
    for size, n in counts.items():
        for k in range(max(1, round(n * scale))):
            history[f"user{size}_{k:04d}"] = size
    return history


ALL_MODES = ("fulltext", "vectors", "graph")


def run_backend(backend: str, history: dict[str, int], n_queries: int, pg_url: str | None) -> list[tuple]:
    tmp = tempfile.mkdtemp(prefix="bgp_recall_latency_")
    admin = None
    if backend == "sqlite":
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        base = make_url(pg_url)
        name = f"bgp_recall_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    os.environ.update(BGP_HOME=tmp, BGP_DATABASE_URL=url, BGP_EMBEDDING_BACKEND="hashing")
    settings = Settings.from_env()
    store = open_store(url)
    try:
        print(f"[{backend}] synthesizing {sum(history.values()):,} messages / {len(history):,} users ...", file=sys.stderr)
        info = synthesize(store, history)
        tm = info["timings"]
        print(f"[{backend}] loaded in {tm['total']:.0f}s (" + ", ".join(f"{k} {v:.0f}s" for k, v in tm.items() if k != "total") + ")", file=sys.stderr)
        rows = []
        sizes = sorted(set(history.values()))
        for size in sizes:
            users = sorted(u for u, n in history.items() if n == size)
            mode_sets = [("fused", ALL_MODES)] + ([(m, (m,)) for m in ALL_MODES] if size == sizes[-1] else [])
            for label, modes in mode_sets:
                wall, cpu = measure(store, settings, users, n_queries, modes)
                rows.append((backend, info["messages"], size, len(users), label, len(wall), statistics.median(wall), _pct(wall, 95),
                             statistics.median(cpu), _pct(cpu, 95), tm["total"]))
        # forgetting one heavy user at this scale (cascade, FTS optimize / VACUUM included): a one-off cost
        heavy = sorted(u for u, n in history.items() if n == sizes[-1])
        t = time.perf_counter()
        report = forget(store, user=heavy[len(heavy) // 2], home=Path(tmp))
        FORGET_TIMES.append((backend, info["messages"], sizes[-1], report.total, time.perf_counter() - t))
        return rows
    finally:
        store.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)  # the 1M-message SQLite file is a few GB
        if admin is not None:
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}"')
            admin.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="50,000 messages (200 x 100, 10 x 1,000, 2 x 10,000), 60 questions per row")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the number of users of each size")
    p.add_argument("--queries", type=int, default=300, help="per row (default %(default)s)")
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--pg-url", default=os.environ.get("BGP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                   help="a PostgreSQL server to create a throwaway database on (default: %(default)s)")
    args = p.parse_args(argv)
    history = population(args.scale, args.smoke)
    if args.smoke:
        args.queries = min(args.queries, 60)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = []
    for b in backends:
        rows += run_backend(b, history, args.queries, args.pg_url)
        for r in rows[-len(set(history.values())) - 3:]:  # progress: this back end's rows before the next one loads
            print(f"  [{b}] {r[2]:,}-message users, {r[4]}: p50 {r[6]:.1f} ms, p95 {r[7]:.1f} ms wall; p95 CPU {r[9]:.1f} ms", file=sys.stderr)
    sizes = sorted(set(history.values()))
    print(f"\nrecall() latency, {args.queries} random questions per row after warm-up, {sum(history.values()):,} messages in the store: "
          + ", ".join(f"{sum(1 for n in history.values() if n == s):,} users x {s:,}" for s in sizes)
          + "; a user's history = their messages and the replies, 3 facts, 1 summary per 20 messages")
    print("CPU = this process (on PostgreSQL the server's work is not in it)\n")
    print("| backend | user's messages | users | mode | queries | p50 wall (ms) | p95 wall (ms) | p50 CPU (ms) | p95 CPU (ms) | load (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    report = Report("recall_latency")
    for b, m, size, u, mode, n, p50, p95, c50, c95, load in rows:
        print(f"| {b} | {size:,} | {u:,} | {mode} | {n} | {p50:.1f} | {p95:.1f} | {c50:.1f} | {c95:.1f} | {load:.0f} |")
    for b, m, size, u, mode, n, p50, p95, c50, c95, load in rows:
        if mode == "fused":
            report.check(f"fused recall p95 wall, {b}, user with {size:,} messages in a {m:,}-message store (p50 {p50:.1f} ms, CPU p95 {c95:.1f} ms)",
                         f"{p95:.1f} ms", "< 100 ms", p95 < 100)
    print("\nforget one heavy user (whole cascade, then FTS optimize + WAL checkpoint on SQLite, VACUUM on PostgreSQL)\n")
    print("| backend | messages in store | user's messages | rows removed | seconds |")
    print("|---|---|---|---|---|")
    for b, m, size, n, sec in FORGET_TIMES:
        print(f"| {b} | {m:,} | {size:,} | {n} | {sec:.1f} |")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
