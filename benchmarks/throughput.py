"""Throughput of the message-level stages on the offline backend over real conversations: the
chitchat-dataset package (7,168 conversations, 258,145 messages) loaded into a fresh SQLite store
through the importer (`record_messages`), then score, embed (hashing), summarize, extract facts,
update the knowledge graph and relationship scores over the whole range of days, three ways on
copies of the same loaded store:
  1. the engine functions called directly, each once over the range (what a ranged run executes);
  2. Dagster, one single-run backfill of all days in process (execute_in_process, range tags);
  3. Dagster, the same backfill with the code location's default executor (`dagster asset
     materialize --partition-range` in a subprocess: run worker, event log, step processes).
The Dagster rates over the engine rate are the overhead ratios.

    pip install -e '.[bench]'
    .venv/bin/python benchmarks/throughput.py            # all 258k messages
    .venv/bin/python benchmarks/throughput.py --smoke    # the first 5,000 messages
    .venv/bin/python benchmarks/throughput.py --profile  # + the engine's top functions by CPU
Goals: engine >= 5,000 messages/s over all stages together; peak RSS < 1 GB; Dagster in process at
>= 50% of the engine rate. CPU seconds are printed too: on a shared machine the wall clock measures
the neighbours as much as this code.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from background_pipelines.config import Settings  # noqa: E402
from background_pipelines.ingest import record_messages  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.message_views import day_versions  # noqa: E402
from benchmarks._pipeline import STAGES, children_cpu, chitchat_texts, dagster_backfill_in_process, engine_pass, peak_rss_mb  # noqa: E402
from benchmarks._report import Report  # noqa: E402

GOAL_RATE = 5000
GOAL_RATIO = 0.5
GOAL_RSS_MB = 1024
ASSETS = list(STAGES.values())


def chitchat_messages(limit: int | None):
    """Canonical message dicts: one session per conversation; the first sender is the user, the
    other plays the character (so pins and relationship scores have someone to belong to)."""
    data = chitchat_texts()
    n = 0
    for conv_id, conv in data.items():
        senders: list[str] = []
        for turn in conv["messages"]:
            for msg in turn:
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


def dagster_default_executor(url: str, days: list[str], home: Path):
    """The same backfill through the CLI: a run with the code location's default executor."""
    env = dict(os.environ, BGP_DATABASE_URL=url, DAGSTER_HOME=str(home))
    cmd = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "background_pipelines.definitions",
           "--select", ",".join(ASSETS), "--partition-range", f"{days[0]}...{days[-1]}"]
    t, c = time.perf_counter(), children_cpu()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
    return proc.returncode == 0, time.perf_counter() - t, children_cpu() - c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="5,000 messages")
    parser.add_argument("--limit", type=int, default=None, help="messages to load (default: all)")
    parser.add_argument("--profile", action="store_true", help="print the engine's top functions by cumulative CPU")
    parser.add_argument("--no-dagster", action="store_true", help="the engine pass only")
    args = parser.parse_args()
    limit = 5000 if args.smoke else args.limit

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = f"sqlite:///{tmp}/store.db"
        os.environ.update(BGP_HOME=str(tmp), BGP_DATABASE_URL=url, BGP_EMBEDDING_BACKEND="hashing")
        for name in ("BGP_LLM_BASE_URL", "BGP_START_DATE"):
            os.environ.pop(name, None)
        settings = Settings.from_env()
        store = open_store(url)
        t0 = time.perf_counter()
        loaded = record_messages(chitchat_messages(limit), store, platform="chitchat")
        load_s = time.perf_counter() - t0
        versions = day_versions(store)
        days, total = sorted(versions), sum(n for n, _ in versions.values())
        store.engine.dispose()
        copies = {}
        for name in ("in_process", "default_executor"):  # the same loaded, unprocessed store for each path
            if not args.no_dagster:
                shutil.copy(tmp / "store.db", tmp / f"{name}.db")
                home = tmp / f"dagster_{name}"
                home.mkdir()
                shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
                copies[name] = (f"sqlite:///{tmp}/{name}.db", home)

        engine = engine_pass(url, settings, days, profile=args.profile, rerun=True)
        table, wall, cpu_all, rerun = engine["rows"], engine["wall"], engine["cpu"], engine["rerun"]
        engine_rss = peak_rss_mb()
        runs = {}
        if not args.no_dagster:
            d = dagster_backfill_in_process(copies["in_process"][0], copies["in_process"][1], days, ASSETS)
            runs["in_process"] = (d["ok"], d["wall"], d["cpu"])
            print(f"  dagster in process: {runs['in_process'][1]:.0f} s", file=sys.stderr, flush=True)
            runs["default_executor"] = dagster_default_executor(copies["default_executor"][0], days, copies["default_executor"][1])
            print(f"  dagster default executor: {runs['default_executor'][1]:.0f} s", file=sys.stderr, flush=True)

    rate = total / wall if wall else 0.0
    cpu_rate = total / cpu_all if cpu_all else 0.0
    print(f"\nchitchat-dataset: {total:,} messages over {len(days)} days ({days[0]}..{days[-1]}), loaded in {load_s:.1f} s via "
          f"record_messages ({getattr(loaded, 'inserted', loaded)} inserted); load average {os.getloadavg()[0]:.1f}")
    print("\n| stage (engine, whole range) | items processed | rows written | wall s | messages/s (wall) | CPU s | messages/CPU-s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, processed, rows, secs, cpu in table:
        print(f"| {name} | {processed:,} | {rows:,} | {secs:.1f} | {total / max(secs, 1e-9):,.0f} | {cpu:.1f} | {total / max(cpu, 1e-9):,.0f} |")
    print(f"| **all stages** | | | **{wall:.1f}** | **{rate:,.0f}** | **{cpu_all:.1f}** | **{cpu_rate:,.0f}** |")
    print(f"| rerun (all done, ledger skip) | | | {rerun:.1f} | {total / max(rerun, 1e-9):,.0f} | | |")
    if runs:
        print("\n| path (same work, same data) | ok | wall s | messages/s (wall) | CPU s | messages/CPU-s | rate / engine rate (wall) |")
        print("|---|---|---:|---:|---:|---:|---:|")
        print(f"| engine functions | yes | {wall:.1f} | {rate:,.0f} | {cpu_all:.1f} | {cpu_rate:,.0f} | 1.00 |")
        for name, label in (("in_process", "Dagster, single-run backfill, in process"),
                            ("default_executor", "Dagster, single-run backfill, default executor (CLI)")):
            ok, w, c = runs[name]
            print(f"| {label} | {'yes' if ok else 'FAILED'} | {w:.1f} | {total / w:,.0f} | {c:.1f} | {total / max(c, 1e-9):,.0f} | {wall / w:.2f} |")
    report = Report("throughput")
    report.check("engine messages/s, all stages over the range (wall)", f"{rate:,.0f}", f">= {GOAL_RATE:,}", rate >= GOAL_RATE)
    report.check("engine messages per CPU-second, all stages", f"{cpu_rate:,.0f}", f">= {GOAL_RATE:,}", cpu_rate >= GOAL_RATE)
    if runs:
        ok, w, _ = runs["in_process"]
        ratio = wall / w if ok else 0.0
        report.check("Dagster single-run backfill in process / engine functions (wall rate)", f"{ratio:.2f}", f">= {GOAL_RATIO}", ratio >= GOAL_RATIO)
    report.check("peak RSS of the engine pass (MB)", f"{engine_rss:,.0f}", f"< {GOAL_RSS_MB:,}", engine_rss < GOAL_RSS_MB)
    return report.finish(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
