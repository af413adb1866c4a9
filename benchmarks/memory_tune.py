"""Measure recall's turn-fusion weights instead of guessing them: gather every question's per-mode turn
rankings once (memory_eval.py's stores: generated seed 0 and the demo world to tune, generated seed 1
held out), then search the grid of weights, neighbour share, temporal and speaker boosts (coordinate search)
for the best macro recall@10 over categories. Prints the best settings, the current ones and both
on the held-out set, and what each signal adds.

    .venv/bin/python benchmarks/memory_tune.py [--embedder hashing|sentence-transformers] [--smoke]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

GRID = {  # full text's weight is 1: only ratios matter
    "vectors": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0),
    "facts": (0.0, 0.25, 0.5, 1.0),
    "summaries": (0.0, 0.1, 0.2, 0.5),
    "graph": (0.0, 0.25, 0.5, 1.0),
    "neighbour": (0.0, 0.1, 0.2, 0.3, 0.4, 0.6),
    "temporal": (0.0, 0.25, 0.5, 1.0),
    "speaker": (0.0, 0.25, 0.5),
    "rrf_k": (5, 10, 20, 30, 60),
}


def gather(samples_and_stores, settings_for) -> list[tuple[str, object, set[int]]]:
    """[(category, Signals, evidence message ids)] for every question."""
    from background_pipelines.recall.api import turn_signals

    from memory_eval import CATEGORIES

    out = []
    for store, s in samples_and_stores:
        by_dia = {t.dia_id: t for t in s.turns}
        for q in s.questions:
            sig = turn_signals(s.user, q.text, s.character, store=store, settings=settings_for(store), k=25)
            out.append((f"{q.category} {CATEGORIES.get(q.category, '?')}", sig, {by_dia[d].message_id for d in q.evidence}))
    return out


MODES = ("fulltext", "vectors", "facts", "summaries", "graph")


def compile_questions(questions) -> list[tuple]:
    """Each question as arrays (so the grid is numpy, not a Python fusion per setting): the reciprocal
    ranks per mode over its candidate turns, each turn's neighbour indices, which turns say when, and
    which are evidence. The same arithmetic as recall.turns.fuse."""
    import numpy as np

    from background_pipelines.recall.turns import says_when

    out = []
    for cat, sig, ev in questions:
        if sig is None or not sig.turns:
            out.append((cat, None, None, None, None, len(ev), None))
            continue
        ids = list(sig.turns)
        pos = {m: i for i, m in enumerate(ids)}
        rr = np.full((len(MODES), len(ids)), np.inf)  # rank per mode; inf = not ranked (1/(K+inf) = 0)
        for j, mode in enumerate(MODES):
            for mid, r in sig.ranks.get(mode, {}).items():
                if mid in pos:
                    rr[j, pos[mid]] = r
        nb = [[pos[n] for n in sig.neighbours.get(m, ()) if n in pos] for m in ids]
        nb_a = np.full((len(ids), 2), -1)
        for i, lst in enumerate(nb):
            nb_a[i, : len(lst)] = lst[:2]
        when = np.array([sig.temporal and says_when(sig.turns[m]["text"]) for m in ids], dtype=float)
        is_ev = np.array([m in ev for m in ids], dtype=bool)
        named = np.array([sig.turns[m]["author"].lower() in sig.named for m in ids], dtype=float)
        out.append((cat, rr, nb_a, when, is_ev, len(ev), named))
    return out


def score(compiled, params: dict) -> tuple[float, dict[str, float]]:
    """(macro recall@10 over categories, {category: recall@10})."""
    import numpy as np

    w = np.array([1.0, params["vectors"], params["facts"], params["summaries"], params["graph"]])
    found, total = defaultdict(int), defaultdict(int)
    for cat, rr, nb, when, is_ev, n_ev, named in compiled:
        total[cat] += n_ev
        if rr is None:
            continue
        base = w @ (1.0 / (params["rrf_k"] + rr))
        padded = np.append(base, 0.0)  # index -1: no neighbour
        s = base + params["neighbour"] * np.maximum(padded[nb[:, 0]], padded[nb[:, 1]])
        s = s * (1.0 + params["temporal"] * when) * (1.0 + params["speaker"] * named)
        order = np.lexsort((np.arange(len(s)), -s))[:10]
        found[cat] += int(is_ev[order][s[order] > 0].sum())
    per = {c: found[c] / total[c] for c in total}
    return sum(per.values()) / max(1, len(per)), per


def build(tmp: Path, name: str, samples=None, demo: bool = False):
    from background_pipelines.config import Settings
    from background_pipelines.store import open_store

    from memory_eval import demo_samples, import_sample, run_stages

    url = f"sqlite:///{tmp / (name + '.db')}"
    os.environ["BGP_DATABASE_URL"] = url
    settings = Settings.from_env()
    if demo:
        from background_pipelines.demo import load_demo

        store = open_store(url)
        load_demo(store)
        run_stages(store, settings)
        return [(store, s) for s in demo_samples(store)], settings
    out = []
    for i, s in enumerate(samples):
        u = f"sqlite:///{tmp / f'{name}{i}.db'}"
        os.environ["BGP_DATABASE_URL"] = u
        st = open_store(u)
        import_sample(st, s)
        run_stages(st, Settings.from_env())
        out.append((st, s))
    return out, settings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--embedder", default="hashing")
    p.add_argument("--smoke", action="store_true", help="tiny sets (CI)")
    p.add_argument("--cache", help="keep the gathered rankings in this file and reuse them (tuning the search only)")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bgp_memory_tune_"))
    os.environ.update(BGP_HOME=str(tmp), BGP_EMBEDDING_BACKEND=args.embedder)
    os.environ.pop("BGP_LLM_BASE_URL", None)
    try:
        from background_pipelines.recall import turns

        from memory_eval import read_samples
        from memory_gen import generate

        def gen(seed: int):
            n, sessions = (1, 4) if args.smoke else (2, 20)
            path = tmp / f"gen{seed}.json"
            path.write_text(json.dumps(generate(seed, n, sessions)))
            return read_samples(str(path))

        t0 = time.perf_counter()
        cache = Path(args.cache) if args.cache else None
        if cache and cache.exists():
            with open(cache, "rb") as fh:
                tune_q, held_q = pickle.load(fh)
        else:
            tune_sets, settings = build(tmp, "tune", gen(0))
            if not args.smoke:
                demo, _ = build(tmp, "demo", demo=True)
                tune_sets += demo
            held, _ = build(tmp, "held", gen(1))
            settings_for = lambda store: settings  # noqa: E731  (one embedder; the store is passed per call)
            tune_q = compile_questions(gather(tune_sets, settings_for))
            held_q = compile_questions(gather(held, settings_for))
            if cache:
                with open(cache, "wb") as fh:
                    pickle.dump((tune_q, held_q), fh)
        print(f"memory tune: embedder {args.embedder}; {len(tune_q)} tuning questions (generated seed 0"
              f"{' + demo world' if not args.smoke else ''}), {len(held_q)} held out (generated seed 1); "
              f"built in {time.perf_counter() - t0:.0f} s; load {os.getloadavg()[0]:.2f}")
        cur = turns.settings_for(args.embedder)
        current = {**{m: cur["weights"][m] for m in ("vectors", "facts", "summaries", "graph")},
                   "neighbour": cur["neighbour"], "temporal": cur["temporal"], "speaker": cur["speaker"], "rrf_k": cur["k_rrf"]}
        # coordinate search over the grid's values from the current settings (a full grid is ~30k settings)
        best, best_score = dict(current), score(tune_q, current)[0]
        for _ in range(3):
            changed = False
            for name, values in GRID.items():
                for v in values:
                    trial = {**best, name: v}
                    got = score(tune_q, trial)[0]
                    if got > best_score + 1e-9:
                        best, best_score, changed = trial, got, True
            if not changed:
                break
        print(f"{'settings':<100} {'tune macro@10':>13} {'held macro@10':>13}")
        for label, params in (("current", current), ("best", best)):
            print(f"{label + ' ' + json.dumps(params):<100} {score(tune_q, params)[0]:>13.3f} {score(held_q, params)[0]:>13.3f}")
        for name in GRID:  # how much each signal matters: the best settings without it
            if best[name] and name != "rrf_k":
                off = {**best, name: 0.0}
                print(f"{'  best without ' + name:<100} {score(tune_q, off)[0]:>13.3f} {score(held_q, off)[0]:>13.3f}")
        print("per category (held out), best:", {c: round(v, 3) for c, v in sorted(score(held_q, best)[1].items())})
        print("per category (held out), current:", {c: round(v, 3) for c, v in sorted(score(held_q, current)[1].items())})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
