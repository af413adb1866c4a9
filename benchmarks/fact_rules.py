"""The offline fact rules' CPU, fast path vs reference, on real chat: statements_in over every
chitchat-dataset message (258,112) with its rule index (cognition/literals.py) and with
`prefilter=False` (every rule on every sentence), in the same process; the outputs must be equal.

    .venv/bin/python benchmarks/fact_rules.py            # all messages
    .venv/bin/python benchmarks/fact_rules.py --smoke    # the first 20,000
Goals: identical statements for every message; the fast path at >= 3x the reference's messages per
CPU-second (the fact stage was 39% of the engine's CPU in throughput.py before the index).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from background_pipelines.cognition.statements import statements_in  # noqa: E402
from benchmarks._pipeline import chitchat_texts  # noqa: E402
from benchmarks._report import Report, markdown_table  # noqa: E402

GOAL_SPEEDUP = 3.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="the first 20,000 messages")
    a = p.parse_args()
    texts = [(m.get("text") or "").strip() for conv in chitchat_texts().values() for turn in conv["messages"] for m in turn]
    texts = [t for t in texts if t][: 20_000 if a.smoke else None]
    statements_in("I work at Acme.")  # builds the index once (timed apart below)
    c = time.process_time()
    fast = [statements_in(t) for t in texts]
    fast_cpu = time.process_time() - c
    c = time.process_time()
    ref = [statements_in(t, prefilter=False) for t in texts]
    ref_cpu = time.process_time() - c
    differ = sum(f != r for f, r in zip(fast, ref))
    load = os.getloadavg()
    print(f"\n{len(texts):,} chitchat messages, {sum(map(len, ref)):,} statements; load average {load[0]:.1f} {load[1]:.1f}\n")
    print(markdown_table(["path", "CPU s", "messages/CPU-s"], [
        ("rule index (statements_in)", f"{fast_cpu:.2f}", f"{len(texts) / fast_cpu:,.0f}"),
        ("every rule on every sentence (prefilter=False)", f"{ref_cpu:.2f}", f"{len(texts) / ref_cpu:,.0f}"),
    ]))
    print()
    report = Report("fact_rules")
    report.check("messages whose statements differ, fast path vs reference", f"{differ:,} of {len(texts):,}", "0", differ == 0)
    speedup = ref_cpu / fast_cpu if fast_cpu else 0.0
    report.check("fast path / reference, messages per CPU-second", f"{speedup:.1f}x", f">= {GOAL_SPEEDUP:g}x", speedup >= GOAL_SPEEDUP)
    return report.finish(f"load average {load[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
