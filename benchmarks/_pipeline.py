"""The message-level pipeline as the throughput and history benchmarks run it: the engine stages once
over a range of days, the same work as one Dagster single-run backfill in process, and the CPU and
memory readings both report. One definition, so the two benchmarks measure the same thing."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Callable

from background_pipelines.cognition import (
    embed_messages,
    extract_facts,
    score_messages,
    summarize_sessions,
    update_knowledge_graph,
    update_relationship_scores,
)
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway, get_embedder
from background_pipelines.store import open_store

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
# engine function name -> the asset that runs it, in the order the asset graph runs them
STAGES = {
    "score_messages": "message_scores",
    "embed_messages": "message_embeddings",
    "summarize_sessions": "session_summaries",
    "extract_facts": "extracted_facts",
    "update_knowledge_graph": "knowledge_graph",
    "update_relationship_scores": "relationship_scores",
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def chitchat_texts() -> list[dict]:
    """The chitchat-dataset package's conversations (the bench extra), read once: the package's own
    loader re-reads the file per access."""
    import json

    import chitchat_dataset

    with open(chitchat_dataset._PATH) as fh:
        return json.load(fh)


def _stage_calls(store, settings: Settings, days: list[str], names: list[str]) -> list[tuple[str, Callable]]:
    gw = Gateway.from_settings(settings, store)
    embedder = get_embedder(settings)
    calls = {
        "score_messages": lambda: score_messages(store, gw, settings, days),
        "embed_messages": lambda: embed_messages(store, embedder, settings, days),
        "summarize_sessions": lambda: summarize_sessions(store, gw, settings, days, embedder=embedder),
        "extract_facts": lambda: extract_facts(store, gw, settings, days),
        "update_knowledge_graph": lambda: update_knowledge_graph(store, gw, settings, days),
        "update_relationship_scores": lambda: update_relationship_scores(store, gw, settings, days),
    }
    return [(n, calls[n]) for n in names]


def engine_pass(url: str, settings: Settings, days: list[str], names: list[str] = list(STAGES), *,
                profile: bool = False, rerun: bool = False) -> dict:
    """Each stage once over the whole range. Returns rows (name, processed, rows written, wall s,
    CPU s), wall and cpu totals, and with `rerun` the wall time of a second pass (all done: the
    ledger's skip path)."""
    store = open_store(url)
    stages = _stage_calls(store, settings, days, names)
    rows = []
    prof = cProfile.Profile() if profile else None
    t_all, c_all = time.perf_counter(), time.process_time()
    for name, run in stages:
        t, c = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        r = run()
        if prof:
            prof.disable()
        rows.append((name, r.processed, r.rows_written, time.perf_counter() - t, time.process_time() - c))
        print(f"  engine: {name} done, {time.perf_counter() - t_all:.0f} s", file=sys.stderr, flush=True)
    out = dict(rows=rows, wall=time.perf_counter() - t_all, cpu=time.process_time() - c_all, rerun=None)
    if rerun:
        t = time.perf_counter()
        for _, run in stages:
            run()
        out["rerun"] = time.perf_counter() - t
    store.engine.dispose()
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(40)
        print(buf.getvalue(), file=sys.stderr)
    return out


def dagster_backfill_in_process(url: str, home: Path, days: list[str], assets: list[str]) -> dict:
    """One single-run backfill of `days` in this process: execute_in_process with the range tags the
    UI's backfill sets, on the instance of `home` (its dagster.yaml). Returns ok, wall, cpu and the
    number of partition materializations."""
    import dagster as dg

    from background_pipelines.definitions import build_definitions

    os.environ["BGP_DATABASE_URL"] = url
    t, c = time.perf_counter(), time.process_time()
    defs = build_definitions(Settings.from_env())
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(a) for a in assets], raise_on_error=False,
            tags={RANGE_START: days[0], RANGE_END: days[-1]},
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        mats = len(result.get_asset_materialization_events())
    return dict(ok=result.success, wall=time.perf_counter() - t, cpu=time.process_time() - c, materializations=mats)
