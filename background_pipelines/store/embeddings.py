"""The embeddings table: one float32 vector per (item_kind, item_id), stored with its model id and dim.

An item_kind index holds vectors of one model only: mixing models would make similarities
meaningless, so a save with another model is refused until the index is rebuilt (force).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from sqlalchemy import delete, func, select

from background_pipelines.store.engine import Store, upsert
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import embeddings

if TYPE_CHECKING:  # numpy loads when vectors are saved or loaded, not with the code location (~0.09 CPU-s)
    import numpy as np

_CHUNK = 500


class EmbeddingModelMismatch(ValueError):
    """An item_kind index already holds vectors of another embedding model."""


def _mismatch(item_kind: str, held: dict[str, int], wanted: str) -> EmbeddingModelMismatch:
    others = ", ".join(f"{m!r} ({n} vectors)" for m, n in sorted(held.items()) if m != wanted)
    return EmbeddingModelMismatch(
        f"embeddings index {item_kind!r} holds vectors of {others}, not of {wanted!r}: models cannot be "
        f"mixed in one index. Re-embed every {item_kind!r} item with {wanted!r} (materialize the embedding "
        f"asset with force=True, or save_embeddings(..., force=True)), or set BGP_EMBEDDING_BACKEND/"
        f"BGP_EMBEDDING_MODEL back to the model the index was built with."
    )


def _counts(conn, item_kind: str) -> dict[str, int]:
    rows = conn.execute(
        select(embeddings.c.model, func.count()).where(embeddings.c.item_kind == item_kind).group_by(embeddings.c.model)
    )
    return {m: n for m, n in rows}


def _other_model(conn, item_kind: str, model_id: str) -> str | None:
    """Any model other than `model_id` in the index: two range probes on ix_embeddings_model, so the
    check stays O(log n) per batch however big the index is."""
    for cond in (embeddings.c.model < model_id, embeddings.c.model > model_id):
        found = conn.execute(select(embeddings.c.model).where(embeddings.c.item_kind == item_kind, cond).limit(1)).scalar()
        if found is not None:
            return found
    return None


def check_model(store: Store, item_kind: str, model_id: str) -> None:
    """Raise EmbeddingModelMismatch now if the index holds another model (before any encoding work)."""
    with store.connect() as conn:
        if _other_model(conn, item_kind, model_id) is not None:
            raise _mismatch(item_kind, _counts(conn, item_kind), model_id)


def embedding_models(store: Store, item_kind: str) -> dict[str, int]:
    """{model_id: vector count} held in the `item_kind` index."""
    with store.connect() as conn:
        return _counts(conn, item_kind)


def save_embeddings(
    store: Store,
    item_kind: str,
    ids: Sequence[int],
    vectors: np.ndarray,
    model_id: str,
    *,
    force: bool = False,
    verify: bool = True,
) -> int:
    """Store `vectors[i]` for `ids[i]` (idempotent upsert); returns the number of rows written.

    Raises EmbeddingModelMismatch when the index holds another model; with `force` the other
    model's vectors of this item_kind are deleted first (the caller is rebuilding the index).
    `verify=False` skips the model and dim probes: for a caller that ran check_model itself.
    """
    import numpy as np

    ids = [int(i) for i in ids]
    matrix = np.asarray(vectors)
    if matrix.ndim != 2 or matrix.shape[0] != len(ids):
        raise ValueError(
            f"save_embeddings({item_kind!r}): expected a ({len(ids)}, dim) matrix for {len(ids)} ids, got shape {matrix.shape}"
        )
    if len(set(ids)) != len(ids):
        raise ValueError(f"save_embeddings({item_kind!r}): duplicate item ids in one call")
    if not np.isfinite(matrix).all():
        bad = [ids[i] for i in np.where(~np.isfinite(matrix).all(axis=1))[0][:5]]
        raise ValueError(f"save_embeddings({item_kind!r}): non-finite values in the vectors of items {bad}")
    if not ids:
        return 0
    matrix = matrix.astype("<f4", copy=False)
    dim = int(matrix.shape[1])
    now = utcnow()
    with store.begin() as conn:
        if verify:
            _verify(conn, item_kind, model_id, dim, force)
        if conn.dialect.name == "sqlite":
            _sqlite_upsert(conn, item_kind, ids, matrix, model_id, dim, now)
        else:
            rows = [
                dict(item_kind=item_kind, item_id=i, model=model_id, dim=dim, vector=matrix[k].tobytes(), created_at=now)
                for k, i in enumerate(ids)
            ]
            for start in range(0, len(rows), _CHUNK):
                upsert(conn, embeddings, rows[start : start + _CHUNK], ["item_kind", "item_id"], ["model", "dim", "vector", "created_at"])
    return len(ids)


def _verify(conn, item_kind: str, model_id: str, dim: int, force: bool) -> None:
    """One model per index (deleting the others when `force`), one dim per model."""
    if _other_model(conn, item_kind, model_id) is not None:
        if not force:
            raise _mismatch(item_kind, _counts(conn, item_kind), model_id)
        conn.execute(delete(embeddings).where(embeddings.c.item_kind == item_kind, embeddings.c.model != model_id))
    stored_dim = conn.execute(
        select(embeddings.c.dim).where(embeddings.c.item_kind == item_kind, embeddings.c.model == model_id).limit(1)
    ).scalar()
    if stored_dim is not None and stored_dim != dim:
        raise ValueError(f"save_embeddings({item_kind!r}): model {model_id!r} vectors are stored with dim {stored_dim}, got {dim}")


def _sqlite_upsert(conn, item_kind: str, ids: list[int], matrix: np.ndarray, model_id: str, dim: int, now) -> None:
    """The same upsert through sqlite3's C executemany: Core's per-row compilation halved the embedding
    pipeline's rate (benchmarks/embedding.py). created_at in SQLAlchemy's SQLite DateTime format."""
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    conn.exec_driver_sql(
        "INSERT INTO embeddings (item_kind, item_id, model, dim, vector, created_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (item_kind, item_id) DO UPDATE SET model = excluded.model, dim = excluded.dim, "
        "vector = excluded.vector, created_at = excluded.created_at",
        [(item_kind, i, model_id, dim, row.tobytes(), stamp) for i, row in zip(ids, matrix)],
    )


def load_embeddings(
    store: Store, item_kind: str, model_id: str, ids: Sequence[int] | None = None
) -> tuple[list[int], np.ndarray]:
    """(ids, float32 matrix) of the `item_kind` index, ordered by id; only `ids` when given (missing ones
    are absent from the result). Raises EmbeddingModelMismatch if the index holds another model."""
    import numpy as np

    with store.connect() as conn:
        if _other_model(conn, item_kind, model_id) is not None:
            raise _mismatch(item_kind, _counts(conn, item_kind), model_id)
    q = select(embeddings.c.item_id, embeddings.c.dim, embeddings.c.vector).where(
        embeddings.c.item_kind == item_kind, embeddings.c.model == model_id
    )
    rows: list = []
    with store.connect() as conn:
        if ids is None:
            rows = list(conn.execute(q))
        else:
            wanted = sorted({int(i) for i in ids})
            for start in range(0, len(wanted), _CHUNK):
                rows.extend(conn.execute(q.where(embeddings.c.item_id.in_(wanted[start : start + _CHUNK]))))
    rows.sort(key=lambda r: r[0])
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    dim = rows[0][1]
    matrix = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype="<f4").reshape(len(rows), dim).astype(np.float32)
    return [r[0] for r in rows], matrix


def delete_embeddings(store: Store, item_kind: str, ids: Sequence[int]) -> int:
    """Remove the vectors of `ids` (e.g. forgotten items); returns rows deleted."""
    ids = [int(i) for i in ids]
    n = 0
    with store.begin() as conn:
        for start in range(0, len(ids), _CHUNK):
            res = conn.execute(
                delete(embeddings).where(embeddings.c.item_kind == item_kind, embeddings.c.item_id.in_(ids[start : start + _CHUNK]))
            )
            n += res.rowcount or 0
    return n


__all__ = ["EmbeddingModelMismatch", "check_model", "save_embeddings", "load_embeddings", "delete_embeddings", "embedding_models"]
