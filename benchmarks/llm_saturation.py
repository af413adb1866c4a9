"""How close the gateway gets to the ideal throughput of a concurrency-limited endpoint.

N requests against the local OpenAI-compatible server answering in L seconds, limit C: the ideal
time is N x L / C. Prints actual / ideal (goal <= 1.1) and the server's observed max concurrency.

    .venv/bin/python benchmarks/llm_saturation.py            # 2,000 requests, 200 ms, limit 16
    .venv/bin/python benchmarks/llm_saturation.py --smoke    # 200 requests
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from background_pipelines.config import Secret  # noqa: E402
from background_pipelines.llm import Gateway  # noqa: E402
from background_pipelines.llm.local_server import LocalLLMServer  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from llm_helpers import SUMMARIZE, echo_summary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency, seconds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="200 requests")
    args = parser.parse_args()
    n = 200 if args.smoke else args.requests
    with tempfile.TemporaryDirectory() as tmp, LocalLLMServer(latency=args.latency, api_key="sk-bench") as srv:
        srv.script("summarize", echo_summary)
        store = open_store(f"sqlite:///{Path(tmp) / 'store.db'}")
        gw = Gateway(
            store, base_url=srv.base_url, api_key=Secret("sk-bench"), max_concurrency=args.concurrency, use_cache=False
        )
        texts = [f"benchmark message {i}" for i in range(n)]
        started = time.perf_counter()
        outcomes, usage = gw.run(SUMMARIZE, texts)
        actual = time.perf_counter() - started
        stats = srv.stats()
    ideal = n * args.latency / args.concurrency
    ok = sum(o.ok for o in outcomes)
    ratio = actual / ideal
    print(f"LLM saturation: {n} requests, server latency {args.latency * 1000:.0f} ms, limit {args.concurrency}")
    print(f"| {'measure':<28} | {'value':>10} |")
    print(f"|{'-' * 30}|{'-' * 12}|")
    print(f"| {'answered ok':<28} | {ok:>10} |")
    print(f"| {'HTTP requests':<28} | {usage.requests:>10} |")
    print(f"| {'actual time (s)':<28} | {actual:>10.2f} |")
    print(f"| {'ideal N x L / C (s)':<28} | {ideal:>10.2f} |")
    print(f"| {'ratio actual / ideal':<28} | {ratio:>10.3f} |")
    print(f"| {'server max concurrent':<28} | {stats['max_concurrent']:>10} |")
    print(f"goal: ratio <= 1.1 and max concurrent == {args.concurrency}: "
          f"{'MET' if ratio <= 1.1 and stats['max_concurrent'] == args.concurrency and ok == n else 'NOT MET'}")
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
