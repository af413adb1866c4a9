"""How close the gateway gets to the ideal throughput of a concurrency-limited endpoint.

N requests against the local OpenAI-compatible server answering in L seconds, limit C: the ideal
time is N x L / C. Prints actual / ideal (goal <= 1.1) and the server's observed max concurrency.
The server runs in its own process (as a real endpoint does), so it does not share the client's GIL.

    .venv/bin/python benchmarks/llm_saturation.py            # 2,000 requests, 200 ms, limit 16
    .venv/bin/python benchmarks/llm_saturation.py --smoke    # 200 requests
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from background_pipelines.config import Secret  # noqa: E402
from background_pipelines.llm import Gateway  # noqa: E402
from background_pipelines.llm.local_server import LocalLLMServer  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from benchmarks._report import Report  # noqa: E402
from llm_helpers import SUMMARIZE, echo_summary  # noqa: E402

KEY = "sk-bench"


def _serve(latency: float) -> None:
    """The server process: prints its base URL, then answers `stats` lines on stdin with JSON until EOF."""
    with LocalLLMServer(latency=latency, api_key=KEY) as srv:
        srv.script("summarize", echo_summary)
        print(srv.base_url, flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(srv.stats()), flush=True)


class _ServerProcess:
    def __init__(self, latency: float):
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", "--latency", str(latency)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError(f"the LLM server process did not start (exit {self.proc.poll()})")

    def stats(self) -> dict:
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency, seconds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="200 requests")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.latency)
        return 0
    n = 200 if args.smoke else args.requests
    server = _ServerProcess(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{Path(tmp) / 'store.db'}")
            gw = Gateway(store, base_url=server.base_url, api_key=Secret(KEY), max_concurrency=args.concurrency, use_cache=False)
            texts = [f"benchmark message {i}" for i in range(n)]
            started, cpu = time.perf_counter(), time.process_time()
            outcomes, usage = gw.run(SUMMARIZE, texts)
            actual, cpu = time.perf_counter() - started, time.process_time() - cpu
            stats = server.stats()
            store.engine.dispose()
    finally:
        server.stop()
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    ideal = n * args.latency / args.concurrency
    ok = sum(o.ok for o in outcomes)
    ratio = actual / ideal
    print(f"LLM saturation: {n} requests, server latency {args.latency * 1000:.0f} ms, limit {args.concurrency}; server in its own process")
    print(f"| {'measure':<28} | {'value':>10} |")
    print(f"|{'-' * 30}|{'-' * 12}|")
    print(f"| {'answered ok':<28} | {ok:>10} |")
    print(f"| {'HTTP requests':<28} | {usage.requests:>10} |")
    print(f"| {'actual time (s)':<28} | {actual:>10.2f} |")
    print(f"| {'ideal N x L / C (s)':<28} | {ideal:>10.2f} |")
    print(f"| {'ratio actual / ideal':<28} | {ratio:>10.3f} |")
    print(f"| {'server max concurrent':<28} | {stats['max_concurrent']:>10} |")
    print(f"| {'client CPU (s)':<28} | {cpu:>10.2f} |")
    print(f"| {'server process CPU (s)':<28} | {server_cpu.ru_utime + server_cpu.ru_stime:>10.2f} |")
    report = Report("llm_saturation")
    report.check(f"{n} requests at {args.latency * 1000:.0f} ms, limit {args.concurrency}: actual / ideal time ({actual:.2f} s / {ideal:.2f} s)",
                 f"{ratio:.3f}", "<= 1.1", ratio <= 1.1)
    report.check("server's max concurrent requests", str(stats["max_concurrent"]), f"== {args.concurrency}",
                 stats["max_concurrent"] == args.concurrency)
    report.check("requests answered ok", f"{ok} of {n}", f"{n} of {n}", ok == n)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
