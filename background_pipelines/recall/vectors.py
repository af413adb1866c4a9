"""Vector mode: the query embedded with the configured embedder, dotted (numpy) against the stored
vectors of the conversation's turns (both speakers) and of the user's summaries and facts (facts
without stored vectors are embedded on the fly: a user has few)."""

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
    """One embedder per settings (loading a local model takes seconds; a query must not). torch's
    threads are bounded: one query vector on a busy 2-core host took 5 s with torch's default threads
    and 0.56 s with one."""
    emb = get_embedder(settings)
    if emb.backend == "sentence-transformers":
        import torch

        torch.set_num_threads(max(1, settings.recall_torch_threads))
    return emb


def query_vector(settings: Settings, query: str) -> tuple[object, np.ndarray]:
    emb = embedder_for(settings)
    return emb, emb.encode([query])[0].astype(np.float32)


def search_turns(conn, settings: Settings, channels: list[str], query: str, *, character: str | None, at: datetime | None,
                 limit: int, qvec=None, platform: str | None = None) -> list[tuple[int, float]]:
    """[(message id, cosine)] best first over the turns of `channels`."""
    emb, q = qvec or query_vector(settings, query)
    rows = [(i, v) for i, v in search_index.turn_vectors(conn, channels, emb.model_id, character=character, at=at, platform=platform) if len(v) == 4 * emb.dim]
    if not rows:
        return []
    scores = np.frombuffer(b"".join(v for _, v in rows), dtype="<f4").reshape(len(rows), emb.dim) @ q
    top = np.argsort(-scores, kind="stable")[:limit]
    return [(rows[i][0], float(scores[i])) for i in top]


def fact_text(row: dict) -> str:
    return f"{row['subject']} {row['predicate'].replace('_', ' ')} {row['object']}"


def search(conn, settings: Settings, user: str, query: str, *, character: str | None, at: datetime | None, limit: int,
           qvec=None, messages: bool = True) -> list[tuple[str, int, float]]:
    """[(kind, id, cosine)] best first over the user's items (their own messages unless not `messages`)."""
    emb, q = qvec or query_vector(settings, query)
    ids: list[tuple[str, int]] = []
    blocks: list[np.ndarray] = []
    rows = [r for r in search_index.user_vectors(conn, user, emb.model_id, character=character, at=at, messages=messages)
            if len(r[2]) == 4 * emb.dim]
    if rows:  # another dim would not be comparable: left out above
        ids.extend((k, i) for k, i, _ in rows)
        blocks.append(np.frombuffer(b"".join(v for _, _, v in rows), dtype="<f4").reshape(len(rows), emb.dim))
    stored = {i for k, i, _ in rows if k == "fact"}
    missing = [f for f in search_index.user_facts(conn, user, at=at) if f["id"] not in stored][:_ON_THE_FLY_FACTS]
    if missing:
        ids.extend(("fact", f["id"]) for f in missing)
        blocks.append(emb.encode([fact_text(f) for f in missing]).astype(np.float32))
    if not ids:
        return []
    scores = np.concatenate(blocks) @ q
    top = np.argsort(-scores, kind="stable")[:limit]
    return [(ids[i][0], ids[i][1], float(scores[i])) for i in top]
