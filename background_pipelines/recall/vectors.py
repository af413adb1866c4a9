"""Vector mode: the query embedded with the configured embedder, dotted (numpy) against the vectors of
the conversation's turns (both speakers; held in memory by vector_cache.py) and of the user's summaries
and facts (facts without stored vectors are embedded on the fly: a user has few)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import numpy as np

from background_pipelines.config import Settings
from background_pipelines.llm.embedders import get_embedder
from background_pipelines.recall import vector_cache
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
    """[(message id, cosine)] best first (ties by id) over the turns of `channels`: from this process's
    turn-vector cache (vector_cache.py) unless BGP_RECALL_VECTOR_CACHE_MB is 0."""
    emb, q = qvec or query_vector(settings, query)
    cache = vector_cache.cache_for(conn.engine, settings.recall_vector_cache_mb)
    if cache is not None and channels:
        got = cache.search(conn, channels, emb.model_id, emb.dim, q, character=character, at=at, platform=platform, limit=limit)
        if got is not None:
            return got
    return search_turns_uncached(conn, channels, emb, q, character=character, at=at, limit=limit, platform=platform)


def search_turns_uncached(conn, channels: list[str], emb, q: np.ndarray, *, character: str | None, at: datetime | None,
                          limit: int, platform: str | None = None) -> list[tuple[int, float]]:
    """search_turns reading every vector of the conversation from the store (the cache's reference)."""
    rows = [(i, v) for i, v in search_index.turn_vectors(conn, channels, emb.model_id, character=character, at=at, platform=platform)
            if len(v) == 4 * emb.dim]
    if not rows:
        return []
    scores = vector_cache.dot(np.frombuffer(b"".join(v for _, v in rows), dtype="<f4").reshape(len(rows), emb.dim), q)
    return vector_cache.rank(np.array([i for i, _ in rows], dtype=np.int64), scores, limit)


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
    scores = vector_cache.dot(np.concatenate(blocks), q)
    top = np.argsort(-scores, kind="stable")[:limit]
    return [(ids[i][0], ids[i][1], float(scores[i])) for i in top]
