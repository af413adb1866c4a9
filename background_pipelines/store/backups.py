"""SQL for the backups catalogue: one row per backup file (path, kind, method, time, size, checksum)."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import delete, insert, select

from background_pipelines.store.engine import Store
from background_pipelines.store.schema import backups


def record_backup(store: Store, *, path: str, kind: str, method: str, created_at: datetime, size_bytes: int, checksum: str) -> int:
    with store.begin() as conn:
        res = conn.execute(
            insert(backups).values(
                path=path, kind=kind, method=method, created_at=created_at, size_bytes=size_bytes, checksum=checksum
            )
        )
        return int(res.inserted_primary_key[0])


def list_backups(store: Store, kind: str | None = None) -> list[dict]:
    """Catalogued backups, newest first."""
    q = select(backups).order_by(backups.c.created_at.desc(), backups.c.id.desc())
    if kind:
        q = q.where(backups.c.kind == kind)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def forget_backups(store: Store, ids: Sequence[int]) -> int:
    if not ids:
        return 0
    with store.begin() as conn:
        return conn.execute(delete(backups).where(backups.c.id.in_(list(ids)))).rowcount or 0
