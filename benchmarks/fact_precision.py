"""Precision and yield of the offline fact rules on chat we did not write, old rules vs new, one run.

Corpus (both speakers of every conversation, each message dated by its own timestamp or its session):
  chitchat   conversations of the chitchat-dataset package (real two-person chat), in file order:
             dev = #0-149 (the rules were tuned looking at these), held-out = #3000-3099 (first
             labelled after the rules were frozen; rule changes after that were made from dev
             errors only, but with the held-out labels already seen)
  generated  benchmarks/memory_gen.py seed 0, one 20-session conversation (dev), seed 7 (held-out;
             the same templates as dev, so not independent of the tuning)
Every fact either rule set extracts from the corpus is labelled by hand in
benchmarks/data/fact_labels.jsonl (1 = a person reading the message would record this fact about its
speaker, with this object, ended flag and date range; 0 = wrong). A fact with no label is counted
and shown as "unlabelled", never guessed. Old = the extract-v1 patterns (frozen in _facts_v1.py);
new = background_pipelines/cognition/statements.py with time phrases resolved by anchors.py.

    .venv/bin/python benchmarks/fact_precision.py                 # the table
    .venv/bin/python benchmarks/fact_precision.py --unlabelled    # JSON lines of facts still to label

Goal: new precision >= 0.85 on every split (a wrong fact is worse than none), and above old.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _facts_v1  # noqa: E402
import memory_gen  # noqa: E402
from memory_eval import parse_session_time  # noqa: E402

from background_pipelines.cognition.anchors import resolve  # noqa: E402
from background_pipelines.cognition.statements import statements_in  # noqa: E402
from benchmarks._report import Report  # noqa: E402

LABELS = HERE / "data" / "fact_labels.jsonl"
GOAL = 0.85
SMOKE_ARGS = []  # already CI-sized (offline rules over 7,950 messages): benchmarks/run_bench.py runs it as is for bench-smoke
CHITCHAT = {"dev": (0, 150), "held-out": (3000, 3100)}
GENERATED = {"dev": 0, "held-out": 7}


def _chitchat(lo: int, hi: int) -> list[dict]:
    import chitchat_dataset

    with open(chitchat_dataset._PATH) as fh:  # the package's own loader re-reads the file per access
        convs = list(json.load(fh).items())[lo:hi]
    out = []
    for conv_id, conv in convs:
        n = 0
        for turn in conv["messages"]:
            for msg in turn:
                text = (msg.get("text") or "").strip()
                if text:
                    at = datetime.fromisoformat(msg["timestamp"].replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)
                    out.append({"msg": f"{conv_id[:8]}:{n}", "speaker": msg["sender"][:8], "text": text, "at": at})
                    n += 1
    return out


def _generated(seed: int) -> list[dict]:
    sample = memory_gen.generate(seed=seed, samples=1, sessions=20)[0]
    conv = sample["conversation"]
    out = []
    for key, turns in conv.items():
        if key.startswith("session_") and isinstance(turns, list):
            at = parse_session_time(conv[f"{key}_date_time"], key)
            for t in turns:
                out.append({"msg": f"gen{seed}:{t['dia_id']}", "speaker": t["speaker"], "text": t["text"], "at": at})
    return out


def corpus() -> dict[tuple[str, str], list[dict]]:
    """{(source, split): messages}."""
    out = {}
    for split, (lo, hi) in CHITCHAT.items():
        out[("chitchat", split)] = _chitchat(lo, hi)
    for split, seed in GENERATED.items():
        out[("generated", split)] = _generated(seed)
    return out


def _days(when: str | None, at: datetime) -> str | None:
    days = resolve(when, at)
    if days is None:
        return None
    return days[0].isoformat() if days[0] == days[1] else f"{days[0].isoformat()}..{days[1].isoformat()}"


def extract(messages: list[dict]) -> dict[str, list[dict]]:
    """{"old": facts, "new": facts}, each fact a dict with the message it came from."""
    out: dict[str, list[dict]] = {"old": [], "new": []}
    for m in messages:
        base = {"msg": m["msg"], "text": m["text"], "said_on": m["at"].date().isoformat()}
        for kind, predicate, obj, _ in _facts_v1.facts_in(m["text"]):
            out["old"].append(dict(base, kind=kind, predicate=predicate, object=obj, about=None, ended=False, days=None))
        for st in statements_in(m["text"]):
            out["new"].append(dict(base, kind=st.kind, predicate=st.predicate, object=st.object, about=st.about, ended=st.ended,
                                   days=_days(st.when, m["at"])))
    return out


def key(f: dict) -> tuple:
    return (f["msg"], f["predicate"], f["object"].lower(), f.get("about"), bool(f.get("ended")), f.get("days"))


def load_labels() -> dict[tuple, int]:
    labels = {}
    if LABELS.exists():
        for n, line in enumerate(LABELS.read_text().splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                if row.get("label") not in (0, 1):
                    raise SystemExit(f"{LABELS}:{n}: label: expected 0 or 1, got {row.get('label')!r}")
                labels[key(row)] = row["label"]
    return labels


def _row(name: str, facts: list[dict], labels: dict, n_msgs: int) -> list:
    judged = [labels[key(f)] for f in facts if key(f) in labels]
    p = sum(judged) / len(judged) if judged else float("nan")
    return [name, len(facts), f"{1000 * len(facts) / max(n_msgs, 1):.1f}", len(judged), sum(judged), f"{p:.3f}", len(facts) - len(judged)]


def _print(rows: list[list], head: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for r in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unlabelled", action="store_true", help="print the facts without a label as JSON lines (label 0/1 by hand)")
    args = ap.parse_args(argv)
    labels = load_labels()
    parts = corpus()
    results = {part: extract(msgs) for part, msgs in parts.items()}
    if args.unlabelled:
        seen = set()
        for (source, split), res in results.items():
            for rules in ("old", "new"):
                for f in res[rules]:
                    if key(f) not in labels and key(f) not in seen:
                        seen.add(key(f))
                        print(json.dumps(dict(source=source, split=split, **f, label=None), ensure_ascii=False))
        return 0

    head = ["split / rules", "facts", "per 1k msgs", "labelled", "correct", "precision", "unlabelled"]
    rows, verdicts = [], []
    for split in ("dev", "held-out"):
        msgs = sum(len(parts[(s, split)]) for s in ("chitchat", "generated"))
        for source in ("chitchat", "generated"):
            for rules in ("old", "new"):
                rows.append(_row(f"{split} {source} {rules}", results[(source, split)][rules], labels, len(parts[(source, split)])))
        for rules in ("old", "new"):
            facts = results[("chitchat", split)][rules] + results[("generated", split)][rules]
            rows.append(_row(f"{split} ALL {rules} ({msgs} msgs)", facts, labels, msgs))
            if rules == "new":
                judged = [labels[key(f)] for f in facts if key(f) in labels]
                old = [labels[key(f)] for f in results[("chitchat", split)]["old"] + results[("generated", split)]["old"] if key(f) in labels]
                p_new = sum(judged) / len(judged) if judged else 0.0
                p_old = sum(old) / len(old) if old else 0.0
                verdicts.append((f"{split}: new precision >= {GOAL}", f"{p_new:.3f}", p_new >= GOAL))
                verdicts.append((f"{split}: new precision > old", f"{p_new:.3f} vs {p_old:.3f}", p_new > p_old))
    print("Offline fact rules on chitchat-dataset (real) and memory_gen (generated) chat, both speakers; labels: "
          f"{LABELS.relative_to(HERE.parent)} ({len(labels)} hand-labelled facts)\n")
    _print(rows, head)

    print("\nPer predicate (dev + held-out, both sources):")
    per: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for res in results.values():
        for rules in ("old", "new"):
            for f in res[rules]:
                per[(f["predicate"], rules)].append(f)
    n_all = sum(len(m) for m in parts.values())
    prow = []
    for pred in sorted({p for p, _ in per}):
        o, n = _row(pred, per[(pred, "old")], labels, n_all), _row(pred, per[(pred, "new")], labels, n_all)
        prow.append([pred, o[1], o[5], n[1], n[5], n[6]])
    _print(prow, ["predicate", "old facts", "old precision", "new facts", "new precision", "new unlabelled"])
    dated = [f for res in results.values() for f in res["new"] if f["days"]]
    ended = [f for res in results.values() for f in res["new"] if f["ended"]]
    print(f"\nnew facts with a date range: {len(dated)}, ending a fact: {len(ended)}; messages: {n_all}")
    print()
    report = Report("fact_precision")
    for name, figure, ok in verdicts:
        report.check(f"offline fact rules, {name.split(':')[0]}: precision on hand-labelled facts", figure, name.split(": ", 1)[1], ok)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
