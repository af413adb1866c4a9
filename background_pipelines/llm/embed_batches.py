"""Embedding many items into the store: encode batch k+1 while earlier batches are written, so the
pipeline runs at the encoder's rate (benchmarks/embedding.py measures the ratio)."""

from __future__ import annotations

import queue
import threading
from typing import Sequence

import numpy as np

from background_pipelines.llm.embedders import Embedder
from background_pipelines.store.embeddings import check_model, save_embeddings
from background_pipelines.store.engine import Store

_WRITE_ROWS = 2000  # the writer joins queued batches up to this many rows into one transaction


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
    The model is checked once, before any encoding (a mismatch raises unless `force` rebuilds)."""
    if len(ids) != len(texts):
        raise ValueError(f"embed_and_save({item_kind!r}): {len(ids)} ids for {len(texts)} texts")
    if not ids:
        return 0
    if not force:
        check_model(store, item_kind, embedder.model_id)  # fail before spending any encoding time
    size = max(1, batch_size or embedder.batch_size)
    first_ids = list(ids[:size])
    first = embedder.encode(list(texts[:size]))
    # the first write verifies model and dim (and clears other models when forced); later ones skip the probes
    written = save_embeddings(store, item_kind, first_ids, first, embedder.model_id, force=force)
    if len(ids) <= size:
        return written

    pending: queue.Queue = queue.Queue(maxsize=4)  # bounded: encoding stays a few batches ahead
    errors: list[BaseException] = []
    total = [written]

    def write(jobs: list) -> None:
        batch_ids = [i for job in jobs for i in job[0]]
        total[0] += save_embeddings(store, item_kind, batch_ids, np.vstack([job[1] for job in jobs]), embedder.model_id, verify=False)

    def writer() -> None:
        done = False
        while not done:
            jobs = [pending.get()]
            # fewer, larger transactions when the writer lags: each statement is a GIL hand-over
            while jobs[-1] is not None and sum(len(j[0]) for j in jobs) < _WRITE_ROWS:
                try:
                    jobs.append(pending.get_nowait())
                except queue.Empty:
                    break
            if jobs[-1] is None:
                jobs.pop()
                done = True
            if jobs and not errors:
                try:
                    write(jobs)
                except BaseException as exc:  # re-raised in the caller's thread below
                    errors.append(exc)

    thread = threading.Thread(target=writer, name=f"embed-writer-{item_kind}", daemon=True)
    thread.start()
    try:
        for start in range(size, len(ids), size):
            if errors:
                break
            pending.put((list(ids[start : start + size]), embedder.encode(list(texts[start : start + size]))))
    finally:
        pending.put(None)
        thread.join()
    if errors:
        raise errors[0]
    return total[0]
