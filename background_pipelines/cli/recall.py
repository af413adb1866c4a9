"""`bgp recall USER "question"` (ranked hits with their sources) and `bgp why FACT_ID` (a fact's chain
back to its messages, run and asset)."""

from __future__ import annotations

import json
import sys

from background_pipelines.config import Settings
from background_pipelines.recall import RecallError, recall
from background_pipelines.recall.provenance import UnknownFact, why
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("recall", help="what the store knows about USER for a question (hybrid search, fused)")
    p.add_argument("user", help="a user key (platform:id), platform id or unambiguous name")
    p.add_argument("question")
    p.add_argument("--character", default=None, help="only conversations with this character")
    p.add_argument("--k", type=int, default=10, help="hits to show (default 10)")
    p.add_argument("--at", default=None, help="answer as of this ISO time (what was known and valid then)")
    p.add_argument("--include-invalid", action="store_true", help="also show invalidated or expired facts/relations")
    p.add_argument("--mode", action="append", choices=["fulltext", "vectors", "graph"], help="only these modes (repeatable)")
    p.add_argument("--kinds", action="append", choices=["message", "summary", "fact", "relation"],
                   help="derived items instead of turns, e.g. --kinds fact (repeatable; default: turns with context)")
    p.add_argument("--json", action="store_true", help="print hits as JSON lines")
    p.set_defaults(func=_recall)
    w = sub.add_parser("why", help="why the store believes fact FACT_ID: source messages, run, asset")
    w.add_argument("fact_id", type=int)
    w.set_defaults(func=_why)


def _short(text: str, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _recall(args) -> int:
    settings = Settings.from_env()
    store = open_store(settings.database_url)
    kwargs = {"modes": args.mode} if args.mode else {}
    if args.kinds:
        kwargs["kinds"] = args.kinds
    try:
        hits = recall(args.user, args.question, character=args.character, k=args.k, at=args.at, store=store,
                      include_invalid=args.include_invalid, settings=settings, **kwargs)
    except RecallError as exc:
        print(f"bgp recall: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for h in hits:
            print(json.dumps(h.as_dict(), ensure_ascii=False))
        return 0
    if not hits:
        print(f"nothing recalled for {args.user!r}")
        return 0
    if all(h.kind == "message" for h in hits):
        print(f"{'#':>2}  {'kind':<8} {'id':>6} {'score':>7}  {'when':<16} {'speaker':<14} text")
        for n, h in enumerate(hits, start=1):
            when = h.at.strftime("%Y-%m-%d %H:%M") if h.at else "?"
            print(f"{n:>2}  {h.kind:<8} {h.id:>6} {h.score:>7.4f}  {when:<16} {_short(h.speaker or '?', 14):<14} {_short(h.text, 70)}")
            for c in h.context:
                print(f"{'':>2}  {'':<8} {'':>6} {'':>7}  {'':<16} {'  ' + c.kind:<14} {_short(c.text, 70)}")
        return 0
    print(f"{'#':>2}  {'kind':<8} {'id':>6} {'score':>7}  {'valid':<23} {'sources':<14} text")
    for n, h in enumerate(hits, start=1):
        valid = (h.valid_from.strftime("%Y-%m-%d") if h.valid_from else "?") + (f"..{h.valid_to:%Y-%m-%d}" if h.valid_to else "..")
        src = ",".join(str(i) for i in h.source_message_ids[:3]) + ("…" if len(h.source_message_ids) > 3 else "")
        print(f"{n:>2}  {h.kind:<8} {h.id:>6} {h.score:>7.4f}  {valid:<23} {src:<14} {_short(h.text, 70)}")
    return 0


def _why(args) -> int:
    store = open_store(Settings.from_env().database_url)
    try:
        chain = why(store, args.fact_id)
    except UnknownFact as exc:
        print(f"bgp why: {exc}", file=sys.stderr)
        return 1
    f = chain["fact"]
    print(f"fact {f['id']} ({f['kind']}): {f['subject']} {f['predicate']} {f['object']}  "
          f"[user {f['user_name']}, confidence {f['confidence']:.2f}, valid from {f['valid_from']:%Y-%m-%d %H:%M}]")
    print(f"  <- made by run {chain['run_id'] or '(not recorded)'}, asset {chain['asset']} (version {f['version']})")
    print("  <- source messages:")
    for m in chain["messages"]:
        print(f"     #{m['id']:<6} {m['created_at']:%Y-%m-%d %H:%M}  {m['author']}: {_short(m['text'], 90)}")
    for i in chain["missing_message_ids"]:
        print(f"     #{i:<6} (no longer in the store: forgotten or deleted)")
    if chain["relations"]:
        print(f"  -> in the graph (asset {chain['relations_asset']}):")
        for r in chain["relations"]:
            state = "current" if r["invalidated_at"] is None and r["expired_at"] is None else f"ended {(r['invalidated_at'] or r['expired_at']):%Y-%m-%d}"
            print(f"     relation {r['id']}: {r['text']} ({state})")
    return 0
