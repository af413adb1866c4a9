"""Vector mode: the query embedded with the configured embedder, dotted (numpy) against only this
user's stored vectors of messages, summaries and facts (facts without stored vectors are embedded on
the fly: a user has few)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import numpy as np

from background_pipelines.config import Settings
from background_pipelines.llm.embedders import get_embedder
from background_pipelines.store import search_index

_ON_THE_FLY_FACTS = 500


@lru_cache(maxsize=4)
def embedder_for(settings: Settings):
    """One embedder per settings (loading a local model takes seconds; a query must not)."""
    return get_embedder(settings)


def fact_text(row: dict) -> str:
    return f"{row['subject']} {row['predicate'].replace('_', ' ')} {row['object']}"


def search(conn, settings: Settings, user: str, query: str, *, character: str | None, at: datetime | None, limit: int) -> list[tuple[str, int, float]]:
    """[(kind, id, cosine)] best first over the user's items."""
    emb = embedder_for(settings)
    q = emb.encode([query])[0].astype(np.float32)
    ids: list[tuple[str, int]] = []
    blocks: list[np.ndarray] = []
    candidates = {
        "message": search_index.user_message_ids(conn, user, character=character, at=at),
        "summary": search_index.user_summary_ids(conn, user, character=character, at=at),
    }
    facts = search_index.user_facts(conn, user, at=at)
    candidates["fact"] = [f["id"] for f in facts]
    for kind, item_ids in candidates.items():
        if not item_ids:
            continue
        rows = search_index.vectors(conn, kind, emb.model_id, item_ids)
        rows = [(i, v) for i, v in rows if len(v) == 4 * emb.dim]  # another dim: not comparable, skip
        if rows:
            ids.extend((kind, i) for i, _ in rows)
            blocks.append(np.frombuffer(b"".join(v for _, v in rows), dtype="<f4").reshape(len(rows), emb.dim))
        if kind == "fact":
            stored = {i for i, _ in rows}
            missing = [f for f in facts if f["id"] not in stored][:_ON_THE_FLY_FACTS]
            if missing:
                ids.extend(("fact", f["id"]) for f in missing)
                blocks.append(emb.encode([fact_text(f) for f in missing]).astype(np.float32))
    if not ids:
        return []
    scores = np.concatenate(blocks) @ q
    top = np.argsort(-scores, kind="stable")[:limit]
    return [(ids[i][0], ids[i][1], float(scores[i])) for i in top]
