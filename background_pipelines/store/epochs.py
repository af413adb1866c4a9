"""SQL for knowledge epochs: the facts, relations, entities and merges a character's knowledge gained
or lost in a UTC window, and the (character, day) rows that record them."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import or_, select

from background_pipelines.store.engine import Store, upsert
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import entities, entity_merges, facts, knowledge_epochs, relations

_CHUNK = 500


def facts_of_users_until(store: Store, users: Iterable[str], end: datetime) -> list[dict]:
    """Facts (kind fact) of `users` valid from before `end`, oldest first."""
    users = sorted(set(users))
    out: list[dict] = []
    with store.connect() as conn:
        for i in range(0, len(users), _CHUNK):
            q = select(facts).where(facts.c.user_name.in_(users[i:i + _CHUNK]), facts.c.kind == "fact", facts.c.valid_from < end)
            out += [dict(r._mapping) for r in conn.execute(q)]
    return sorted(out, key=lambda f: (f["valid_from"], f["id"]))


def explicit_relations(store: Store) -> list[dict]:
    """Every relation folded from facts (not inferred), read once per run: a relation's sources are a
    JSON list, so which facts it rests on is decided in Python (relations_citing)."""
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(relations).where(relations.c.inferred.is_(False)))]


def relations_citing(rels: list[dict], fact_ids: set[int]) -> list[dict]:
    """Those of `rels` whose source facts include one of `fact_ids`."""
    if not fact_ids:
        return []
    return [r for r in rels if isinstance(r["source_fact_ids"], list) and fact_ids.intersection(int(i) for i in r["source_fact_ids"])]


def entities_by_id(store: Store, ids: Iterable[int]) -> dict[int, dict]:
    ids = sorted(set(ids))
    out: dict[int, dict] = {}
    with store.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            for r in conn.execute(select(entities).where(entities.c.id.in_(ids[i:i + _CHUNK]))):
                out[r.id] = dict(r._mapping)
    return out


def merges_between(store: Store, entity_ids: set[int], start: datetime, end: datetime) -> list[dict]:
    if not entity_ids:
        return []
    q = select(entity_merges.c.id, entity_merges.c.survivor_id, entity_merges.c.merged_id, entity_merges.c.survivor_name,
               entity_merges.c.merged_name, entity_merges.c.reason).where(
        entity_merges.c.created_at >= start, entity_merges.c.created_at < end,
        or_(entity_merges.c.survivor_id.in_(sorted(entity_ids)), entity_merges.c.merged_id.in_(sorted(entity_ids))),
    ).order_by(entity_merges.c.id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def existing(store: Store, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """{(character, day): {version, material_hash}} of epochs already written."""
    keys = set(keys)
    out = {}
    with store.connect() as conn:
        for day in sorted({d for _, d in keys}):
            q = select(knowledge_epochs.c.character, knowledge_epochs.c.version, knowledge_epochs.c.material_hash).where(knowledge_epochs.c.day == day)
            for r in conn.execute(q):
                if (r.character, day) in keys:
                    out[(r.character, day)] = {"version": r.version, "material_hash": r.material_hash}
    return out


def save_epochs(conn, rows: Sequence[dict], version: str, run_id: str | None) -> None:
    now = utcnow()
    full = [{**r, "version": version, "run_id": run_id, "created_at": now, "updated_at": now} for r in rows]
    cols = [c.name for c in knowledge_epochs.columns if c.name not in ("id", "character", "day", "created_at")]
    upsert(conn, knowledge_epochs, full, ["character", "day"], cols)


def epochs(store: Store, days: Sequence[str] | None = None) -> list[dict]:
    q = select(knowledge_epochs).order_by(knowledge_epochs.c.day, knowledge_epochs.c.character)
    if days is not None:
        q = q.where(knowledge_epochs.c.day.in_(list(days)))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
