"""Full-text mode: the database's own search (SQLite FTS5 bm25, PostgreSQL ts_rank) over the user's
messages, summaries and facts, each list ranked by the database."""

from __future__ import annotations

from datetime import datetime

from background_pipelines.recall.text import expand_terms, query_terms
from background_pipelines.store import search_index


def search(conn, user: str, query: str, *, character: str | None, at: datetime | None, limit: int) -> list[tuple[str, int, float]]:
    """[(kind, id, score)] best first: the three per-kind rankings interleaved by score rank."""
    terms = expand_terms(query_terms(query, exclude=(user, character)), query)
    if not terms:
        return []
    lists = search_index.search_all(conn, user, terms, character=character, at=at, limit=limit)
    # bm25/ts_rank are not comparable across tables: interleave by rank (facts first on ties)
    out: list[tuple[str, int, float]] = []
    for rank in range(limit):
        for kind in ("fact", "summary", "message"):
            if rank < len(lists[kind]):
                item_id, score = lists[kind][rank]
                out.append((kind, item_id, score))
    return out[:limit]
