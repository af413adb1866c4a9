"""SQL for the knowledge graph: entities (canonical name, normalised dedup key, type, aliases) and
temporal relations (weight, confidence, first/last seen, valid_from, invalidated_at, sources), and the
locks that serialise writers per user and per entity without deadlocks."""

from __future__ import annotations

import random
import time
from typing import Callable, Iterable, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from background_pipelines.store.engine import Store, insert_ignore, lock_keys, locked_transaction
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import embeddings, entities, entity_merges, relations

T = TypeVar("T")
_RETRY_ATTEMPTS = 6


# -- locks: one transaction per user, entity locks taken in one global (sorted) order ---------------

def user_transaction(store: Store, user: str):
    """A transaction that holds the lock of `user`: two runs folding facts of one user (two days in
    parallel, a retry, a second worker) take turns."""
    return locked_transaction(store, [f"user:{user}"])


def lock_entities(conn, norms: Iterable[str]) -> None:
    """Lock entity keys in one global order, after the user lock: waits never form a cycle (no
    deadlock), and an entity is never inserted or rewritten by two transactions at once (the
    ON CONFLICT (norm) deadlock this replaces). SQLite already holds its single write lock."""
    lock_keys(conn, (f"entity:{n}" for n in norms))


def _retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40P01", "40001", "55P03"):  # deadlock, serialization failure, lock not available
        return True
    return "database is locked" in str(orig or exc)


def with_retries(fn: Callable[[], T], attempts: int = _RETRY_ATTEMPTS) -> T:
    """Run `fn` (one whole transaction), again after a deadlock or a busy database, with exponential
    backoff and jitter; other errors and the last failure propagate."""
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not _retryable(exc):
                raise
            time.sleep(min(5.0, 0.05 * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


# -- entities ---------------------------------------------------------------------------------------


def entity_by_norm(conn, norm: str) -> dict | None:
    r = conn.execute(select(entities).where(entities.c.norm == norm)).first()
    return dict(r._mapping) if r else None


def entities_of_type(conn, type_: str) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(select(entities).where(entities.c.type == type_).order_by(entities.c.id))]


def ensure_entity(conn, name: str, norm: str, type_: str) -> tuple[dict, bool]:
    """The entity with dedup key `norm`, created if new; returns (row, created)."""
    now = utcnow()
    created = insert_ignore(conn, entities, [dict(name=name, norm=norm, type=type_, aliases=[], created_at=now, updated_at=now)], ["norm"]) > 0
    return entity_by_norm(conn, norm), created


def update_entity(conn, entity_id: int, **values) -> None:
    conn.execute(update(entities).where(entities.c.id == entity_id).values(updated_at=utcnow(), **values))


def current_relations(conn, src_id: int, predicate: str) -> list[dict]:
    """Relations src -predicate-> * not invalidated, oldest first."""
    q = (
        select(relations)
        .where(relations.c.src_id == src_id, relations.c.predicate == predicate, relations.c.invalidated_at.is_(None))
        .order_by(relations.c.valid_from, relations.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def relations_between(conn, src_id: int, predicate: str, dst_id: int) -> list[dict]:
    """Every relation src -predicate-> dst, current or not."""
    q = select(relations).where(relations.c.src_id == src_id, relations.c.predicate == predicate, relations.c.dst_id == dst_id)
    return [dict(r._mapping) for r in conn.execute(q)]


def insert_relation(conn, row: dict) -> int:
    return insert_ignore(conn, relations, [row], ["src_id", "predicate", "dst_id", "valid_from"])


def update_relation(conn, relation_id: int, **values) -> None:
    conn.execute(update(relations).where(relations.c.id == relation_id).values(**values))


def entities_by_norms(conn, norms: Iterable[str]) -> dict[str, dict]:
    norms = sorted(set(norms))
    out: dict[str, dict] = {}
    for i in range(0, len(norms), 500):
        for r in conn.execute(select(entities).where(entities.c.norm.in_(norms[i : i + 500]))):
            out[r.norm] = dict(r._mapping)
    return out


def insert_entities(conn, rows: list[dict]) -> None:
    """Insert entity rows (name, norm, type, aliases), in norm order, keeping existing ones."""
    now = utcnow()
    rows = sorted(rows, key=lambda r: r["norm"])
    insert_ignore(conn, entities, [dict(r, created_at=now, updated_at=now) for r in rows], ["norm"])


def active_merges(conn) -> list[tuple[str, int, int]]:
    """(merged name, merged id, survivor id) of consolidation merges not undone, oldest first."""
    q = (
        select(entity_merges.c.merged_name, entity_merges.c.merged_id, entity_merges.c.survivor_id)
        .where(entity_merges.c.undone_at.is_(None))
        .order_by(entity_merges.c.id)
    )
    return [(r[0], r[1], r[2]) for r in conn.execute(q)]


def entity_by_id(conn, entity_id: int) -> dict | None:
    r = conn.execute(select(entities).where(entities.c.id == entity_id)).first()
    return dict(r._mapping) if r else None


def derived_relations_of(conn, src_id: int) -> list[dict]:
    """The relations folded from facts (not inferred) whose source is `src_id`."""
    q = select(relations).where(relations.c.src_id == src_id, relations.c.inferred.is_(False)).order_by(relations.c.id)
    return [dict(r._mapping) for r in conn.execute(q)]


def delete_relations(conn, ids: list[int]) -> None:
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        conn.execute(delete(embeddings).where(embeddings.c.item_kind == "relation", embeddings.c.item_id.in_(chunk)))
        conn.execute(delete(relations).where(relations.c.id.in_(chunk)))


def delete_unlinked_entities(conn, ids: Iterable[int]) -> int:
    """Delete those of `ids` no relation points to or from (callers hold their entity locks)."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    linked = {
        r[0]
        for col in (relations.c.src_id, relations.c.dst_id)
        for r in conn.execute(select(col).where(col.in_(ids)).distinct())
    }
    gone = [i for i in ids if i not in linked]
    if gone:
        conn.execute(delete(embeddings).where(embeddings.c.item_kind == "entity", embeddings.c.item_id.in_(gone)))
        conn.execute(delete(entities).where(entities.c.id.in_(gone)))
    return len(gone)


def relations_of(store: Store, name_norm: str, predicate: str | None = None) -> list[dict]:
    """Relations whose source is the entity `name_norm`, with the target's name; oldest first."""
    dst = entities.alias()
    src = entities.alias()
    q = (
        select(relations, dst.c.name.label("dst_name"), src.c.name.label("src_name"))
        .join(src, src.c.id == relations.c.src_id)
        .join(dst, dst.c.id == relations.c.dst_id)
        .where(src.c.norm == name_norm)
        .order_by(relations.c.valid_from, relations.c.id)
    )
    if predicate:
        q = q.where(relations.c.predicate == predicate)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def dangling_relations(store: Store) -> list[int]:
    """Ids of relations whose source or target entity does not exist."""
    s, d = entities.alias(), entities.alias()
    q = (
        select(relations.c.id)
        .outerjoin(s, s.c.id == relations.c.src_id)
        .outerjoin(d, d.c.id == relations.c.dst_id)
        .where((s.c.id.is_(None)) | (d.c.id.is_(None)))
    )
    with store.connect() as conn:
        return [r[0] for r in conn.execute(q)]


def counts(store: Store) -> dict[str, int]:
    with store.connect() as conn:
        return {
            "entities": conn.execute(select(func.count()).select_from(entities)).scalar_one(),
            "relations": conn.execute(select(func.count()).select_from(relations)).scalar_one(),
            "current_relations": conn.execute(
                select(func.count()).select_from(relations).where(relations.c.invalidated_at.is_(None))
            ).scalar_one(),
        }
