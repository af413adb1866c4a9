"""Run every benchmark at its smoke size (as CI does): proves each still runs end to end and prints its goals.
Only a crash fails this run; a goal NOT MET at smoke size does not (smoke sizes are too small for the goals,
which `make bench` measures at full size). Same runner as `make bench`, see run_bench.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run_bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--smoke", *sys.argv[1:]]))
