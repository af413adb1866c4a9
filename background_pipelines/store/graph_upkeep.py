"""SQL for graph upkeep: the entity_merges audit (merge with full before-images, exact restore),
decay and revival marks on relations, pruning of expired relations and orphan entities, and the
inferred co-occurrence edges. Rows in audit snapshots are JSON-encoded by column type."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.sql.sqltypes import Boolean, DateTime, LargeBinary

from background_pipelines.store.engine import Store
from background_pipelines.store.schema import embeddings, entities, entity_merges, facts, lore_fact_sources, messages, relations

COOCCURS = "co_occurs_with"
_CHUNK = 500


def _chunks(items: Sequence, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- row <-> JSON, exact round trip ------------------------------------------------------------


def encode_row(table: Table, row) -> dict:
    """A row as JSON-safe data: datetimes as ISO strings (microseconds kept), bytes as base64."""
    out = {}
    for col in table.columns:
        value = row[col.name]
        if value is None:
            out[col.name] = None
        elif isinstance(col.type, DateTime):
            out[col.name] = value.isoformat()
        elif isinstance(col.type, LargeBinary):
            out[col.name] = base64.b64encode(bytes(value)).decode("ascii")
        else:
            out[col.name] = value
    return out


def decode_row(table: Table, data: dict) -> dict:
    out = {}
    for col in table.columns:
        value = data.get(col.name)
        if value is not None:
            if isinstance(col.type, DateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(col.type, LargeBinary):
                value = base64.b64decode(value)
            elif isinstance(col.type, Boolean):
                value = bool(value)
        out[col.name] = value
    return out


# -- reads for resolution ----------------------------------------------------------------------


def load_entities(store: Store) -> list[dict]:
    """Every entity with its relation degree (the survivor of a merge is the best-connected)."""
    degree: dict[int, int] = {}
    with store.connect() as conn:
        for col in (relations.c.src_id, relations.c.dst_id):
            for eid, n in conn.execute(select(col, func.count()).group_by(col)):
                degree[eid] = degree.get(eid, 0) + n
        rows = conn.execute(
            select(entities.c.id, entities.c.name, entities.c.type, entities.c.aliases).order_by(entities.c.id)
        ).all()
    return [dict(id=r.id, name=r.name, type=r.type, aliases=list(r.aliases or []), degree=degree.get(r.id, 0)) for r in rows]


# -- merge and its exact inverse ----------------------------------------------------------------


def _combine(keep: dict, other: dict) -> dict:
    """The values of two relations that collapse into one (same src, predicate, dst, valid_from)."""

    def _union(a, b):
        return sorted(set(a or []) | set(b or []))

    both_expired = keep["expired_at"] is not None and other["expired_at"] is not None
    both_invalid = keep["invalidated_at"] is not None and other["invalidated_at"] is not None
    return dict(
        weight=max(keep["weight"], other["weight"]),
        confidence=max(keep["confidence"], other["confidence"]),
        first_seen=min(keep["first_seen"], other["first_seen"]),
        last_seen=max(keep["last_seen"], other["last_seen"]),
        expired_at=max(keep["expired_at"], other["expired_at"]) if both_expired else None,
        invalidated_at=max(keep["invalidated_at"], other["invalidated_at"]) if both_invalid else None,
        inferred=bool(keep["inferred"]) and bool(other["inferred"]),
        source_message_ids=_union(keep["source_message_ids"], other["source_message_ids"]),
        source_fact_ids=_union(keep["source_fact_ids"], other["source_fact_ids"]),
    )


def _ids_in(conn, column, ids: Sequence[int], *where) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(list(ids)):
        found.update(r[0] for r in conn.execute(select(column).where(column.in_(chunk), *where)))
    return found


def merge_entities(conn, plans: Sequence[tuple[int, int, float, str]], now: datetime) -> list[int]:
    """Fold each (survivor_id, merged_id, score, reason) in order, inside the caller's transaction:
    the merged entity's relations move to the survivor (colliding ones combine, links between the
    two are dropped), its name joins the survivor's aliases, its entity embeddings and the entity
    itself are deleted. One audit row per merge holds the before-images; returns their ids.

    A survivor is never merged in the same batch, so which entities have relations or embeddings
    is read once up front; relations are read per merge only for entities that have some."""
    if not plans:
        return []
    all_ids = sorted({i for p in plans for i in p[:2]})
    current: dict[int, dict] = {}
    for chunk in _chunks(all_ids):
        current.update({r["id"]: dict(r) for r in conn.execute(select(entities).where(entities.c.id.in_(chunk))).mappings()})
    merged_ids = [p[1] for p in plans]
    has_relations = _ids_in(conn, relations.c.src_id, merged_ids) | _ids_in(conn, relations.c.dst_id, merged_ids)
    has_vectors = _ids_in(conn, embeddings.c.item_id, merged_ids, embeddings.c.item_kind == "entity")
    audits = []
    for survivor_id, merged_id, score, reason in plans:
        survivor, merged = current[survivor_id], current[merged_id]
        before: dict[int, dict] = {}
        deleted: list[int] = []
        if merged_id in has_relations:
            _move_relations(conn, survivor_id, merged_id, before, deleted)
        emb_rows = []
        if merged_id in has_vectors:
            emb_rows = conn.execute(
                select(embeddings).where(embeddings.c.item_kind == "entity", embeddings.c.item_id == merged_id)
            ).mappings().all()
            conn.execute(delete(embeddings).where(embeddings.c.item_kind == "entity", embeddings.c.item_id == merged_id))
        audits.append(
            dict(
                survivor_id=survivor_id,
                merged_id=merged_id,
                merged_name=merged["name"],
                survivor_name=survivor["name"],
                score=float(score),
                reason=reason,
                snapshot=dict(
                    merged_entity=encode_row(entities, merged),
                    survivor_entity=encode_row(entities, survivor),
                    relations_before=[before[k] for k in sorted(before)],
                    relations_deleted=sorted(deleted),
                    embeddings=[encode_row(embeddings, e) for e in emb_rows],
                ),
                created_at=now,
            )
        )
        aliases = list(survivor["aliases"] or [])
        for name in [merged["name"], *(merged["aliases"] or [])]:
            if name != survivor["name"] and name not in aliases:
                aliases.append(name)
        current[survivor_id] = dict(survivor, aliases=aliases, updated_at=now)
    for chunk in _chunks(merged_ids):
        conn.execute(delete(entities).where(entities.c.id.in_(chunk)))
    survivors = sorted({p[0] for p in plans})
    conn.execute(
        update(entities).where(entities.c.id == bindparam("sid")).values(aliases=bindparam("new_aliases"), updated_at=now),
        [dict(sid=sid, new_aliases=current[sid]["aliases"]) for sid in survivors],
    )
    res = conn.execute(insert(entity_merges).returning(entity_merges.c.id, sort_by_parameter_order=True), audits)
    return [int(r[0]) for r in res]


def _move_relations(conn, survivor_id: int, merged_id: int, before: dict[int, dict], deleted: list[int]) -> None:
    def _snap(row) -> None:
        if row["id"] not in before:
            before[row["id"]] = encode_row(relations, row)

    touching = conn.execute(
        select(relations).where(or_(relations.c.src_id == merged_id, relations.c.dst_id == merged_id)).order_by(relations.c.id)
    ).mappings().all()
    for rel in touching:
        rel = dict(rel)
        _snap(rel)
        src = survivor_id if rel["src_id"] == merged_id else rel["src_id"]
        dst = survivor_id if rel["dst_id"] == merged_id else rel["dst_id"]
        if src == survivor_id and dst == survivor_id:
            # a link between the two names of one thing says nothing once they are one
            conn.execute(delete(relations).where(relations.c.id == rel["id"]))
            deleted.append(rel["id"])
            continue
        clash = conn.execute(
            select(relations).where(
                relations.c.src_id == src,
                relations.c.predicate == rel["predicate"],
                relations.c.dst_id == dst,
                relations.c.valid_from == rel["valid_from"],
                relations.c.id != rel["id"],
            )
        ).mappings().first()
        if clash is not None:
            clash = dict(clash)
            _snap(clash)
            conn.execute(update(relations).where(relations.c.id == clash["id"]).values(**_combine(clash, rel)))
            conn.execute(delete(relations).where(relations.c.id == rel["id"]))
            deleted.append(rel["id"])
        else:
            conn.execute(update(relations).where(relations.c.id == rel["id"]).values(src_id=src, dst_id=dst))


def get_merge(conn, merge_id: int) -> dict | None:
    row = conn.execute(select(entity_merges).where(entity_merges.c.id == merge_id)).mappings().first()
    return dict(row) if row else None


def later_active_merges(conn, merge: dict) -> list[int]:
    """Active merges made after `merge` that involve its entities or the endpoints of the relations
    it touched (those must be undone first, or restoring would undo part of them)."""
    ids = {merge["survivor_id"], merge["merged_id"]}
    for r in merge["snapshot"]["relations_before"]:
        ids.update((r["src_id"], r["dst_id"]))
    ids = sorted(ids)
    rows = conn.execute(
        select(entity_merges.c.id).where(
            entity_merges.c.id > merge["id"],
            entity_merges.c.undone_at.is_(None),
            or_(entity_merges.c.survivor_id.in_(ids), entity_merges.c.merged_id.in_(ids)),
        ).order_by(entity_merges.c.id)
    )
    return [r[0] for r in rows]


def restore_merge(conn, merge: dict, now: datetime) -> dict:
    """Put back the before-images of a merge (entities, relations, embeddings) exactly, ids included."""
    snap = merge["snapshot"]
    survivor = decode_row(entities, snap["survivor_entity"])
    merged = decode_row(entities, snap["merged_entity"])
    if conn.execute(select(entities.c.id).where(entities.c.id == survivor["id"])).first() is None:
        conn.execute(insert(entities).values(**survivor))
    else:
        conn.execute(update(entities).where(entities.c.id == survivor["id"]).values(**survivor))
    conn.execute(insert(entities).values(**merged))
    rel_rows = [decode_row(relations, r) for r in snap["relations_before"]]
    ids = [r["id"] for r in rel_rows]
    for chunk in _chunks(ids):
        conn.execute(delete(relations).where(relations.c.id.in_(chunk)))
    if rel_rows:
        conn.execute(insert(relations), rel_rows)
    emb_rows = [decode_row(embeddings, e) for e in snap.get("embeddings", [])]
    for e in emb_rows:
        conn.execute(delete(embeddings).where(embeddings.c.item_kind == e["item_kind"], embeddings.c.item_id == e["item_id"]))
    if emb_rows:
        conn.execute(insert(embeddings), emb_rows)
    conn.execute(update(entity_merges).where(entity_merges.c.id == merge["id"]).values(undone_at=now))
    return dict(entities=2, relations=len(rel_rows), embeddings=len(emb_rows))


def entity_by_norm(conn, norm: str) -> int | None:
    row = conn.execute(select(entities.c.id).where(entities.c.norm == norm)).first()
    return row[0] if row else None


def entity_exists(conn, entity_id: int) -> bool:
    return conn.execute(select(entities.c.id).where(entities.c.id == entity_id)).first() is not None


def list_merges(store: Store, limit: int = 50, include_undone: bool = True) -> list[dict]:
    """Audit rows, newest first, without the (large) snapshots."""
    cols = [c for c in entity_merges.columns if c.name != "snapshot"]
    q = select(*cols).order_by(entity_merges.c.id.desc()).limit(limit)
    if not include_undone:
        q = q.where(entity_merges.c.undone_at.is_(None))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


# -- decay, revival, pruning -------------------------------------------------------------------


def active_relations(store: Store) -> list[tuple[int, float, datetime]]:
    """(id, weight, last_seen) of current relations not yet expired, except those resting only on lore
    (a character's curated background, digested from documents): canon does not fade with disuse."""
    with store.connect() as conn:
        lore = set(conn.execute(select(lore_fact_sources.c.fact_id).distinct()).scalars())
        rows = conn.execute(
            select(relations.c.id, relations.c.weight, relations.c.last_seen, relations.c.source_fact_ids).where(
                relations.c.expired_at.is_(None), relations.c.invalidated_at.is_(None)
            )
        )
        return [(rid, w, seen) for rid, w, seen, fact_ids in rows if not (lore and fact_ids and set(fact_ids) <= lore)]


def mark_expired(store: Store, ids: Sequence[int], now: datetime) -> int:
    n = 0
    with store.begin() as conn:
        for chunk in _chunks(list(ids)):
            n += conn.execute(
                update(relations).where(relations.c.id.in_(chunk), relations.c.expired_at.is_(None)).values(expired_at=now)
            ).rowcount or 0
    return n


def revive_mentioned(store: Store) -> int:
    """Clear expired_at on relations mentioned (last_seen) after they expired."""
    with store.begin() as conn:
        return conn.execute(
            update(relations)
            .where(relations.c.expired_at.is_not(None), relations.c.last_seen > relations.c.expired_at)
            .values(expired_at=None)
        ).rowcount or 0


def count_expired(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(relations).where(relations.c.expired_at.is_not(None))).scalar_one()


def delete_expired_before(store: Store, cutoff: datetime) -> list[dict]:
    """Delete relations soft-expired before `cutoff`; returns what was deleted (id, names, predicate)."""
    with store.begin() as conn:
        src = entities.alias("src")
        dst = entities.alias("dst")
        rows = conn.execute(
            select(relations.c.id, src.c.name.label("src"), relations.c.predicate, dst.c.name.label("dst"))
            .join(src, src.c.id == relations.c.src_id)
            .join(dst, dst.c.id == relations.c.dst_id)
            .where(relations.c.expired_at.is_not(None), relations.c.expired_at < cutoff)
            .order_by(relations.c.id)
        ).mappings().all()
        ids = [r["id"] for r in rows]
        for chunk in _chunks(ids):
            conn.execute(delete(relations).where(relations.c.id.in_(chunk)))
    return [dict(r) for r in rows]


def delete_orphans(store: Store, created_before: datetime) -> list[dict]:
    """Delete entities with no relation and no fact naming them (subject or object, any case),
    last updated before `created_before`; their entity embeddings go too. Returns (id, name)."""
    with store.begin() as conn:
        linked = select(relations.c.src_id).union(select(relations.c.dst_id)).subquery()
        candidates = conn.execute(
            select(entities.c.id, entities.c.name, entities.c.aliases)
            .where(entities.c.id.not_in(select(linked.c[0])), entities.c.updated_at < created_before)
            .order_by(entities.c.id)
        ).mappings().all()
        if not candidates:
            return []
        named = {
            (v or "").strip().lower()
            for s, o in conn.execute(select(facts.c.subject, facts.c.object))
            for v in (s, o)
        }
        orphans = [
            dict(id=c["id"], name=c["name"])
            for c in candidates
            if not any(n.strip().lower() in named for n in [c["name"], *(c["aliases"] or [])])
        ]
        ids = [o["id"] for o in orphans]
        for chunk in _chunks(ids):
            conn.execute(delete(embeddings).where(embeddings.c.item_kind == "entity", embeddings.c.item_id.in_(chunk)))
            conn.execute(delete(entities).where(entities.c.id.in_(chunk)))
    return orphans


# -- co-occurrence -----------------------------------------------------------------------------


def mention_sources(store: Store) -> list[tuple[int, int, list[int]]]:
    """(src_id, dst_id, source_message_ids) of explicit current relations."""
    with store.connect() as conn:
        rows = conn.execute(
            select(relations.c.src_id, relations.c.dst_id, relations.c.source_message_ids).where(
                relations.c.inferred.is_(False), relations.c.invalidated_at.is_(None)
            )
        )
        return [(r[0], r[1], list(r[2] or [])) for r in rows]


def message_sessions(store: Store, ids: Iterable[int]) -> dict[int, tuple[str, datetime]]:
    """message id -> (session, created_at)."""
    ids = sorted(set(ids))
    out: dict[int, tuple[str, datetime]] = {}
    with store.connect() as conn:
        for chunk in _chunks(ids):
            for mid, session, created in conn.execute(
                select(messages.c.id, messages.c.session, messages.c.created_at).where(messages.c.id.in_(chunk))
            ):
                out[mid] = (session, created)
    return out


def explicit_pairs(store: Store) -> set[tuple[int, int]]:
    """Unordered entity pairs already linked by an explicit relation."""
    with store.connect() as conn:
        rows = conn.execute(select(relations.c.src_id, relations.c.dst_id).where(relations.c.inferred.is_(False)))
        return {(min(a, b), max(a, b)) for a, b in rows}


def inferred_pairs(store: Store) -> set[tuple[int, int]]:
    """(src, dst) of the inferred co-occurrence edges already stored."""
    with store.connect() as conn:
        rows = conn.execute(
            select(relations.c.src_id, relations.c.dst_id).where(relations.c.predicate == COOCCURS, relations.c.inferred.is_(True))
        )
        return {(a, b) for a, b in rows}


def upsert_cooccurrence(store: Store, edges: Sequence[dict]) -> tuple[int, int]:
    """Write inferred co-occurrence edges keyed by (src, dst): insert new ones, refresh changed ones.
    Returns (inserted, updated); an unchanged edge is not rewritten."""
    inserted = updated = 0
    with store.begin() as conn:
        existing = {
            (r.src_id, r.dst_id): r
            for r in conn.execute(
                select(relations).where(relations.c.predicate == COOCCURS, relations.c.inferred.is_(True))
            )
        }
        new_rows = []
        for e in edges:
            cur = existing.get((e["src_id"], e["dst_id"]))
            if cur is None:
                new_rows.append(
                    dict(
                        src_id=e["src_id"], predicate=COOCCURS, dst_id=e["dst_id"], weight=e["weight"],
                        confidence=e["confidence"], first_seen=e["first_seen"], last_seen=e["last_seen"],
                        valid_from=e["first_seen"], invalidated_at=None, expired_at=None, inferred=True,
                        source_message_ids=e["source_message_ids"], source_fact_ids=[],
                    )
                )
                continue
            changed = (
                cur.weight != e["weight"]
                or cur.last_seen != e["last_seen"]
                or list(cur.source_message_ids or []) != e["source_message_ids"]
            )
            if changed:
                values = dict(
                    weight=e["weight"], confidence=e["confidence"], last_seen=e["last_seen"],
                    source_message_ids=e["source_message_ids"],
                )
                if cur.expired_at is not None and e["last_seen"] > cur.expired_at:
                    values["expired_at"] = None  # mentioned together again: revive
                conn.execute(update(relations).where(relations.c.id == cur.id).values(**values))
                updated += 1
        if new_rows:
            conn.execute(insert(relations), new_rows)
            inserted = len(new_rows)
    return inserted, updated
