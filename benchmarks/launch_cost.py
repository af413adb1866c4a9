"""What starting work costs: importing the code location, a run launch with nothing to do, and a
UI-style materialization of one demo day (the implicit asset job, as a Materialize click runs it),
each in a fresh process, CPU seconds of that process and its children.

    .venv/bin/python benchmarks/launch_cost.py [--smoke] [--repeat 3]

Goals (issue 15): import < 1.5 CPU-s; one demo day of the six message-level assets <= 5 CPU-s in all.
The no-op run is printed (it is the floor of every sensor-requested run) with no goal of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMOKE_ARGS = ["--smoke"]
MESSAGE_ASSETS = "message_scores,message_embeddings,relationship_scores,session_summaries,extracted_facts,knowledge_graph"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_of(cmd: list[str], env: dict[str, str]) -> float:
    """CPU seconds of `cmd` and everything it waited for; raises if it fails."""
    before = _children_cpu()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {done.returncode}:\n{(done.stdout + done.stderr)[-2000:]}")
    return _children_cpu() - before


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="measurements of each (the median is reported)")
    p.add_argument("--smoke", action="store_true", help="one measurement of each")
    a = p.parse_args()
    repeat = 1 if a.smoke else max(1, a.repeat)

    from benchmarks._report import Report, markdown_table

    tmp = Path(tempfile.mkdtemp(prefix="bgp_launch_"))
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    # bytecode caches as an installed package has them (pip compiles site-packages; the project's own
    # modules are compiled at their first import): a PYTHONDONTWRITEBYTECODE environment would add the
    # compilation of ~90 project modules to every process. The caches go to a temporary prefix, not
    # the worktree; the figure without the project's caches is printed too.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BGP_", "DAGSTER_", "PYTHONDONTWRITEBYTECODE"))}
    env.update(DAGSTER_HOME=str(home), BGP_HOME=str(tmp / "bgp"), BGP_DATABASE_URL=f"sqlite:///{tmp / 'store.db'}",
               BGP_EMBEDDING_BACKEND="hashing", PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
    py, dagster = sys.executable, str(Path(sys.executable).parent / "dagster")
    cpu_of([str(Path(sys.executable).parent / "bgp"), "demo-data"], env)
    day = "2026-11-03"  # a demo-world day with conversations on it
    empty = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")  # the last partition: no messages

    nocache = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
    cold = cpu_of([py, "-c", "import background_pipelines.definitions"], {**nocache, "PYTHONDONTWRITEBYTECODE": "1"})
    cpu_of([py, "-c", "import background_pipelines.definitions"], env)  # compiles the project's modules once
    imports = [cpu_of([py, "-c", "import background_pipelines.definitions"], env) for _ in range(repeat)]
    bare = [cpu_of([py, "-c", "import dagster"], env) for _ in range(repeat)]
    noop = [cpu_of([dagster, "job", "execute", "-m", "background_pipelines.definitions", "-j", "knowledge_job",
                    "--tags", json.dumps({"dagster/partition": empty})], env) for _ in range(repeat)]
    ui_day = []
    for i in range(repeat):  # each on a fresh partition state: force reprocesses the day as a first run would
        config = json.dumps({"ops": {k: {"config": {"force": True}} for k in MESSAGE_ASSETS.split(",")}})
        ui_day.append(cpu_of([dagster, "asset", "materialize", "-m", "background_pipelines.definitions", "--select",
                              MESSAGE_ASSETS, "--partition", day, "--config-json", config], env))
    med = statistics.median
    load = os.getloadavg()
    print(f"\nCPU seconds, median of {repeat}, fresh process each; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print(markdown_table(["what", "CPU-s"], [
        ("import background_pipelines.definitions (python -c, bytecode cached)", f"{med(imports):.2f}"),
        ("  the same under PYTHONDONTWRITEBYTECODE=1 (the project's modules compiled in every process; once)", f"{cold:.2f}"),
        ("  of which `import dagster` alone (python -c; the floor)", f"{med(bare):.2f}"),
        (f"a run launch with nothing to do (dagster job execute knowledge_job, empty day {empty})", f"{med(noop):.2f}"),
        (f"UI-style materialization of demo day {day}: the six message-level assets (dagster asset materialize, force)",
         f"{med(ui_day):.2f}"),
    ]))
    print()
    report = Report("launch_cost")
    report.check("import of the code location", f"{med(imports):.2f} CPU-s", "< 1.5 CPU-s", med(imports) < 1.5)
    report.check("UI-style materialization of one demo day, all processes", f"{med(ui_day):.2f} CPU-s", "<= 5 CPU-s",
                 med(ui_day) <= 5)
    return report.finish(f"load average {load[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
