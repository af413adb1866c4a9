"""Why the store believes a fact: the fact, the messages it cites, the run that extracted it and the
assets that hold it (extracted_facts for the fact, knowledge_graph for relations built from it)."""

from __future__ import annotations

from sqlalchemy import select

from background_pipelines.store import Store, search_index
from background_pipelines.store.schema import relations

FACT_ASSET = "extracted_facts"
GRAPH_ASSET = "knowledge_graph"


class UnknownFact(LookupError):
    """No fact has this id (never extracted, or forgotten)."""


def why(store: Store, fact_id: int) -> dict:
    """{"fact", "messages" (cited, oldest first), "missing_message_ids", "run_id", "asset", "relations"}."""
    with store.connect() as conn:
        fact = search_index.facts_by_ids(conn, [fact_id]).get(int(fact_id))
        if fact is None:
            raise UnknownFact(f"fact {fact_id} does not exist (never extracted, or forgotten)")
        cited = [int(i) for i in fact["source_message_ids"] or []]
        msgs = search_index.messages_by_ids(conn, cited)
        # relations built from this fact; the JSON list is checked here so the query stays portable
        rels = []
        for r in conn.execute(select(relations.c.id, relations.c.src_id, relations.c.predicate, relations.c.dst_id, relations.c.valid_from,
                                     relations.c.invalidated_at, relations.c.expired_at, relations.c.source_fact_ids)):
            if int(fact_id) in [int(i) for i in r.source_fact_ids or []]:
                rels.append(dict(r._mapping))
        names = search_index.entities_by_ids(conn, {r["src_id"] for r in rels} | {r["dst_id"] for r in rels})
    for r in rels:
        r["text"] = f"{names.get(r['src_id'], {}).get('name', '?')} {r['predicate']} {names.get(r['dst_id'], {}).get('name', '?')}"
    return {
        "fact": fact,
        "messages": sorted(msgs.values(), key=lambda m: (m["created_at"], m["id"])),
        "missing_message_ids": [i for i in cited if i not in msgs],
        "run_id": fact["run_id"],
        "asset": FACT_ASSET,
        "relations": rels,
        "relations_asset": GRAPH_ASSET,
    }
