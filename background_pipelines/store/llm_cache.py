"""The llm_cache table: validated LLM answers keyed by a hash of (model, messages, params, schema),
so re-materializing costs no requests."""

from __future__ import annotations

import hashlib
import json
from typing import Iterable, Sequence

from sqlalchemy import delete, func, select

from background_pipelines.store.engine import Store, insert_ignore
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import llm_cache

_CHUNK = 500


def cache_key(model: str, messages: list[dict], temperature: float, max_tokens: int, schema: dict) -> str:
    """sha256 of the canonical JSON of everything that shapes the answer."""
    canonical = json.dumps(
        {"model": model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens, "schema": schema},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def get_cached(store: Store, keys: Iterable[str]) -> dict[str, dict]:
    """{key: {response, prompt_tokens, completion_tokens}} for the keys that are cached."""
    keys = list(dict.fromkeys(keys))
    found: dict[str, dict] = {}
    with store.connect() as conn:
        for start in range(0, len(keys), _CHUNK):
            rows = conn.execute(
                select(llm_cache.c.key, llm_cache.c.response, llm_cache.c.prompt_tokens, llm_cache.c.completion_tokens).where(
                    llm_cache.c.key.in_(keys[start : start + _CHUNK])
                )
            )
            for key, response, pt, ct in rows:
                found[key] = {"response": response, "prompt_tokens": pt, "completion_tokens": ct}
    return found


def put_cached(store: Store, rows: Sequence[dict]) -> int:
    """Insert rows {key, model, task, response, prompt_tokens, completion_tokens}; existing keys are kept."""
    if not rows:
        return 0
    now = utcnow()
    full = [{**r, "created_at": now} for r in rows]
    n = 0
    with store.begin() as conn:
        for start in range(0, len(full), _CHUNK):
            n += insert_ignore(conn, llm_cache, full[start : start + _CHUNK], ["key"])
    return n


def cache_size(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(llm_cache)).scalar_one()


def clear_cache(store: Store, task: str | None = None) -> int:
    """Delete cached answers (of one task when given); returns rows deleted."""
    q = delete(llm_cache)
    if task:
        q = q.where(llm_cache.c.task == task)
    with store.begin() as conn:
        return conn.execute(q).rowcount or 0
