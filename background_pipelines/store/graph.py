"""SQL for the knowledge graph: entities (canonical name, normalised dedup key, type, aliases) and
temporal relations (weight, confidence, first/last seen, valid_from, invalidated_at, sources)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from background_pipelines.store.engine import Store, insert_ignore
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import entities, relations


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


def relations_of(store: Store, name_norm: str, predicate: str | None = None) -> list[dict]:
    """Relations whose source is the entity `name_norm`, with the target's name; oldest first."""
    dst = aliased(entities)
    src = aliased(entities)
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
    s, d = aliased(entities), aliased(entities)
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
