"""Measure recall's turn-fusion weights instead of guessing them, on data of several kinds, and check them
on data never tuned on. Every question's per-mode turn rankings are gathered once per set (memory_eval.py's
stores); a coordinate search over the grid below picks the settings with the best mean over the TUNING
sets of macro recall@10 over categories, refusing any setting that falls below full text alone (the
database's BM25) on a tuning set. Tuning sets: memory_gen.py seed 0, the demo world, and real human chat
(chitchat-dataset pairs 3-4). HELD-OUT sets (never tuned on): memory_gen_heldout.py, memory_gen.py seed 1,
chitchat-dataset pairs 1-2. Prints per set: full text alone, current, best; per speaker; what each signal
adds; goals through benchmarks/_report.py.

    .venv/bin/python benchmarks/memory_tune.py [--embedder hashing|sentence-transformers] [--smoke] [--cache FILE]
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_ARGS = ["--embedder", "sentence-transformers"]
GRID = {  # full text's weight is 1: only ratios matter. A derived signal (facts, summaries, graph) is at
    # most half as strong as the turn's own words: the offline extractor was written against generated
    # phrasings, and on real chat its facts measured no better than noise (BM25 must stay a strong signal)
    "vectors": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0),
    "facts": (0.0, 0.1, 0.25, 0.5),
    "fact_vectors": (0.0, 0.1, 0.25, 0.5),
    "summaries": (0.0, 0.1, 0.2, 0.5),
    "graph": (0.0, 0.25, 0.5),
    "neighbour": (0.0, 0.1, 0.2, 0.3, 0.4, 0.6),  # above: a turn ranks by its neighbours more than by itself
    "temporal": (0.0, 0.25, 0.5, 1.0),
    "speaker": (0.0, 0.25, 0.5),
    "rrf_k": (10, 20, 30, 60),  # below 10 one rank decides: fusion follows single-list noise
}


def gather(samples_and_stores, settings_for) -> list[tuple[str, object, dict[int, str]]]:
    """[(category, Signals, {evidence message id: speaker role})] for every question."""
    from background_pipelines.recall.api import turn_signals

    from memory_eval import CATEGORIES

    out = []
    for store, s in samples_and_stores:
        by_dia = {t.dia_id: t for t in s.turns}
        for q in s.questions:
            sig = turn_signals(s.user, q.text, s.character, store=store, settings=settings_for(store), k=25)
            out.append((f"{q.category} {CATEGORIES.get(q.category, '?')}", sig, {by_dia[d].message_id: by_dia[d].role for d in q.evidence}))
    return out


MODES = ("fulltext", "vectors", "facts", "fact_vectors", "summaries", "graph")


def compile_questions(questions) -> list[tuple]:
    """Each question as arrays (so the grid is numpy, not a Python fusion per setting): the reciprocal
    ranks per mode over its candidate turns, each turn's neighbour indices, which turns say when, and
    which are evidence. The same arithmetic as recall.turns.fuse."""
    import numpy as np

    from background_pipelines.recall.turns import says_when

    out = []
    for cat, sig, ev in questions:
        if sig is None or not sig.turns:
            out.append((cat, None, None, None, None, len(ev), None, list(ev.values())))
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
        roles = [ev[m] for m in ids if m in ev]  # the speaker of each evidence turn among the candidates, in order
        out.append((cat, rr, nb_a, when, is_ev, len(ev), named, list(ev.values()), np.array([ev.get(m, "") for m in ids])))
    return out


def score(compiled, params: dict, detail: bool = False):
    """Macro recall@10 over categories; with `detail`, (macro, {group: recall@10}) where groups are the
    categories, "all", "said by user" and "said by character"."""
    import numpy as np

    w = np.array([1.0] + [params[m] for m in MODES[1:]])
    found, total = defaultdict(int), defaultdict(int)
    for cat, rr, nb, when, is_ev, n_ev, named, ev_roles, *rest in compiled:
        groups = [cat, "all"]
        total[cat] += n_ev
        total["all"] += n_ev
        for role in ev_roles:
            total[f"said by {role}"] += 1
        if rr is None:
            continue
        base = w @ (1.0 / (params["rrf_k"] + rr))
        padded = np.append(base, 0.0)  # index -1: no neighbour
        s = base + params["neighbour"] * np.maximum(padded[nb[:, 0]], padded[nb[:, 1]])
        s = s * (1.0 + params["temporal"] * when) * (1.0 + params["speaker"] * named)
        order = np.lexsort((np.arange(len(s)), -s))[:10]
        order = order[s[order] > 0]
        hit = int(is_ev[order].sum())
        for g in groups:
            found[g] += hit
        if detail and rest:
            for role in rest[0][order][is_ev[order]]:
                found[f"said by {role}"] += 1
    cats = [c for c in total if c[0].isdigit()]
    macro = sum(found[c] / total[c] for c in cats) / max(1, len(cats))
    if not detail:
        return macro
    return macro, {g: found[g] / total[g] for g in total}


def fulltext_only(params: dict) -> dict:
    """The database's BM25 ranking alone: every other signal off."""
    return {**params, **{m: 0.0 for m in MODES[1:]}, "neighbour": 0.0, "temporal": 0.0, "speaker": 0.0}


def objective(sets: dict[str, list], params: dict, floors: dict[str, float]) -> float:
    """Mean over the tuning sets of macro recall@10; -1 when a set falls below its full-text-alone figure
    (fusion must never do worse than BM25 alone on any kind of data it was shown)."""
    got = {name: score(q, params) for name, q in sets.items()}
    if any(got[n] < floors[n] - 1e-9 for n in sets):
        return -1.0
    return sum(got.values()) / max(1, len(got))


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


def _sets(args, tmp: Path) -> tuple[dict, dict]:
    """({tuning set: compiled questions}, {held-out set: compiled questions})."""
    from memory_eval import chitchat_samples, read_samples
    from memory_gen import generate
    from memory_gen_heldout import generate as generate_heldout

    n, sessions = (1, 4) if args.smoke else (2, 20)

    def from_json(name: str, data):
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(data))
        return read_samples(str(path))

    def compiled(name: str, samples=None, demo: bool = False):
        sets, settings = build(tmp, name.replace(" ", "_").replace("(", "").replace(")", ""), samples, demo=demo)
        print(f"  gathered {name}: {sum(len(s.questions) for _, s in sets)} questions", flush=True)
        return compile_questions(gather(sets, lambda store: settings))

    tune = {"generated seed 0": compiled("generated seed 0", from_json("gen0", generate(0, n, sessions)))}
    if not args.smoke:
        tune["demo"] = compiled("demo", demo=True)
    tune["chitchat pairs 3-4 (real)"] = compiled("chitchat pairs 3-4 (real)", chitchat_samples(2 if not args.smoke else 1, offset=2,
                                                                                              sessions=sessions))
    held = {"held-out generator": compiled("held-out generator", from_json("held", generate_heldout(0, n, sessions))),
            "generated seed 1": compiled("generated seed 1", from_json("gen1", generate(1, n, sessions))),
            "chitchat pairs 1-2 (real)": compiled("chitchat pairs 1-2 (real)", chitchat_samples(2 if not args.smoke else 1,
                                                                                              sessions=sessions))}
    return tune, held


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

        from benchmarks._report import Report

        t0, cpu0 = time.perf_counter(), time.process_time()
        cache = Path(args.cache) if args.cache else None
        if cache and cache.exists():
            with open(cache, "rb") as fh:
                tune, held = pickle.load(fh)
        else:
            tune, held = _sets(args, tmp)
            if cache:
                with open(cache, "wb") as fh:
                    pickle.dump((tune, held), fh)
        print(f"memory tune: embedder {args.embedder}; tuning sets {', '.join(f'{k} ({len(v)} q)' for k, v in tune.items())}; "
              f"held out {', '.join(f'{k} ({len(v)} q)' for k, v in held.items())}; gathered in {time.process_time() - cpu0:.0f} CPU s; "
              f"load {os.getloadavg()[0]:.2f}")
        cur = turns.settings_for(args.embedder)
        current = {**{m: cur["weights"].get(m, 0.0) for m in MODES[1:]},
                   "neighbour": cur["neighbour"], "temporal": cur["temporal"], "speaker": cur["speaker"], "rrf_k": cur["k_rrf"]}
        floors = {n: score(q, fulltext_only(current)) for n, q in tune.items()}
        # coordinate search over the grid's values from the current settings (a full grid is ~100k settings)
        # the search starts from the current settings snapped onto the grid (the grid bounds every knob)
        best = {n: min(GRID[n], key=lambda v: abs(v - current[n])) if n in GRID else current[n] for n in current}
        best_score = objective(tune, best, floors)
        for _ in range(4):
            changed = False
            for name, values in GRID.items():
                for v in values:
                    trial = {**best, name: v}
                    got = objective(tune, trial, floors)
                    if got > best_score + 1e-9:
                        best, best_score, changed = trial, got, True
            if not changed:
                break
        all_sets = {**{f"tune: {k}": v for k, v in tune.items()}, **{f"held out: {k}": v for k, v in held.items()}}
        print(f"\nbest: {json.dumps(best)}\ncurrent: {json.dumps(current)}\n")
        print(f"{'set':<36} {'BM25 alone':>10} {'current':>8} {'best':>8} | best per speaker (user / character)")
        for name, q in all_sets.items():
            ft, cu = score(q, fulltext_only(current)), score(q, current)
            bm, det = score(q, best, detail=True)
            print(f"{name:<36} {ft:>10.3f} {cu:>8.3f} {bm:>8.3f} | {det.get('said by user', 0):.3f} / {det.get('said by character', 0):.3f}")
        print(f"\n{'without one signal (best settings)':<36} " + " ".join(f"{n[:18]:>18}" for n in all_sets))
        for name in GRID:
            if best[name] and name != "rrf_k":
                off = {**best, name: 0.0}
                print(f"{'  - ' + name:<36} " + " ".join(f"{score(q, off):>18.3f}" for q in all_sets.values()))
        report = Report("memory_tune")
        for name, q in held.items():
            ft, bm, cu = score(q, fulltext_only(best)), score(q, best), score(q, current)
            report.check(f"held out {name}: tuned fusion vs full text alone (macro recall@10)", f"{bm:.3f} vs {ft:.3f}", ">= BM25 alone", bm >= ft)
        for name, q in held.items():
            bm, cu = score(q, best), score(q, current)
            report.check(f"held out {name}: tuned vs current settings", f"{bm:.3f} vs {cu:.3f}", ">= current", bm >= cu - 1e-9)
        print(f"\ntuned in {time.perf_counter() - t0:.0f} s wall, {time.process_time() - cpu0:.0f} CPU s")
        return report.finish(f"embedder {args.embedder}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
