"""embed_messages: the day's messages through the configured embedder in batches of
BGP_EMBEDDING_BATCH_SIZE (100), skipping messages already embedded with the same model."""

from __future__ import annotations

import numpy as np

from background_pipelines.cognition.result import StageResult, md_table
from background_pipelines.config import Settings
from background_pipelines.store import ledger
from background_pipelines.store.embeddings import save_embeddings
from background_pipelines.store.engine import Store
from background_pipelines.store.messages import messages_for_day

STAGE = "embed"
VERSION = "embed-v1"


def embed_messages(
    store: Store,
    embedder,
    settings: Settings,
    day: str,
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
) -> StageResult:
    """Embed the day's messages not yet embedded with `embedder.model_id` (all with `force`)."""
    result = StageResult(stage=STAGE, days=[day])
    msgs = messages_for_day(store, day, ["id", "text"])
    ids = [m["id"] for m in msgs]
    stage_version = f"{version}:{embedder.model_id}"  # a new model makes every message due again
    # The ledger, whose version names the model, says what is embedded with this model. A vector saved
    # just before a crash (not yet in the ledger) is re-encoded and overwritten: saves are idempotent.
    due_set = {int(i) for i in ledger.todo(store, STAGE, stage_version, [str(i) for i in ids], force=force)}
    todo = [m for m in msgs if m["id"] in due_set]
    result.skipped = len(msgs) - len(todo)
    size = max(1, getattr(embedder, "batch_size", None) or settings.embedding_batch_size)
    first_error = None
    ok_ids: list[int] = []
    blocks = []
    for i in range(0, len(todo), size):
        batch = todo[i : i + size]
        batch_ids = [m["id"] for m in batch]
        try:
            blocks.append(embedder.encode([m["text"] for m in batch]))
        except Exception as exc:  # one bad batch must not lose the others: record and carry on
            reason = f"{type(exc).__name__}: {str(exc)[:300]}"
            ledger.mark(store, STAGE, stage_version, [str(x) for x in batch_ids], ledger.FAILED, error=reason, run_id=run_id)
            result.failed += len(batch)
            first_error = first_error or reason
            continue
        ok_ids.extend(batch_ids)
    if ok_ids:  # one save per day: the index's model check scans the index once, not per batch
        save_embeddings(store, "message", ok_ids, np.vstack(blocks), embedder.model_id, force=force)
        ledger.mark(store, STAGE, stage_version, [str(x) for x in ok_ids], ledger.DONE, run_id=run_id)
    success = len(ok_ids)
    if first_error:
        result.errors.append(first_error)
    result.processed = success
    result.rows_written = success
    result.row_count = len(ledger.done_items(store, STAGE, stage_version, [str(i) for i in ids]))
    result.extra = {"success": success, "embedding_model": embedder.model_id, "embedding_backend": embedder.backend, "batches": -(-len(todo) // size)}
    result.preview = f"**{day}**: {success} embedded, {result.failed} failed, {result.skipped} skipped\n\n" + md_table(
        ["model", "dim", "batch size"], [[embedder.model_id, embedder.dim, size]]
    )
    return result
