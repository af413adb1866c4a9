"""Run every benchmark one after the other (`make bench`: full size; `--smoke`: CI's small sizes) and write one
markdown table of all their goals, with wall and CPU seconds and the load average before each, to stdout and
benchmarks/out/. A benchmark fails this run only by crashing (non-zero exit); a NOT MET goal is a figure.

    .venv/bin/python benchmarks/run_bench.py [--smoke] [--only recall_latency,sensor_tick] [--args "recall_latency=--scale 0.1"]

Convention (benchmarks/_report.py, discover): every benchmarks/*.py not named `_*` or `run_*` runs at smoke size
with `--smoke` (or its module-level SMOKE_ARGS list); `make bench` runs at full size (no arguments, or its
BENCH_ARGS list) those that report their goals through benchmarks/_report.py. A script that reports no goal
shows as "no goal reported"; a generator (e.g. memory_gen.py) is only smoke-run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import RESULTS_ENV, discover, load_goals, markdown_table  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"

def _load_average() -> str:
    """The three load averages as `uptime` prints them (1, 5, 15 minutes)."""
    out = subprocess.run(["uptime"], capture_output=True, text=True).stdout
    return out.rsplit("load average:", 1)[-1].strip() if "load average" in out else "?"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_one(path: Path, args: list[str], log: Path) -> dict:
    load = _load_average()
    print(f"\n=== {path.name} {' '.join(args)}   (load average before: {load})", flush=True)
    with tempfile.NamedTemporaryFile(prefix="bgp_goals_", suffix=".jsonl", delete=False) as f:
        goals_path = Path(f.name)
    env = {**os.environ, RESULTS_ENV: str(goals_path)}
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, str(path), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        for line in proc.stdout:  # tee: the console shows progress, the log keeps everything
            sys.stdout.write(line)
            out.write(line)
        code = proc.wait()
    wall, cpu = time.perf_counter() - wall0, _children_cpu() - cpu0
    goals = load_goals(goals_path)
    goals_path.unlink(missing_ok=True)
    print(f"=== {path.name}: exit {code}, {wall:.0f} s wall, {cpu:.0f} CPU-s", flush=True)
    return dict(name=" ".join([path.stem, *args]), code=code, wall=wall, cpu=cpu, load=load, goals=goals)


def summary(results: list[dict], smoke: bool, started: datetime) -> str:
    rows = []
    for r in results:
        tail = (f"{r['wall']:.0f}", f"{r['cpu']:.0f}", r["load"])
        if r["code"] != 0:
            rows.append((r["name"], "crashed", f"exit {r['code']}", "", "CRASHED", *tail))
        elif not r["goals"]:
            rows.append((r["name"], "(no goal reported)", "", "", "", *tail))
        for g in r["goals"] if r["code"] == 0 else []:
            rows.append((r["name"], g.compared, g.figure, g.goal, g.verdict, *tail))
    goals = [g for r in results for g in r["goals"]]
    head = (f"benchmarks at {'smoke' if smoke else 'full'} size, started {started:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores; "
            f"{sum(g.met for g in goals)} of {len(goals)} goals MET, {sum(r['code'] != 0 for r in results)} crashed.\n"
            "wall and CPU seconds are per benchmark (CPU: the script and the processes it waited for, not the PostgreSQL "
            "server); load average (1, 5, 15 min) is `uptime`'s just before it started.\n\n")
    return head + markdown_table(["benchmark", "compared", "figure", "goal", "verdict", "wall s", "CPU s", "load average before"], rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="each benchmark at its smoke size (as CI runs them)")
    ap.add_argument("--only", default="", help="comma-separated benchmark names, run in that order (default: all discovered)")
    ap.add_argument("--args", action="append", default=[], metavar="NAME=ARGS",
                    help="override one benchmark's arguments, e.g. --args 'recall_latency=--scale 0.1' (repeatable)")
    args = ap.parse_args(argv)
    overrides = {}
    for item in args.args:
        name, sep, rest = item.partition("=")
        if not sep:
            ap.error(f"--args {item!r}: expected NAME=ARGS")
        overrides[name.strip().removesuffix(".py")] = shlex.split(rest)
    only = [n.strip().removesuffix(".py") for n in args.only.split(",") if n.strip()]
    benches = [b for b in discover() if (args.smoke or b.reports) and (not only or b.path.stem in only)]
    if set(only) - {b.path.stem for b in benches}:
        ap.error(f"no such benchmark (or it reports no goal): {', '.join(sorted(set(only) - {b.path.stem for b in benches}))}")
    if only:  # in the order given
        benches.sort(key=lambda b: only.index(b.path.stem))
    OUT.mkdir(exist_ok=True)
    started = datetime.now(timezone.utc)
    stamp = f"{started:%Y%m%d-%H%M}-{'smoke' if args.smoke else 'full'}"
    results: list[dict] = []
    text = summary(results, args.smoke, started)
    for b in benches:
        bench_args = overrides.get(b.path.stem, b.smoke_args if args.smoke else b.full_args)
        results.append(run_one(b.path, bench_args, OUT / f"{stamp}-{b.path.stem}.log"))
        text = summary(results, args.smoke, started)
        (OUT / f"{stamp}.md").write_text(text, encoding="utf-8")  # after each: a long run stopped early keeps its rows
    print("\n" + text + f"\n(written to {OUT / f'{stamp}.md'})")
    crashed = [r["name"] for r in results if r["code"] != 0]
    if crashed:
        print(f"benchmarks that crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
