"""SQL for hub organisation: entity degrees over current explicit relations, a hub's group layer
(group entities keyed `hub:<hub id>:<direction>:<predicate>` and their inferred relations) and the
organisation rows with their audit trail."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import and_, delete, insert, or_, select, update

from background_pipelines.store.schema import embeddings, entities, hub_organisations, relations

GROUP_TYPE = "hub_group"
HAS_GROUP, INCLUDES = "has_group", "includes"


def _current(conn):
    return and_(relations.c.inferred.is_(False), relations.c.invalidated_at.is_(None), relations.c.expired_at.is_(None))


def degrees(conn) -> Counter:
    """{entity id: current explicit relations touching it (in + out)}."""
    out: Counter = Counter()
    for col in (relations.c.src_id, relations.c.dst_id):
        for eid, in conn.execute(select(col).where(_current(conn))):
            out[eid] += 1
    return out


def current_relations_of(conn, entity_id: int) -> list[dict]:
    q = select(relations).where(_current(conn), or_(relations.c.src_id == entity_id, relations.c.dst_id == entity_id)).order_by(relations.c.id)
    return [dict(r._mapping) for r in conn.execute(q)]


def entity(conn, entity_id: int) -> dict | None:
    r = conn.execute(select(entities).where(entities.c.id == entity_id)).first()
    return dict(r._mapping) if r else None


def group_entities(conn, hub_id: int) -> dict[str, dict]:
    """{norm: entity} of the hub's group entities."""
    q = select(entities).where(entities.c.type == GROUP_TYPE, entities.c.norm.like(f"hub:{hub_id}:%"))
    return {r.norm: dict(r._mapping) for r in conn.execute(q)}


def overlay_relations(conn, hub_id: int, group_ids: list[int]) -> list[dict]:
    """The inferred has_group / includes relations of the hub's layer."""
    if not group_ids:
        return []
    q = select(relations).where(relations.c.inferred.is_(True), or_(
        and_(relations.c.src_id == hub_id, relations.c.predicate == HAS_GROUP, relations.c.dst_id.in_(group_ids)),
        and_(relations.c.src_id.in_(group_ids), relations.c.predicate == INCLUDES),
    ))
    return [dict(r._mapping) for r in conn.execute(q)]


def insert_group(conn, row: dict) -> int:
    return conn.execute(insert(entities).values(**row)).inserted_primary_key[0]


def insert_relation(conn, row: dict) -> int:
    return conn.execute(insert(relations).values(**row)).inserted_primary_key[0]


def update_relation(conn, rid: int, **values) -> None:
    conn.execute(update(relations).where(relations.c.id == rid).values(**values))


def delete_relations(conn, ids: list[int]) -> None:
    if ids:
        conn.execute(delete(embeddings).where(embeddings.c.item_kind == "relation", embeddings.c.item_id.in_(ids)))
        conn.execute(delete(relations).where(relations.c.id.in_(ids)))


def delete_entities(conn, ids: list[int]) -> None:
    if ids:
        conn.execute(delete(embeddings).where(embeddings.c.item_kind == "entity", embeddings.c.item_id.in_(ids)))
        conn.execute(delete(entities).where(entities.c.id.in_(ids)))


def organisations(conn, status: str | None = None) -> list[dict]:
    q = select(hub_organisations).order_by(hub_organisations.c.id)
    if status:
        q = q.where(hub_organisations.c.status == status)
    return [dict(r._mapping) for r in conn.execute(q)]


def latest_for(conn, hub_id: int) -> dict | None:
    r = conn.execute(select(hub_organisations).where(hub_organisations.c.hub_id == hub_id).order_by(hub_organisations.c.id.desc())).first()
    return dict(r._mapping) if r else None


def insert_organisation(conn, row: dict) -> int:
    return conn.execute(insert(hub_organisations).values(**row)).inserted_primary_key[0]


def update_organisation(conn, oid: int, **values) -> None:
    conn.execute(update(hub_organisations).where(hub_organisations.c.id == oid).values(**values))
