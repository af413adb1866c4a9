"""A year of generated history imported and processed, through the engine and through Dagster.

100,000 messages over 365 days (50 users, 3 characters; real small talk from the chitchat-dataset
package with planted self-disclosures: jobs, cities, pets, life events) are written as a canonical
JSONL export and imported with `bgp ingest`'s importer into a fresh SQLite store. Copies of that
store are then processed through scores, embeddings (hashing), summaries, facts and the graph:
  1. the engine functions, each once over the whole range;
  2. Dagster: one single-run backfill of the range in process (execute_in_process with the range
     tags the UI's backfill sets), with per-partition materializations and metadata, on a
     persistent SQLite instance as `make run` uses;
  3. with --pg-admin-url (default: $BGP_TEST_DATABASE_URL when set), the same on a PostgreSQL
     instance (deploy/postgres/dagster.yaml) in a throwaway database, as the scale-out deployment.
Both rates are printed with their ratio (goal: Dagster >= 50% of the engine rate) and the peak RSS
of this process (goal < 1 GB). Generated before tuning; deterministic by seed.

    .venv/bin/python benchmarks/history.py            # 100,000 messages over 365 days
    .venv/bin/python benchmarks/history.py --smoke    # 3,000 messages over 30 days
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from background_pipelines.config import Settings  # noqa: E402
from background_pipelines.history import history_span  # noqa: E402
from background_pipelines.ingest import ingest_file  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from benchmarks._pipeline import chitchat_texts, dagster_backfill_in_process, engine_pass, peak_rss_mb  # noqa: E402
from benchmarks._report import Report, markdown_table  # noqa: E402

GOAL_RATIO = 0.5
GOAL_RSS_MB = 1024
STAGES = ["score_messages", "embed_messages", "summarize_sessions", "extract_facts", "update_knowledge_graph"]
ASSETS = ["message_scores", "message_embeddings", "session_summaries", "extracted_facts", "knowledge_graph"]
CHARACTERS = ["Mira", "Aria", "Sol"]
JOBS = ["nurse", "teacher", "software engineer", "chef", "accountant", "designer", "pharmacist", "librarian"]
COMPANIES = ["Acme Corp", "Initech", "Globex", "Umbrella Health", "Stark Labs", "Wayne Foods"]
CITIES = ["Lisbon", "Porto", "Berlin", "Austin", "Osaka", "Toronto", "Nairobi", "Lyon"]
PETS = [("dog", "Biscuit"), ("cat", "Miso"), ("parrot", "Kiwi"), ("rabbit", "Clover")]


def small_talk() -> list[str]:
    """Real chat lines from the chitchat-dataset package (the bench extra)."""
    data = chitchat_texts()
    lines = [m["text"].strip() for conv in data.values() for turn in conv["messages"] for m in turn if (m.get("text") or "").strip()]
    return lines[:60000]


def disclosures(rng: random.Random, user: str) -> list[str]:
    job, company, city = rng.choice(JOBS), rng.choice(COMPANIES), rng.choice(CITIES)
    species, pet = rng.choice(PETS)
    return [
        f"I work at {company} as a {job}.",
        f"I live in {city} these days.",
        f"My {species} {pet} keeps me busy.",
        "I got promoted at work today!",
        f"We are moving to {rng.choice(CITIES)} next month.",
        "Please be concise with me.",
    ]


def generate(path: Path, n_messages: int, n_days: int, n_users: int, seed: int = 7) -> tuple[str, str]:
    """Canonical JSONL: sessions of 12-40 messages between a user and a character, spread over the
    days of the range ending yesterday; ~1 in 12 user messages is a planted self-disclosure."""
    rng = random.Random(seed)
    talk = small_talk()
    users = [f"user{i:02d}" for i in range(n_users)]
    facts = {u: disclosures(rng, u) for u in users}
    end = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    first_day = end - timedelta(days=n_days - 1)
    written, sid = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        while written < n_messages:
            day = first_day + timedelta(days=rng.randrange(n_days))
            at = day + timedelta(hours=rng.randrange(7, 22), minutes=rng.randrange(60))
            user, character = rng.choice(users), rng.choice(CHARACTERS)
            sid += 1
            for i in range(min(rng.randint(12, 40), n_messages - written)):
                is_user = i % 2 == 0
                text = rng.choice(facts[user]) if is_user and rng.random() < 1 / 12 else rng.choice(talk)
                fh.write(json.dumps(dict(
                    external_id=f"h{sid}:{i}", channel=f"dm/{character}/{user}", session=f"h{sid}",
                    author=user if is_user else character, author_kind="user" if is_user else "character",
                    text=text, created_at=(at + timedelta(seconds=45 * i)).isoformat(),
                )) + "\n")
                written += 1
    return first_day.date().isoformat(), end.date().isoformat()


def pg_instance_home(admin_url: str, home: Path):
    """A DAGSTER_HOME for deploy/postgres/dagster.yaml in a new database; returns (home, drop)."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    url = make_url(admin_url)
    name = f"bgp_history_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    os.environ.update(DAGSTER_PG_HOST=url.host or "127.0.0.1", DAGSTER_PG_PORT=str(url.port or 5432),
                      DAGSTER_PG_USER=url.username or "postgres", DAGSTER_PG_PASSWORD=url.password or "", DAGSTER_PG_DB=name)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return home, drop


def dagster_pass(url: str, home: Path, days: list[str]) -> tuple[bool, float, float, int]:
    d = dagster_backfill_in_process(url, home, days, ASSETS)
    return d["ok"], d["wall"], d["cpu"], d["materializations"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="3,000 messages over 30 days, 10 users")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--pg-admin-url", default=os.environ.get("BGP_TEST_DATABASE_URL"),
                        help="also run the Dagster pass on a PostgreSQL instance (a throwaway database made through this URL)")
    args = parser.parse_args()
    n, n_days, n_users = (3000, 30, 10) if args.smoke else (args.messages, args.days, args.users)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = f"sqlite:///{tmp}/store.db"
        os.environ.update(BGP_HOME=str(tmp), BGP_DATABASE_URL=url, BGP_EMBEDDING_BACKEND="hashing")
        for name in ("BGP_LLM_BASE_URL", "BGP_START_DATE"):
            os.environ.pop(name, None)
        settings = Settings.from_env()
        export = tmp / "history.jsonl"
        first, last = generate(export, n, n_days, n_users)
        store = open_store(url)
        t = time.perf_counter()
        report = ingest_file(export, store, progress=False)
        import_s = time.perf_counter() - t
        span = history_span(store)
        store.engine.dispose()
        days = [(datetime.fromisoformat(span.first_day) + timedelta(days=i)).date().isoformat()
                for i in range((datetime.fromisoformat(span.last_day) - datetime.fromisoformat(span.first_day)).days + 1)]
        shutil.copy(tmp / "store.db", tmp / "dagster_store.db")
        if args.pg_admin_url:
            shutil.copy(tmp / "store.db", tmp / "dagster_pg_store.db")
        home = tmp / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")

        engine = engine_pass(url, settings, days, STAGES)
        e_wall, e_cpu, rows = engine["wall"], engine["cpu"], engine["rows"]
        print(f"  engine: {e_wall:.1f} s", file=sys.stderr, flush=True)
        ok, d_wall, d_cpu, mats = dagster_pass(f"sqlite:///{tmp}/dagster_store.db", home, days)
        print(f"  dagster: {d_wall:.1f} s", file=sys.stderr, flush=True)
        pg = None
        if args.pg_admin_url:
            pg_home, drop = pg_instance_home(args.pg_admin_url, tmp / "dagster_pg_home")
            try:
                pg = dagster_pass(f"sqlite:///{tmp}/dagster_pg_store.db", pg_home, days)
            finally:
                drop()
            print(f"  dagster (PostgreSQL instance): {pg[1]:.1f} s", file=sys.stderr, flush=True)
    rss = peak_rss_mb()

    load = os.getloadavg()
    total = report.inserted
    e_rate, d_rate = total / e_wall, total / d_wall
    print(f"\nA year of generated history: {total:,} messages imported in {import_s:.1f} s over {len(days)} day partitions "
          f"({days[0]}..{days[-1]}), {n_users} users, {len(CHARACTERS)} characters; load average {load[0]:.1f} / {load[1]:.1f}")
    print("\nengine functions, each once over the range:\n")
    print(markdown_table(["stage", "processed", "rows written", "wall s", "CPU s"],
                         [(name, f"{p:,}", f"{r:,}", f"{w:.1f}", f"{c:.1f}") for name, p, r, w, c in rows]))
    print("\nthe same work, two ways (same imported data, fresh copies):\n")
    print(markdown_table(
        ["path", "ok", "wall s", "messages/s (wall)", "CPU s", "messages/CPU-s", "materializations"],
        [("engine functions", "yes", f"{e_wall:.1f}", f"{e_rate:,.0f}", f"{e_cpu:.1f}", f"{total / e_cpu:,.0f}", "-"),
         ("Dagster single-run backfill of the range, in process, SQLite instance", "yes" if ok else "FAILED", f"{d_wall:.1f}",
          f"{d_rate:,.0f}", f"{d_cpu:.1f}", f"{total / d_cpu:,.0f}", f"{mats:,}")]
        + ([("the same, PostgreSQL instance", "yes" if pg[0] else "FAILED", f"{pg[1]:.1f}", f"{total / pg[1]:,.0f}",
             f"{pg[2]:.1f}", f"{total / pg[2]:,.0f}", f"{pg[3]:,}")] if pg else [])))
    print()
    goals = Report("history")
    ratio = d_rate / e_rate if ok else 0.0
    goals.check("Dagster rate / engine rate (wall), year of history", f"{ratio:.2f}", f">= {GOAL_RATIO}", ratio >= GOAL_RATIO)
    cpu_ratio = (total / d_cpu) / (total / e_cpu) if ok else 0.0
    goals.check("Dagster rate / engine rate (CPU seconds)", f"{cpu_ratio:.2f}", f">= {GOAL_RATIO}", cpu_ratio >= GOAL_RATIO)
    if pg:
        pg_ratio = (total / pg[2]) / (total / e_cpu) if pg[0] else 0.0
        goals.check("Dagster rate / engine rate (CPU seconds), PostgreSQL instance", f"{pg_ratio:.2f}", f">= {GOAL_RATIO}", pg_ratio >= GOAL_RATIO)
    goals.check("peak RSS of import + both passes (MB)", f"{rss:,.0f}", f"< {GOAL_RSS_MB:,}", rss < GOAL_RSS_MB)
    return goals.finish(f"load average {load[0]:.1f}; generated {first}..{last}")


if __name__ == "__main__":
    sys.exit(main())
