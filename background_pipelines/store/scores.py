"""SQL for message_scores: one row per message with importance, its class, factors and significance."""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import func, select

from background_pipelines.store.engine import Store, upsert
from background_pipelines.store.schema import message_scores, messages

_CHUNK = 500
_COLUMNS = [
    "importance", "importance_class", "content_factor", "activity_factor", "recency_factor",
    "topic_factor", "significance", "backend", "version", "created_at",
]


def save_scores(conn, rows: Sequence[dict]) -> int:
    """Upsert score rows by message_id (inside the caller's transaction); returns rows written."""
    for i in range(0, len(rows), _CHUNK):
        upsert(conn, message_scores, rows[i : i + _CHUNK], ["message_id"], _COLUMNS)
    return len(rows)


def scores_for(store: Store, ids: Iterable[int]) -> dict[int, dict]:
    ids = sorted({int(i) for i in ids})
    out: dict[int, dict] = {}
    with store.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            for r in conn.execute(select(message_scores).where(message_scores.c.message_id.in_(ids[i : i + _CHUNK]))):
                out[r.message_id] = dict(r._mapping)
    return out


def count_by_day(store: Store, days: Sequence[str]) -> dict[str, int]:
    """{day: scored messages of that day} for a range, in one grouped read."""
    days = sorted(set(days))
    out = {d: 0 for d in days}
    if not days:
        return out
    q = (select(messages.c.day, func.count()).select_from(message_scores.join(messages, messages.c.id == message_scores.c.message_id))
         .where(messages.c.day >= days[0], messages.c.day <= days[-1]).group_by(messages.c.day))
    with store.connect() as conn:
        out.update({d: int(n) for d, n in conn.execute(q) if d in out})
    return out


def count_for_day(store: Store, day: str) -> int:
    q = select(func.count()).select_from(message_scores.join(messages, messages.c.id == message_scores.c.message_id)).where(messages.c.day == day)
    with store.connect() as conn:
        return conn.execute(q).scalar_one()
