"""embed_messages: the messages of a range of days through the configured embedder in batches of
BGP_EMBEDDING_BATCH_SIZE (100), skipping messages already embedded with the same model."""

from __future__ import annotations

from typing import Sequence

from background_pipelines.cognition.result import StageResult, as_days, md_table, per_day
from background_pipelines.config import Settings
from background_pipelines.store import ledger
from background_pipelines.store.embeddings import save_embeddings
from background_pipelines.store.engine import Store
from background_pipelines.store.messages import messages_for_days

STAGE = "embed"
VERSION = "embed-v1"


def embed_messages(
    store: Store,
    embedder,
    settings: Settings,
    days: str | Sequence[str],
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
) -> StageResult:
    """Embed the messages of `days` (one partition key or a range) not yet embedded with
    `embedder.model_id` (all with `force`): one read, one save; a result per day in `by_day`."""
    days = as_days(days)
    per = per_day(STAGE, days)
    msgs = messages_for_days(store, days, ["id", "text"])
    day_of = {m["id"]: m["day"] for m in msgs}
    stage_version = f"{version}:{embedder.model_id}"  # a new model makes every message due again
    # The ledger, whose version names the model, says what is embedded with this model. A vector saved
    # just before a crash (not yet in the ledger) is re-encoded and overwritten: saves are idempotent.
    due_set = {int(i) for i in ledger.todo(store, STAGE, stage_version, [str(m["id"]) for m in msgs], force=force)}
    todo = [m for m in msgs if m["id"] in due_set]
    for m in msgs:
        if m["id"] not in due_set:
            per[m["day"]].skipped += 1
    size = max(1, getattr(embedder, "batch_size", None) or settings.embedding_batch_size)
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
            for x in batch_ids:
                r = per[day_of[x]]
                r.failed += 1
                if reason not in r.errors:
                    r.errors.append(reason)
            continue
        ok_ids.extend(batch_ids)
    if ok_ids:  # one save per range: the index's model check scans the index once, not per batch
        import numpy as np  # here, not at module load: the code location imports this module

        save_embeddings(store, "message", ok_ids, np.vstack(blocks), embedder.model_id, force=force)
        ledger.mark(store, STAGE, stage_version, [str(x) for x in ok_ids], ledger.DONE, run_id=run_id)
    for x in ok_ids:
        per[day_of[x]].processed += 1
    for d, r in per.items():
        # skipped messages are done at this model; failed ones are not
        r.row_count = r.processed + r.skipped
        r.rows_written = r.processed
        r.extra = {"success": r.processed, "embedding_model": embedder.model_id, "embedding_backend": embedder.backend}
        r.preview = f"**{d}**: {r.processed} embedded, {r.failed} failed, {r.skipped} skipped\n\n" + md_table(
            ["model", "dim", "batch size"], [[embedder.model_id, embedder.dim, size]]
        )
    total = StageResult.total(STAGE, per)
    total.extra.update(embedding_model=embedder.model_id, embedding_backend=embedder.backend, batches=-(-len(todo) // size))
    return total
