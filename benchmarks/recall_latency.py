"""recall() latency as one user's history grows: a 1,000,000-message store where 3,000 users have 100
messages each, 200 have 1,000 and 50 have 10,000 (half theirs, half the characters' replies), with facts,
summaries, a knowledge graph and a 384-dim hashing-embedder vector per message and summary. Per history
size, p50/p95 wall and CPU (this process) of fused recall, for the first question about a user in this
process (its conversation's vectors are read into recall's cache) and for the questions after it; each
mode apart for the heaviest users. SQLite and PostgreSQL. Goal: fused p95 < 100 ms at every size.

    .venv/bin/python benchmarks/recall_latency.py [--smoke] [--backend sqlite|postgresql|both]
        [--scale S] [--queries Q] [--users U] [--pg-url URL] [--pg-db NAME] [--cache-dir DIR] [--no-cache]
        [--fresh] [--drop] [--build-only]

--smoke: 50,000 messages (200 x 100, 10 x 1,000, 2 x 10,000), 60 questions per row, built in a throwaway store.
The built store is kept between runs (keyed by population, seed and schema head): SQLite under --cache-dir
(default ~/.cache/bgp-bench/recall_latency), PostgreSQL as database --pg-db (default bgp_rl_<key>) on the
--pg-url server; --fresh rebuilds it, --drop deletes it after the run, --no-cache builds a throwaway one.
A kept store is never changed by a run (the forget is measured as a dry run there: the whole cascade in one
transaction, rolled back). Bulk load: one transaction per table, messages through insert_message_values
(SQLite's FTS5 sync replayed once by store.messages.bulk_insert; PostgreSQL's secondary indexes dropped and
re-created after, from their own definitions), vectors by the hashing embedder in batches.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
from background_pipelines.recall import vector_cache  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.messages import bulk_insert, insert_message_values  # noqa: E402
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
DATA_VERSION = 2  # bump when synthesize() writes something else: kept stores of another version are rebuilt
PER_SESSION = 20
T0 = datetime(2026, 1, 1)
NOW = datetime(2026, 11, 1)


def _ph(conn) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _insert(conn, table: str, cols: list[str], rows: list[tuple]) -> None:
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([_ph(conn)] * len(cols))})"
    for i in range(0, len(rows), BATCH):
        conn.exec_driver_sql(sql, rows[i : i + BATCH])


def _json(value) -> str:
    return json.dumps(value)


def _profiles(history: dict[str, int], rng: random.Random) -> dict[str, tuple]:
    return {name: (rng.choice(JOBS), rng.choice(CITIES), rng.choice(PETS), rng.choice(PET_NAMES)) for name in history}


def _conversations(history: dict[str, int], profile: dict[str, tuple], rng: random.Random):
    """Batches of (message tuples in MESSAGE_COLUMNS order, summary tuples): message ids are 1..n in this order."""
    msgs: list[tuple] = []
    sums: list[tuple] = []
    mid = 0
    for u, (name, per_user) in enumerate(history.items()):
        job, city, pet, pet_name = profile[name]
        planted = [f"I work as a {job} these days", f"I live in {city} now", f"My {pet} {pet_name} is asleep on my lap"]
        for s in range(max(1, per_user // PER_SESSION)):
            char = CHARACTERS[(u + s) % len(CHARACTERS)]
            session, channel = f"{name}-s{s}", f"dm/{char}/{name}"
            first = mid + 1
            for i in range(PER_SESSION):
                mid += 1
                at = T0 + timedelta(days=(u * 7 + s * 3) % 300, minutes=i)
                day = at.strftime("%Y-%m-%d")
                if i % 2 == 0:
                    text = planted[(s * 10 + i) // 2 % 3] if (s < 2 and i < 6) else " ".join(rng.choices(WORDS, k=rng.randint(5, 14)))
                    msgs.append(("bench", f"m{mid}", channel, session, name, "user", "user", text, at, day, NOW, name))
                else:
                    text = "That sounds " + " ".join(rng.choices(WORDS, k=rng.randint(4, 10)))
                    msgs.append(("bench", f"m{mid}", channel, session, char, "character", "assistant", text, at, day, NOW, char))
            ids = list(range(first, mid + 1))
            sums.append((session, channel, day, first, mid, _json(ids), _json([name, char]),
                         f"{name} chatted with {char} about " + ", ".join(rng.choices(WORDS, k=6)), 3, "kept", "offline", "1", NOW))
            if len(msgs) >= BATCH:
                yield msgs, sums
                msgs, sums = [], []
    if msgs:
        yield msgs, sums


def _pg_secondary_indexes(conn, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes of `tables` that back no constraint."""
    return [(n, d) for n, d in conn.exec_driver_sql(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", (list(tables),)).all()]


def synthesize(store, history: dict[str, int], seed: int = 7, log=print) -> dict:
    """Fill a fresh store with `history` (user name -> messages); returns counts and timings."""
    rng = random.Random(seed)
    profile = _profiles(history, rng)
    emb = HashingEmbedder()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    pg = store.dialect == "postgresql"
    dropped: list[tuple[str, str]] = []
    if pg:  # maintaining the tsvector GIN and b-tree indexes row by row is most of a 1M-row load
        with store.begin() as conn:
            dropped = _pg_secondary_indexes(conn, ("messages", "embeddings", "summaries"))
            for name, _ in dropped:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
    n_msgs = n_sums = 0
    t_vec = 0.0
    with store.begin() as conn, bulk_insert(conn):
        for msgs, sums in _conversations(history, profile, rng):
            insert_message_values(conn, msgs)
            _insert(conn, "summaries", ["session", "channel", "day", "first_message_id", "last_message_id", "message_ids", "participants",
                                        "text", "meaningfulness", "status", "backend", "version", "created_at"], sums)
            t = time.perf_counter()
            for kind, first, texts in (("message", n_msgs + 1, [m[7] for m in msgs]), ("summary", n_sums + 1, [x[7] for x in sums])):
                m = emb.encode(texts).astype("<f4")
                _insert(conn, "embeddings", ["item_kind", "item_id", "model", "dim", "vector", "created_at"],
                        [(kind, first + k, MODEL, DIM, m[k].tobytes(), NOW) for k in range(len(texts))])
            t_vec += time.perf_counter() - t
            n_msgs += len(msgs)
            n_sums += len(sums)
            if n_msgs % 200_000 < len(msgs):
                log(f"  {n_msgs:,} messages ({time.perf_counter() - started:.0f}s)")
        got = conn.exec_driver_sql("SELECT count(*), max(id) FROM messages").one()
        if tuple(got) != (n_msgs, n_msgs):  # the vectors above were written for ids 1..n in insertion order
            raise RuntimeError(f"recall_latency needs a fresh store: messages (count, max id) = {tuple(got)}, expected ({n_msgs}, {n_msgs})")
    timings["messages+summaries+vectors"] = time.perf_counter() - started
    timings["vectors (of that)"] = t_vec
    # facts, entities, relations: 3 facts per user, the graph over shared objects
    t = time.perf_counter()
    first_id, mid = {}, 0
    for name, per_user in history.items():
        first_id[name] = mid + 1
        mid += max(1, per_user // PER_SESSION) * PER_SESSION
    fact_rows, names = [], {}
    for name, (job, city, pet, pet_name) in profile.items():
        base = first_id[name]
        src = {"works_as": base, "lives_in": base + 2, "has_pet": base + 4}
        for pred, obj in (("works_as", job), ("lives_in", city), ("has_pet", pet_name)):
            fact_rows.append((name, "fact", name, pred, obj, 0.9, T0, _json([src[pred]]), "2026-01-01", "offline", "1", "bench", NOW))
        for n, typ in ((name, "person"), (job, "occupation"), (city, "place"), (pet_name, "pet")):
            names.setdefault(n.lower(), (n, typ))
    with store.begin() as conn:
        _insert(conn, "facts", ["user_name", "kind", "subject", "predicate", "object", "confidence", "valid_from", "source_message_ids",
                                "day", "backend", "version", "run_id", "created_at"], fact_rows)
        _insert(conn, "entities", ["name", "norm", "type", "aliases", "created_at", "updated_at"],
                [(n, norm, typ, "[]", NOW, NOW) for norm, (n, typ) in names.items()])
        eid = {norm: i for norm, i in conn.exec_driver_sql("SELECT norm, id FROM entities")}
        fid = {(user, pred): i for i, user, pred in conn.exec_driver_sql("SELECT id, user_name, predicate FROM facts")}
        rel_rows = []
        for name, (job, city, pet, pet_name) in profile.items():
            base_fact = fid[(name, "works_as")]
            for pred, obj in (("works_as", job), ("lives_in", city), ("has_pet", pet_name)):
                rel_rows.append((eid[name], pred, eid[obj.lower()], 1.0, 0.9, T0, T0, T0, False, _json([base_fact]), _json([fid[(name, pred)]])))
        _insert(conn, "relations", ["src_id", "predicate", "dst_id", "weight", "confidence", "first_seen", "last_seen", "valid_from",
                                    "inferred", "source_message_ids", "source_fact_ids"], rel_rows)
    timings["facts+graph"] = time.perf_counter() - t
    t = time.perf_counter()
    if pg:
        with store.begin() as conn:
            for _, ddl in dropped:
                conn.exec_driver_sql(ddl)
        timings["indexes"] = time.perf_counter() - t
        t = time.perf_counter()
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with store.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    timings["analyze"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return {"timings": timings, "messages": n_msgs, "users": len(history)}


def _pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def _question(rng: random.Random, u: str) -> str:
    return rng.choice(QUESTIONS).format(u=u, w=rng.choice(WORDS), w2=rng.choice(WORDS))


class _ServerCPU:
    """CPU nanoseconds the PostgreSQL backends of the store's database have run (/proc/PID/schedstat, same
    host), so a recall's CPU includes the server's share; 0 on SQLite or when /proc cannot be read."""

    def __init__(self, store):
        self.store = store if store.dialect == "postgresql" else None
        self.pids: list[int] = []

    def refresh(self) -> None:
        if self.store is not None:
            with self.store.connect() as conn:
                self.pids = [int(p) for p in conn.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()").scalars()]

    def ns(self) -> int:
        total = 0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/schedstat") as fh:
                    total += int(fh.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total


def _timed(store, settings, user: str, q: str, modes, server: _ServerCPU) -> tuple[float, float]:
    """(wall ms, CPU ms of this process plus the database server's backends)."""
    s = server.ns()
    t, c = time.perf_counter(), time.process_time()
    recall(user, q, store=store, settings=settings, modes=modes)
    wall, cpu = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
    return wall, cpu + (server.ns() - s) / 1e6


def measure(store, settings, users: list[str], n_queries: int, modes, seed: int = 11, cold: bool = True):
    """(cold, warm): wall and CPU milliseconds of the first question about each of `users` in this process
    (when `cold`), then of `n_queries` random questions about them."""
    rng = random.Random(seed)
    server = _ServerCPU(store)
    recall(users[0], "warm-up", store=store, settings=settings, modes=("graph",))  # a pooled connection, the embedder
    server.refresh()  # the pooled connection's backend (one thread: one connection)
    first = [_timed(store, settings, u, _question(rng, u), modes, server) for u in users] if cold else []
    warm = [_timed(store, settings, u, _question(rng, u), modes, server) for u in (rng.choice(users) for _ in range(n_queries))]
    return first, warm


def population(scale: float, smoke: bool) -> dict[str, int]:
    """user name -> messages in their history: many light users, fewer medium, a few heavy."""
    counts = {100: 200, 1_000: 10, 10_000: 2} if smoke else {100: 3_000, 1_000: 200, 10_000: 50}
    history = {}
    for size, n in counts.items():
        for k in range(max(1, round(n * scale))):
            history[f"user{size}_{k:04d}"] = size
    return history


ALL_MODES = ("fulltext", "vectors", "graph")


def store_key(history: dict[str, int], seed: int) -> str:
    """What a kept store was built from: the population, the seed and the data version (a later schema
    reaches it as it reaches a production store: open_store migrates it)."""
    blob = json.dumps([sorted(history.items()), seed, DATA_VERSION])
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


class _Kept:
    """Where a back end's store lives, whether it is already built, and how to mark it built or drop it."""

    def __init__(self, backend: str, key: str, args):
        self.backend, self.key, self.args = backend, key, args
        self.cached = not (args.no_cache or args.smoke)
        self.tmp = tempfile.mkdtemp(prefix="bgp_recall_latency_")
        self.admin = None
        if backend == "sqlite":
            root = Path(args.cache_dir).expanduser() / key if self.cached else Path(self.tmp)
            root.mkdir(parents=True, exist_ok=True)
            self.root, self.url = root, f"sqlite:///{root / 'store.db'}"
            return
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        base = make_url(args.pg_url)
        self.db = (args.pg_db or f"bgp_rl_{key}") if self.cached else f"bgp_recall_bench_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.url = base.set(database=self.db).render_as_string(hide_password=False)

    def built(self) -> dict | None:
        """The build info of a complete kept store of this key, else None (a crashed build is not reused)."""
        if not self.cached or self.args.fresh:
            return None
        if self.backend == "sqlite":
            marker = self.root / "complete.json"
            info = json.loads(marker.read_text()) if marker.is_file() and (self.root / "store.db").is_file() else None
        else:
            with self.admin.connect() as c:
                note = c.exec_driver_sql("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (self.db,)).scalar()
            info = json.loads(note) if note and note.startswith("{") else None
        return info if info and info.get("key") == self.key else None

    def create(self) -> None:
        if self.backend == "sqlite":
            for f in self.root.glob("store.db*"):
                f.unlink()
            (self.root / "complete.json").unlink(missing_ok=True)
            return
        with self.admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}"')
            c.exec_driver_sql(f'CREATE DATABASE "{self.db}"')

    def mark(self, info: dict) -> None:
        if not self.cached:
            return
        info = {**info, "key": self.key}
        if self.backend == "sqlite":
            (self.root / "complete.json").write_text(json.dumps(info))
        else:
            with self.admin.connect() as c:
                c.exec_driver_sql(f"COMMENT ON DATABASE \"{self.db}\" IS '{json.dumps(info)}'")

    def close(self, drop: bool) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.backend == "sqlite":
            if drop or not self.cached:
                shutil.rmtree(self.root, ignore_errors=True)
        elif self.admin is not None:
            if drop or not self.cached:
                with self.admin.connect() as c:
                    c.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                                      (self.db,))
                    c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}"')
            self.admin.dispose()


def _log(backend: str):
    return lambda msg: print(f"[{backend}] {msg}", file=sys.stderr, flush=True)


def run_backend(backend: str, history: dict[str, int], args) -> list[tuple]:
    kept = _Kept(backend, store_key(history, args.seed), args)
    log = _log(backend)
    os.environ.update(BGP_HOME=kept.tmp, BGP_DATABASE_URL=kept.url, BGP_EMBEDDING_BACKEND="hashing",
                      BGP_RECALL_VECTOR_CACHE_MB=str(args.cache_mb))
    settings = Settings.from_env()
    store = None
    try:
        info = kept.built()
        if info is None:
            kept.create()
            store = open_store(kept.url)
            log(f"building {sum(history.values()):,} messages / {len(history):,} users ...")
            info = synthesize(store, history, args.seed, log=log)
            kept.mark(info)
            tm = info["timings"]
            log(f"built in {tm['total']:.0f}s (" + ", ".join(f"{k} {v:.0f}s" for k, v in tm.items() if k != "total") + ")")
        else:
            store = open_store(kept.url)
            log(f"reusing the store built in {info['timings']['total']:.0f}s ({kept.url if backend == 'sqlite' else kept.db})")
        if args.build_only:
            return []
        vector_cache.clear()
        rows = []
        sizes = sorted(set(history.values()))
        rng = random.Random(args.seed)
        for size in sizes:
            users = sorted(u for u, n in history.items() if n == size)
            users = sorted(rng.sample(users, min(len(users), args.users)))
            first, warm = measure(store, settings, users, args.queries, ALL_MODES)
            rows.append((backend, info["messages"], size, len(users), "fused", first, warm))
            log(f"{size:,}-message users: first question p95 {_pct([w for w, _ in first], 95):.1f} ms, "
                f"next ones p50 {_pct([w for w, _ in warm], 50):.1f} / p95 {_pct([w for w, _ in warm], 95):.1f} ms wall "
                f"(CPU p95 {_pct([c for _, c in warm], 95):.1f} ms)")
            if size == sizes[-1]:
                for mode in ALL_MODES:
                    _, warm = measure(store, settings, users, args.queries, (mode,), cold=False)
                    rows.append((backend, info["messages"], size, len(users), mode, [], warm))
        # forgetting one heavy user at this scale: a one-off cost. A kept store is left as built (dry run)
        heavy = sorted(u for u, n in history.items() if n == sizes[-1])
        dry = kept.cached
        t = time.perf_counter()
        report = forget(store, user=heavy[len(heavy) // 2], home=Path(kept.tmp), dry_run=dry)
        FORGET_TIMES.append((backend, info["messages"], sizes[-1], report.total, time.perf_counter() - t, dry))
        return rows
    finally:
        if store is not None:
            store.engine.dispose()
        kept.close(args.drop)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="50,000 messages (200 x 100, 10 x 1,000, 2 x 10,000), 60 questions per row")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the number of users of each size")
    p.add_argument("--queries", type=int, default=300, help="questions per row after the first ones (default %(default)s)")
    p.add_argument("--users", type=int, default=100, help="users asked about per size (default %(default)s; all of a size if fewer)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--pg-url", default=os.environ.get("BGP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                   help="the PostgreSQL server to build on (its database name is replaced; default: %(default)s)")
    p.add_argument("--pg-db", default=None, help="the kept PostgreSQL database's name (default bgp_rl_<key>)")
    p.add_argument("--cache-dir", default=os.environ.get("BGP_BENCH_CACHE", "~/.cache/bgp-bench/recall_latency"),
                   help="where kept SQLite stores live (default: %(default)s)")
    p.add_argument("--cache-mb", type=int, default=1024,
                   help="BGP_RECALL_VECTOR_CACHE_MB for the run (default %(default)s: the 50 heaviest users' 500,000 turns fit)")
    p.add_argument("--no-cache", action="store_true", help="build a throwaway store (the default with --smoke)")
    p.add_argument("--fresh", action="store_true", help="rebuild the kept store")
    p.add_argument("--drop", action="store_true", help="delete the kept store after the run")
    p.add_argument("--build-only", action="store_true", help="build (or find) the kept store, measure nothing")
    args = p.parse_args(argv)
    history = population(args.scale, args.smoke)
    if args.smoke:
        args.queries = min(args.queries, 60)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = []
    for b in backends:
        rows += run_backend(b, history, args)
    if args.build_only:
        return 0
    sizes = sorted(set(history.values()))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nrecall() latency, {sum(history.values()):,} messages in the store: "
          + ", ".join(f"{sum(1 for n in history.values() if n == s):,} users x {s:,}" for s in sizes)
          + "; a user's history = their messages and the replies, 3 facts, 1 summary per 20 messages; "
          + f"{datetime.now():%Y-%m-%d %H:%M}, load average {load}")
    print(f"first = the first question about each of the users asked about (their conversation's vectors read into recall's "
          f"cache, BGP_RECALL_VECTOR_CACHE_MB={args.cache_mb}); next = {args.queries} random questions about the same users after it. "
          "CPU = this process plus, on PostgreSQL, the server backends serving it (/proc/PID/schedstat). "
          "On a loaded host wall includes waiting for a core: read it beside the load average\n")
    print("| backend | user's messages | users asked | mode | first p50 wall | first p95 wall | first p95 CPU | next p50 wall | next p95 wall "
          "| next p50 CPU | next p95 CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    report = Report("recall_latency")

    def stats(xs):
        if not xs:
            return ("-",) * 3
        w, c = [x[0] for x in xs], [x[1] for x in xs]
        return statistics.median(w), _pct(w, 95), _pct(c, 95)

    def f(x):
        return x if isinstance(x, str) else f"{x:.1f}"

    for b, m, size, u, mode, first, warm in rows:
        fw50, fw95, fc95 = stats(first)
        w = [x[0] for x in warm]
        c = [x[1] for x in warm]
        print(f"| {b} | {size:,} | {u:,} | {mode} | {f(fw50)} | {f(fw95)} | {f(fc95)} | {statistics.median(w):.1f} | {_pct(w, 95):.1f} "
              f"| {statistics.median(c):.1f} | {_pct(c, 95):.1f} |")
    for b, m, size, u, mode, first, warm in rows:
        if mode != "fused":
            continue
        where = f"{b}, user with {size:,} messages in a {m:,}-message store"
        w, c = [x[0] for x in warm], [x[1] for x in warm]
        report.check(f"fused recall p95 wall, {where}, questions after the first (p50 {statistics.median(w):.1f} ms)",
                     f"{_pct(w, 95):.1f} ms", "< 100 ms", _pct(w, 95) < 100)
        report.check(f"fused recall p95 CPU, {where}, questions after the first (p50 {statistics.median(c):.1f} ms)",
                     f"{_pct(c, 95):.1f} ms", "< 100 ms", _pct(c, 95) < 100)
        fw, fc = [x[0] for x in first], [x[1] for x in first]
        report.check(f"fused recall p95 CPU, {where}, first question about the user in the process (p95 wall {_pct(fw, 95):.1f} ms)",
                     f"{_pct(fc, 95):.1f} ms", "< 100 ms", _pct(fc, 95) < 100)
    print("\nforget one heavy user (whole cascade; a throwaway store then runs FTS optimize + WAL checkpoint on SQLite, VACUUM on "
          "PostgreSQL; a kept store is forgotten as a dry run: the cascade in one transaction, rolled back)\n")
    print("| backend | messages in store | user's messages | rows removed | seconds | dry run |")
    print("|---|---|---|---|---|---|")
    for b, m, size, n, sec, dry in FORGET_TIMES:
        print(f"| {b} | {m:,} | {size:,} | {n} | {sec:.1f} | {'yes' if dry else 'no'} |")
    return report.finish(note=f"load average {load}")


if __name__ == "__main__":
    sys.exit(main())
