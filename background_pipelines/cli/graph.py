"""`bgp graph consolidate | merges | unmerge MERGE_ID | enrich | decay | prune`: knowledge-graph upkeep
by hand (the same engine functions the nightly and weekly assets run)."""

from __future__ import annotations

import sys

from background_pipelines.config import Settings
from background_pipelines.graph_upkeep import (
    UnmergeError,
    decay_relations,
    enrich_cooccurrence,
    prune_graph,
    resolve_entities,
    unmerge,
)
from background_pipelines.store import open_store
from background_pipelines.store.graph_upkeep import list_merges


def register(sub) -> None:
    p = sub.add_parser("graph", help="knowledge-graph upkeep: consolidate, unmerge, enrich, decay, prune")
    gsub = p.add_subparsers(dest="graph_command", metavar="ACTION")
    gsub.required = True

    c = gsub.add_parser("consolidate", help="merge duplicate entities (each merge audited; see `merges`)")
    c.add_argument("--dry-run", action="store_true", help="print the merges without making them")
    c.set_defaults(func=_consolidate)

    m = gsub.add_parser("merges", help="list the merge audit, newest first")
    m.add_argument("--limit", type=int, default=50)
    m.add_argument("--active", action="store_true", help="only merges not undone")
    m.set_defaults(func=_merges)

    u = gsub.add_parser("unmerge", help="undo merge MERGE_ID: entities and relations restored exactly")
    u.add_argument("merge_id", type=int, metavar="MERGE_ID")
    u.set_defaults(func=_unmerge)

    e = gsub.add_parser("enrich", help="add inferred co-occurrence edges")
    e.set_defaults(func=_enrich)

    d = gsub.add_parser("decay", help="soft-expire relations whose decayed strength fell below the floor")
    d.set_defaults(func=_decay)

    pr = gsub.add_parser("prune", help="delete relations expired past the retention, and orphan entities")
    pr.add_argument("--retention-days", type=int, help="default BGP_GRAPH_RETENTION_DAYS")
    pr.set_defaults(func=_prune)


def _ctx():
    settings = Settings.from_env()
    return settings, open_store(settings.database_url)


def _consolidate(args) -> int:
    from background_pipelines.llm import get_embedder

    settings, store = _ctx()
    embedder = get_embedder(settings)
    result = resolve_entities(store, embedder, dry_run=args.dry_run)
    verb = "would merge" if args.dry_run else "merged"
    print(f"{verb} {len(result.plans)} entities among {result.entities} ({result.pairs_compared} pairs compared, "
          f"embedder {embedder.model_id}, {result.seconds:.1f}s)")
    for p in result.plans[:50]:
        print(f"  {p.merged_id} -> {p.survivor_id}  {p.reason:<8} {p.score:.2f}")
    if len(result.plans) > 50:
        print(f"  ... and {len(result.plans) - 50} more (bgp graph merges)")
    return 0


def _merges(args) -> int:
    _, store = _ctx()
    rows = list_merges(store, limit=args.limit, include_undone=not args.active)
    if not rows:
        print("no merges")
        return 0
    for r in rows:
        state = f"undone {r['undone_at']:%Y-%m-%d %H:%M}" if r["undone_at"] else "active"
        print(f"{r['id']:>6}  {r['created_at']:%Y-%m-%d %H:%M}  {r['merged_name']!r} ({r['merged_id']}) -> "
              f"{r['survivor_name']!r} ({r['survivor_id']})  {r['reason']} {r['score']:.2f}  {state}")
    return 0


def _unmerge(args) -> int:
    _, store = _ctx()
    try:
        out = unmerge(store, args.merge_id)
    except UnmergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"merge {out['merge_id']} undone: entity {out['merged_id']} restored beside {out['survivor_id']}, "
          f"{out['relations']} relations and {out['embeddings']} embeddings put back")
    return 0


def _enrich(args) -> int:
    settings, store = _ctx()
    result = enrich_cooccurrence(store, factor=settings.graph_decay_factor, threshold=settings.graph_expire_below)
    print(result.preview().replace("**", ""))
    return 0


def _decay(args) -> int:
    settings, store = _ctx()
    result = decay_relations(store, factor=settings.graph_decay_factor, threshold=settings.graph_expire_below)
    print(result.preview().replace("**", ""))
    return 0


def _prune(args) -> int:
    settings, store = _ctx()
    days = settings.graph_retention_days if args.retention_days is None else args.retention_days
    print(prune_graph(store, retention_days=days).preview().replace("**", ""))
    return 0
