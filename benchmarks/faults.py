"""The fault campaign over the demo: the local OpenAI-compatible server answers chat requests with the
campaign's mix (20% 429, 10% 5xx, 5% hangs past the client timeout, 5% malformed JSON, 5% wrong-shape
objects) while the message-level assets run over the demo days in one real Dagster run (single-run
backfill). Every item a healthy reference run ledgers is then classified done / failed with a reason /
pending / missing, and a second, healthy run must heal every failure.

Goals: 0 items missing (no ledger row after the faulty run); 0 failures without a reason; 0 items not
done after the healing run.

    .venv/bin/python benchmarks/faults.py            # the 14-day demo world
    .venv/bin/python benchmarks/faults.py --smoke    # its first 2 days
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg  # noqa: E402
from sqlalchemy import select  # noqa: E402

from assets import knowledge, signals, summaries  # noqa: E402
from assets.resources import LLMResource, StoreResource  # noqa: E402
from background_pipelines.cognition.replay import script_offline_answers  # noqa: E402
from background_pipelines.config import Settings  # noqa: E402
from background_pipelines.demo import load_demo  # noqa: E402
from background_pipelines.llm.local_server import LocalLLMServer  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.schema import facts, ledger  # noqa: E402
from benchmarks._report import Report  # noqa: E402

MIX = {"429": 0.20, "5xx": 0.10, "timeout": 0.05, "malformed": 0.05, "wrong_shape": 0.05}
START = date(2026, 11, 1)
KEY = "sk-faults"
SELECTION = ["message_scores", "message_embeddings", "relationship_scores", "session_summaries", "extracted_facts", "knowledge_graph"]


def _assets(settings: Settings) -> list:
    d = dg.Definitions.merge(*(m.definitions(settings) for m in (signals, summaries, knowledge)))
    return list(d.assets or [])


def _run(days: list[str], instance: dg.DagsterInstance) -> bool:
    result = dg.materialize(
        _assets(Settings.from_env()), instance=instance, resources={"store": StoreResource(), "llm": LLMResource()},
        selection=SELECTION, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]},
    )
    return result.success


def _ledger(store) -> dict[tuple[str, str], tuple[str, str | None]]:
    with store.connect() as conn:
        rows = conn.execute(select(ledger.c.stage, ledger.c.item, ledger.c.status, ledger.c.error))
        return {(s, i): (st, e) for s, i, st, e in rows}


def _expected(reference: dict, store) -> set[tuple[str, str]]:
    """The items a store owes: the reference run's items keyed by message or session (the same ids in
    every store loaded with the demo), and one graph item per fact the store holds (fact ids differ)."""
    with store.connect() as conn:
        fact_ids = [i for (i,) in conn.execute(select(facts.c.id))]
    return {k for k in reference if k[0] != "graph"} | {("graph", f"fact:{i}") for i in fact_ids}


def _pass(tmp: Path, name: str, days: list[str], srv: LocalLLMServer, chaos: bool, reference_items: dict | None = None) -> dict:
    """Load the demo into a fresh store, run the assets (under chaos or not), then heal with a healthy run."""
    url = f"sqlite:///{tmp / name}.db"
    os.environ["BGP_DATABASE_URL"] = url
    store = open_store(url)
    load_demo(store, start=START)
    srv.reset()
    script_offline_answers(srv)
    if chaos:
        srv.chaos(MIX, seed=7, delay=3.0, retry_after=0.2)
    instance = dg.DagsterInstance.ephemeral()
    t0 = time.perf_counter()
    ok = _run(days, instance)
    out = dict(store=store, success=ok, seconds=time.perf_counter() - t0, requests=srv.stats()["total"],
               drawn=dict(srv.chaos_drawn), after=_ledger(store))
    out["expected_after"] = _expected(reference_items, store) if reference_items else set(out["after"])
    if chaos:
        srv.chaos(None)
        before = srv.stats()["total"]
        out["healed_success"] = _run(days, instance)
        out["heal_requests"] = srv.stats()["total"] - before
        out["healed"] = _ledger(store)
    return out


def _classify(reference: set, after: dict) -> tuple[Counter, Counter, Counter]:
    """Per stage: counts of done / failed / failed_without_reason / pending / missing; failure reasons."""
    by_stage: dict[str, Counter] = {}
    reasons: Counter = Counter()
    totals: Counter = Counter()
    for key in reference:
        status, error = after.get(key, (None, None))
        kind = "missing" if status is None else "failed_without_reason" if status == "failed" and not error else status
        by_stage.setdefault(key[0], Counter())[kind] += 1
        totals[kind] += 1
        if status == "failed" and error:
            reasons[error.split(":", 1)[0]] += 1
    return totals, reasons, by_stage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the first 2 demo days")
    args = parser.parse_args()
    days = [(START + timedelta(days=i)).isoformat() for i in range(2 if args.smoke else 14)]
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp_name, LocalLLMServer(api_key=KEY) as srv:
        tmp = Path(tmp_name)
        os.environ.update(
            BGP_HOME=str(tmp), BGP_EMBEDDING_BACKEND="hashing", BGP_START_DATE=days[0], BGP_LLM_BASE_URL=srv.base_url,
            BGP_LLM_API_KEY=KEY, BGP_LLM_TIMEOUT_SECONDS="1.5", BGP_LLM_MAX_ATTEMPTS="5", BGP_LLM_MAX_CONCURRENCY="8",
            BGP_EMBED_ON_WRITE="never",
        )
        reference = _pass(tmp, "reference", days, srv, chaos=False)
        faulty = _pass(tmp, "faulty", days, srv, chaos=True, reference_items=reference["after"])
        faulty["expected_healed"] = _expected(reference["after"], faulty["store"])
        for p in (reference, faulty):
            p["store"].engine.dispose()

    ref_items = reference["after"]
    totals, reasons, by_stage = _classify(faulty["expected_after"], faulty["after"])
    healed_totals, _, _ = _classify(faulty["expected_healed"], faulty["healed"])
    not_done_after_heal = sum(n for k, n in healed_totals.items() if k != "done")
    print(f"\nfault campaign over {len(days)} demo days ({days[0]}..{days[-1]}); {len(ref_items):,} ledger items in the "
          f"healthy reference run, {len(faulty['expected_after']):,} owed by the faulty one; load: {load}")
    print(f"fault mix asked: {MIX}; drawn at the server: {faulty['drawn']}\n")
    print("| stage | items | done | failed (reason) | failed without reason | pending | missing |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for stage, c in sorted(by_stage.items()):
        print(f"| {stage} | {sum(c.values())} | {c['done']} | {c['failed']} | {c['failed_without_reason']} | {c['pending']} | {c['missing']} |")
    print(f"| **all** | {sum(totals.values())} | {totals['done']} | {totals['failed']} | {totals['failed_without_reason']} | "
          f"{totals['pending']} | {totals['missing']} |")
    print(f"\nfailure reasons: {dict(reasons.most_common()) or 'none'}")
    print("\n| run | requests | seconds | run succeeded |")
    print("|---|---:|---:|---|")
    print(f"| healthy reference | {reference['requests']} | {reference['seconds']:.1f} | {reference['success']} |")
    print(f"| under the fault mix | {faulty['requests']} | {faulty['seconds']:.1f} | {faulty['success']} |")
    print(f"| healing run (healthy) | {faulty['heal_requests']} | | {faulty['healed_success']} |\n")

    report = Report("faults")
    report.check("items missing after the faulty run (no ledger row)", str(totals["missing"]), "0", totals["missing"] == 0)
    report.check("failed items without a reason", str(totals["failed_without_reason"]), "0", totals["failed_without_reason"] == 0)
    report.check("items not done after one healthy run", str(not_done_after_heal), "0", not_done_after_heal == 0)
    return report.finish(f"load: {load.rsplit('load average:', 1)[-1].strip()}")


if __name__ == "__main__":
    sys.exit(main())
