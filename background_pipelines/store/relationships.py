"""SQL for relationship_scores: familiarity per (user, character), upserted, never moved backwards
by a late backfill of an older day."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import func, select

from background_pipelines.store.engine import Store, upsert
from background_pipelines.store.schema import relationship_scores

_COLS = ["familiarity", "interactions", "sessions", "first_interaction", "last_interaction", "updated_at"]


def current(conn, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    users = sorted({u for u, _ in pairs})
    out = {}
    for i in range(0, len(users), 500):
        for r in conn.execute(select(relationship_scores).where(relationship_scores.c.user_name.in_(users[i : i + 500]))):
            out[(r.user_name, r.character)] = dict(r._mapping)
    return out


def save_scores(conn, rows: Sequence[dict]) -> int:
    """Upsert rows unless the stored row already reflects a later interaction; returns rows written."""
    have = current(conn, [(r["user_name"], r["character"]) for r in rows])
    fresh = [
        r for r in rows
        if (old := have.get((r["user_name"], r["character"]))) is None
        or r["last_interaction"] > old["last_interaction"]
        or (r["last_interaction"] == old["last_interaction"] and (r["interactions"], r["familiarity"]) != (old["interactions"], old["familiarity"]))
    ]
    if fresh:
        upsert(conn, relationship_scores, fresh, ["user_name", "character"], _COLS)
    return len(fresh)


def all_scores(store: Store) -> list[dict]:
    with store.connect() as conn:
        q = select(relationship_scores).order_by(relationship_scores.c.familiarity.desc())
        return [dict(r._mapping) for r in conn.execute(q)]


def count(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(relationship_scores)).scalar_one()
