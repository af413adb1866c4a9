"""`bgp lore add FILE... --character NAME | list | digest`: a character's background documents, stored
and then digested into the knowledge graph a slice at a time (the `lore_digest` asset every 20 minutes,
or `bgp lore digest` by hand)."""

from __future__ import annotations

import sys

from background_pipelines.config import Settings
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("lore", help="character lore documents: add, list, digest into the knowledge graph")
    lsub = p.add_subparsers(dest="lore_command", metavar="ACTION")
    lsub.required = True

    a = lsub.add_parser("add", help="store markdown/text files as a character's lore (all or nothing)")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--character", required=True, help="the character the lore is about (must be known to the store)")
    a.add_argument("--chunk-chars", type=int, help="chunk size in characters (default BGP_LORE_CHUNK_CHARS)")
    a.set_defaults(func=_add)

    ls = lsub.add_parser("list", help="documents with their digest progress")
    ls.set_defaults(func=_list)

    d = lsub.add_parser("digest", help="digest one slice of each pending document now (what the asset does)")
    d.add_argument("--slice", type=int, help="chunks per document (default BGP_LORE_SLICE_CHUNKS)")
    d.add_argument("--all", action="store_true", help="repeat until nothing is owed")
    d.set_defaults(func=_digest)


def _add(args) -> int:
    from background_pipelines.lore import LoreError, add_documents
    from background_pipelines.lore.digest import refold_characters

    settings = Settings.from_env()
    store = open_store(settings.database_url)
    try:
        r = add_documents(store, args.files, args.character, chunk_chars=args.chunk_chars or settings.lore_chunk_chars)
    except LoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    refold_characters(store, r.characters)
    print(f"lore for {args.character}: added {len(r.added)}, changed {len(r.changed)} ({r.facts_replaced} old facts replaced), "
          f"unchanged {len(r.unchanged)}; the lore_digest asset folds them into the graph")
    return 0


def _list(args) -> int:
    from background_pipelines.store.lore import list_documents

    store = open_store(Settings.from_env().database_url)
    rows = list_documents(store)
    if not rows:
        print("no lore documents")
    for r in rows:
        print(f"{r['id']:>4}  {r['character']:<16} {r['name']:<32} r{r['revision']}  chunk {r['cursor']}/{len(r['chunks'])}  "
              f"{r['status']:<8} {r['facts']} facts")
    return 0


def _digest(args) -> int:
    from background_pipelines.llm.gateway import Gateway
    from background_pipelines.lore import digest_lore

    settings = Settings.from_env()
    store = open_store(settings.database_url)
    gateway = Gateway.from_settings(settings, store)
    while True:
        r = digest_lore(store, gateway, slice_chunks=args.slice or settings.lore_slice_chunks)
        print(f"digested {r.processed} chunk(s), {r.failed} failed, {r.pending} owed; {r.extra.get('facts_found', 0)} facts")
        if not args.all or not r.pending or not r.processed:
            return 1 if r.failed else 0
