"""Embedding many items into the store: encode batch k+1 while batch k is written, so the
pipeline runs at the encoder's rate (benchmarks/embedding.py measures the ratio)."""

from __future__ import annotations

import queue
import threading
from typing import Sequence

from background_pipelines.llm.embedders import Embedder
from background_pipelines.store.embeddings import check_model, save_embeddings
from background_pipelines.store.engine import Store


def embed_and_save(
    store: Store,
    embedder: Embedder,
    item_kind: str,
    ids: Sequence[int],
    texts: Sequence[str],
    *,
    batch_size: int | None = None,
    force: bool = False,
) -> int:
    """Encode `texts` and save them under `ids` in the `item_kind` index; returns vectors written.
    A model mismatch is raised before any encoding (unless `force` rebuilds the index)."""
    if len(ids) != len(texts):
        raise ValueError(f"embed_and_save({item_kind!r}): {len(ids)} ids for {len(texts)} texts")
    if not ids:
        return 0
    if not force:
        check_model(store, item_kind, embedder.model_id)
    size = max(1, batch_size or embedder.batch_size)
    pending: queue.Queue = queue.Queue(maxsize=2)  # bounded: encoding stays at most two batches ahead
    written = [0]
    errors: list[BaseException] = []

    def writer() -> None:
        while True:
            job = pending.get()
            if job is None:
                return
            if errors:
                continue  # drain after a failure so the producer never blocks
            try:
                written[0] += save_embeddings(store, item_kind, job[0], job[1], embedder.model_id, force=force)
            except BaseException as exc:  # re-raised in the caller's thread below
                errors.append(exc)

    thread = threading.Thread(target=writer, name=f"embed-writer-{item_kind}", daemon=True)
    thread.start()
    try:
        for start in range(0, len(ids), size):
            if errors:
                break
            pending.put((list(ids[start : start + size]), embedder.encode(list(texts[start : start + size]))))
    finally:
        pending.put(None)
        thread.join()
    if errors:
        raise errors[0]
    return written[0]
