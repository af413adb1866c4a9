"""Throughput of the message-level stages on the offline backend over real conversations: the
chitchat-dataset package (7,168 conversations, 258,145 messages) loaded into a fresh SQLite store
through the importer (`record_messages`), then score, embed (hashing), summarize, extract facts,
update the knowledge graph and relationship scores, day by day, as the daily partitions would.

    pip install -e '.[bench]'
    .venv/bin/python benchmarks/throughput.py            # all 258k messages
    .venv/bin/python benchmarks/throughput.py --smoke    # the first 5,000 messages
Goal: >= 2,000 messages/s over all stages together, peak RSS < 1 GB. CPU seconds are printed too:
on a shared machine the wall clock measures the neighbours as much as this code.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from background_pipelines.cognition import (  # noqa: E402
    embed_messages,
    extract_facts,
    score_messages,
    summarize_sessions,
    update_knowledge_graph,
    update_relationship_scores,
)
from background_pipelines.config import Settings  # noqa: E402
from background_pipelines.ingest import record_messages  # noqa: E402
from background_pipelines.llm import Gateway, get_embedder  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.message_views import day_versions  # noqa: E402

GOAL_RATE = 2000
GOAL_RSS_MB = 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def chitchat_messages(limit: int | None):
    """Canonical message dicts: one session per conversation; the first sender is the user, the
    other plays the character (so pins and relationship scores have someone to belong to)."""
    import chitchat_dataset

    with open(chitchat_dataset._PATH) as fh:  # the package's own loader re-reads the file per access
        data = json.load(fh)
    n = 0
    for conv_id, conv in data.items():
        senders: list[str] = []
        for turn in conv["messages"]:
            for i, msg in enumerate(turn):
                text = (msg.get("text") or "").strip()
                if not text:
                    continue
                if msg["sender"] not in senders:
                    senders.append(msg["sender"])
                is_user = msg["sender"] == senders[0]
                yield dict(
                    external_id=f"{conv_id}:{n}",
                    channel="chitchat",
                    session=conv_id,
                    author=("u-" if is_user else "c-") + msg["sender"][:8],
                    author_kind="user" if is_user else "character",
                    role="user" if is_user else "assistant",
                    text=text,
                    created_at=datetime.fromisoformat(msg["timestamp"].replace("Z", "+00:00")),
                )
                n += 1
                if limit and n >= limit:
                    return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="5,000 messages")
    parser.add_argument("--limit", type=int, default=None, help="messages to load (default: all)")
    args = parser.parse_args()
    limit = 5000 if args.smoke else args.limit

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/store.db"
        os.environ.update(BGP_HOME=tmp, BGP_DATABASE_URL=url, BGP_EMBEDDING_BACKEND="hashing", BGP_START_DATE="2018-01-01")
        os.environ.pop("BGP_LLM_BASE_URL", None)
        settings = Settings.from_env()
        store = open_store(url)
        t0 = time.perf_counter()
        loaded = record_messages(chitchat_messages(limit), store, platform="chitchat")
        load_s = time.perf_counter() - t0
        days = sorted(day_versions(store))
        total = sum(n for n, _ in day_versions(store).values())
        gw = Gateway.from_settings(settings, store)
        embedder = get_embedder(settings)
        stages = [
            ("score_messages", lambda d: score_messages(store, gw, settings, d)),
            ("embed_messages", lambda d: embed_messages(store, embedder, settings, d)),
            ("summarize_sessions", lambda d: summarize_sessions(store, gw, settings, d, embedder=embedder)),
            ("extract_facts", lambda d: extract_facts(store, gw, settings, d)),
            ("update_knowledge_graph", lambda d: update_knowledge_graph(store, gw, settings, d)),
            ("update_relationship_scores", lambda d: update_relationship_scores(store, gw, settings, d)),
        ]
        seconds: dict[str, float] = defaultdict(float)
        cpu: dict[str, float] = defaultdict(float)
        rows: dict[str, int] = defaultdict(int)
        processed: dict[str, int] = defaultdict(int)
        t_all, c_all = time.perf_counter(), time.process_time()
        for k, day in enumerate(days):
            for name, run in stages:
                t, c = time.perf_counter(), time.process_time()
                r = run(day)
                seconds[name] += time.perf_counter() - t
                cpu[name] += time.process_time() - c
                rows[name] += r.rows_written
                processed[name] += r.processed
            if k % 20 == 0:
                print(f"  {k + 1}/{len(days)} days, {time.perf_counter() - t_all:.0f} s", file=sys.stderr, flush=True)
        wall = time.perf_counter() - t_all
        cpu_all = time.process_time() - c_all
        # a second pass: everything is done, so this measures the ledger's skip path
        t = time.perf_counter()
        for day in days:
            for _, run in stages:
                run(day)
        rerun = time.perf_counter() - t

    rate = total / wall if wall else 0.0
    cpu_rate = total / cpu_all if cpu_all else 0.0
    rss = peak_rss_mb()
    print(f"\nchitchat-dataset: {total:,} messages over {len(days)} days (loaded in {load_s:.1f} s via record_messages: {loaded.inserted if hasattr(loaded, 'inserted') else loaded})")
    print("\n| stage | items processed | rows written | wall s | messages/s (wall) | CPU s | messages/CPU-s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, _ in stages:
        print(f"| {name} | {processed[name]:,} | {rows[name]:,} | {seconds[name]:.1f} | {total / seconds[name]:,.0f} | {cpu[name]:.1f} | {total / cpu[name]:,.0f} |")
    print(f"| **all stages** | | | **{wall:.1f}** | **{rate:,.0f}** | **{cpu_all:.1f}** | **{cpu_rate:,.0f}** |")
    print(f"| rerun (all done, ledger skip) | | | {rerun:.1f} | {total / rerun:,.0f} | | |")
    print("\n| measure | value | goal | met |\n|---|---:|---:|---|")
    print(f"| messages/s, all stages (wall) | {rate:,.0f} | >= {GOAL_RATE:,} | {'yes' if rate >= GOAL_RATE else 'NO'} |")
    print(f"| messages per CPU-second, all stages | {cpu_rate:,.0f} | >= {GOAL_RATE:,} | {'yes' if cpu_rate >= GOAL_RATE else 'NO'} |")
    print(f"| peak RSS (MB) | {rss:,.0f} | < {GOAL_RSS_MB:,} | {'yes' if rss < GOAL_RSS_MB else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
