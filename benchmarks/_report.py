"""The one way a benchmark states its goals: a MET / NOT MET line per goal and a markdown table on stdout,
plus (under `make bench`) one JSON line per goal that benchmarks/run_bench.py gathers into its summary.

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, as the scripts do
    from benchmarks._report import Report
    report = Report("recall_latency")
    report.check("fused recall p95, SQLite, 10,000-message user", f"{p95:.1f} ms", "< 100 ms", p95 < 100)
    return report.finish()                # prints the goal table; 0 whether or not the goals are met
"""

from __future__ import annotations

import ast
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_ENV = "BGP_BENCH_RESULTS"  # set by run_bench.py: a file each goal is appended to as a JSON line
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Goal:
    benchmark: str
    compared: str  # what is measured against what, e.g. "tick at 1M / tick at 10k stored, SQLite"
    figure: str  # the measured figure as printed, e.g. "1.21x"
    goal: str  # e.g. "<= 1.5"
    met: bool

    @property
    def verdict(self) -> str:
        return "MET" if self.met else "NOT MET"


class Report:
    """Goals of one benchmark run; `finish()` prints them and returns the exit code (0: only crashes fail)."""

    def __init__(self, benchmark: str | None = None):
        self.benchmark = benchmark or Path(sys.argv[0]).stem
        self.goals: list[Goal] = []

    def check(self, compared: str, figure: str, goal: str, met: bool) -> bool:
        g = Goal(self.benchmark, compared, figure, goal, bool(met))
        self.goals.append(g)
        print(f"{g.verdict}: {compared}: {figure} (goal {goal})", flush=True)
        return g.met

    def finish(self, note: str = "") -> int:
        print(f"\ngoals of {self.benchmark}{f' ({note})' if note else ''}\n")
        print(markdown_table(["compared", "figure", "goal", "verdict"], [(g.compared, g.figure, g.goal, g.verdict) for g in self.goals]))
        met = sum(g.met for g in self.goals)
        print(f"\n{self.benchmark}: {met} of {len(self.goals)} goals MET", flush=True)
        path = os.environ.get(RESULTS_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as f:
                for g in self.goals:
                    f.write(json.dumps(asdict(g)) + "\n")
        return 0


def markdown_table(headers: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Bench:
    path: Path
    full_args: list[str]  # for `make bench` (full size)
    smoke_args: list[str]  # for `make bench-smoke` (CI)
    reports: bool  # states its goals through this module


def discover() -> list[Bench]:
    """Every benchmarks/*.py named neither `_*` nor `run_*`. `make bench` runs it with no arguments, or
    with its module-level `BENCH_ARGS = [...]`; `make bench-smoke` with `--smoke`, or its `SMOKE_ARGS = [...]`.
    Read from the source, without importing the script."""
    out = []
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith(("_", "run_")):
            continue
        consts = {"BENCH_ARGS": [], "SMOKE_ARGS": ["--smoke"]}
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", None) in consts:
                consts[node.targets[0].id] = ast.literal_eval(node.value)
        reports = "benchmarks._report import" in path.read_text(encoding="utf-8")
        out.append(Bench(path, consts["BENCH_ARGS"], consts["SMOKE_ARGS"], reports))
    return out


def load_goals(path: Path) -> list[Goal]:
    if not path.exists():
        return []
    return [Goal(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
