"""Run every benchmark at its smoke size (as CI does): proves each still runs end to end and prints
its table. A benchmark that crashes fails this run; a missed goal at smoke size does not (smoke
sizes are too small for the goals, which are measured at full size on demand)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMOKE_ARGS = {"recall_quality.py": []}  # already small: the demo world


def main() -> int:
    failed = []
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_") or path.name == Path(__file__).name:
            continue
        args = SMOKE_ARGS.get(path.name, ["--smoke"])
        print(f"\n=== {path.name} {' '.join(args)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(path), *args])
        print(f"=== {path.name}: exit {code} in {time.perf_counter() - start:.1f} s", flush=True)
        if code != 0:
            failed.append(path.name)
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("\nall benchmarks ran at smoke size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
