"""Recall quality on the demo world: questions built from the planted facts, evidence recall@1/5/10
for each retrieval mode alone (full-text, vectors, graph) and fused (reciprocal rank fusion).

A hit is evidence when its source message ids include a message that states the planted fact. The
demo is loaded into a fresh store and the message-level stages run day by day (offline backend),
so the facts, summaries, vectors and graph recall searches are the ones the pipeline builds.

    .venv/bin/python benchmarks/recall_quality.py [--db URL] [--embedder hashing|sentence-transformers]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for benchmarks._report

from benchmarks._report import Report  # noqa: E402

# Two phrasings per planted predicate, both naming the user and never the answer: "direct" uses the
# everyday words for the relation; "paraphrase" avoids them (and recall's predicate cue words), as a
# person often does. Written once, before measuring; not tuned to the results.
QUESTIONS = {
    "direct": {
        "works_at": "Which company does {name} work for?",
        "works_as": "What is {name}'s job?",
        "lives_in": "Which city does {name} live in?",
        "has_pet": "Does {name} have a pet?",
        "prefers": "How does {name} like to be answered?",
    },
    "paraphrase": {
        "works_at": "Who pays {name}'s salary?",
        "works_as": "What does {name} spend the workday doing?",
        "lives_in": "Which part of the world is {name} from?",
        "has_pet": "Who is waiting for {name} when she gets back to the flat?",
        "prefers": "What should I keep in mind when replying to {name}?",
    },
}
MODES = {"fulltext": ("fulltext",), "vectors": ("vectors",), "graph": ("graph",), "fused": ("fulltext", "vectors", "graph")}
KS = (1, 5, 10)
SMOKE_ARGS = []  # already small (the demo world): benchmarks/run_bench.py runs it as is for bench-smoke


def build_store(url: str, settings):
    """Load the demo world into `url` and run the message-level stages over every day."""
    from background_pipelines.cognition import embed_messages, extract_facts, summarize_sessions, update_knowledge_graph
    from background_pipelines.demo import load_demo
    from background_pipelines.llm import Gateway, get_embedder
    from background_pipelines.store import open_store
    from background_pipelines.store.message_views import day_versions

    store = open_store(url)
    load_demo(store)
    gateway = Gateway.from_settings(settings, store)
    embedder = get_embedder(settings)
    for day in sorted(day_versions(store)):
        embed_messages(store, embedder, settings, day)
        summarize_sessions(store, gateway, settings, day, embedder=embedder)
        extract_facts(store, gateway, settings, day)
        update_knowledge_graph(store, gateway, settings, day)
    return store


def questions(store) -> list[dict]:
    """One question per current planted fact, with the store ids of the messages that state it."""
    from sqlalchemy import select

    from background_pipelines.demo import PLANTED_FACTS
    from background_pipelines.store.schema import messages

    with store.connect() as conn:
        ids = {x: i for x, i in conn.execute(select(messages.c.external_id, messages.c.id).where(messages.c.platform == "demo"))}
    out = []
    for style, templates in QUESTIONS.items():
        for f in PLANTED_FACTS:
            if f.superseded_by or f.predicate not in templates:
                continue  # a superseded fact is asked about with at= in the recall tests, not here
            out.append(dict(user=f.user, question=templates[f.predicate].format(name=f.user.title()), predicate=f.predicate,
                            style=style, evidence={ids[x] for x in f.message_ids}))
    return out


def evaluate(store, settings, qs: list[dict]) -> dict[tuple[str, str], dict]:
    """{(style or "all", mode): {"recall@k": share of questions with evidence in the top k, "ms_per_query"}}."""
    from background_pipelines.recall import recall

    table: dict[tuple[str, str], dict] = {}
    styles = sorted({q["style"] for q in qs}) + ["all"]
    for mode, modes in MODES.items():
        firsts: list[tuple[str, int | None]] = []
        started = time.perf_counter()
        for q in qs:
            hits = recall(q["user"], q["question"], k=max(KS), store=store, modes=modes, settings=settings)
            firsts.append((q["style"], next((n for n, h in enumerate(hits, start=1) if q["evidence"] & set(h.source_message_ids)), None)))
        ms = (time.perf_counter() - started) * 1000 / max(1, len(qs))
        for style in styles:
            mine = [f for s, f in firsts if style in ("all", s)]
            row = {f"recall@{k}": sum(1 for f in mine if f is not None and f <= k) / max(1, len(mine)) for k in KS}
            table[(style, mode)] = {**row, "n": len(mine), "ms_per_query": ms}
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", help="store URL (default: a fresh SQLite file in a temp dir)")
    p.add_argument("--embedder", default="hashing", choices=["hashing", "sentence-transformers"])
    args = p.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bgp_recall_quality_")
    url = args.db or f"sqlite:///{Path(tmp) / 'store.db'}"
    os.environ.update(BGP_HOME=tmp, BGP_DATABASE_URL=url, BGP_EMBEDDING_BACKEND=args.embedder)
    os.environ.pop("BGP_LLM_BASE_URL", None)  # the offline backend: deterministic, no network
    from background_pipelines.config import Settings

    settings = Settings.from_env()
    t0 = time.perf_counter()
    store = build_store(url, settings)
    qs = questions(store)
    built = time.perf_counter() - t0
    table = evaluate(store, settings, qs)
    print(f"recall quality: demo world, {len(qs)} questions from planted facts, embedder {args.embedder}, "
          f"store {store.dialect} (built in {built:.1f}s); evidence = a hit citing a message that states the fact")
    print(f"{'questions':<11} {'n':>4} {'mode':<9} {'recall@1':>9} {'recall@5':>9} {'recall@10':>10} {'ms/query':>9}")
    for style in sorted({s for s, _ in table}, key=lambda s: (s == "all", s)):
        for mode in MODES:
            row = table[(style, mode)]
            print(f"{style:<11} {row['n']:>4} {mode:<9} {row['recall@1']:>9.3f} {row['recall@5']:>9.3f} {row['recall@10']:>10.3f} {row['ms_per_query']:>9.1f}")
    best_single = max(table[("all", m)]["recall@10"] for m in ("fulltext", "vectors", "graph"))
    fused = table[("all", "fused")]["recall@10"]
    report = Report("recall_quality")
    report.check("fused recall@10 vs the best single mode, all questions (demo world)", f"{fused:.3f} vs {best_single:.3f}",
                 "> best single mode", fused > best_single)
    store.engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return report.finish(f"embedder {args.embedder}")


if __name__ == "__main__":
    sys.exit(main())
