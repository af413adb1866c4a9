"""SQL for the lore digest: character background documents (text, chunk offsets, digest cursor) and
the provenance of each lore fact (document, revision, chunk, character offsets)."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import and_, delete, func, select, update

from background_pipelines.store.engine import Store, insert_ignore
from background_pipelines.store.schema import characters, facts, lore_documents, lore_fact_sources, messages

LORE_FACT_VERSION_PREFIX = "lore-"  # facts.version of facts a lore document stated


def known_characters(store: Store) -> set[str]:
    """Characters the store knows: configured (`bgp characters`) or seen speaking in messages."""
    with store.connect() as conn:
        named = set(conn.execute(select(characters.c.name)).scalars())
        spoke = set(conn.execute(select(messages.c.author).where(messages.c.author_kind == "character").distinct()).scalars())
    return named | spoke


def document(conn, character: str, name: str) -> dict | None:
    r = conn.execute(select(lore_documents).where(lore_documents.c.character == character, lore_documents.c.name == name)).first()
    return dict(r._mapping) if r else None


def insert_document(conn, row: dict) -> int:
    insert_ignore(conn, lore_documents, [row], ["character", "name"])
    return document(conn, row["character"], row["name"])["id"]


def replace_document(conn, doc_id: int, **values) -> None:
    conn.execute(update(lore_documents).where(lore_documents.c.id == doc_id).values(**values))


def drop_contributions(conn, doc_id: int) -> list[int]:
    """Delete the provenance rows of document `doc_id`, then the lore facts no document states any
    more; returns the ids of the facts deleted."""
    cited = list(conn.execute(select(lore_fact_sources.c.fact_id).where(lore_fact_sources.c.document_id == doc_id).distinct()).scalars())
    conn.execute(delete(lore_fact_sources).where(lore_fact_sources.c.document_id == doc_id))
    if not cited:
        return []
    still = set(conn.execute(select(lore_fact_sources.c.fact_id).where(lore_fact_sources.c.fact_id.in_(cited)).distinct()).scalars())
    gone = sorted(set(cited) - still)
    if gone:
        conn.execute(delete(facts).where(facts.c.id.in_(gone), facts.c.version.like(LORE_FACT_VERSION_PREFIX + "%")))
    return gone


def documents_to_digest(store: Store, ids: Sequence[int] | None = None, *, every: bool = False) -> list[dict]:
    """Documents with chunks owed (status pending), oldest first; `every`: all of them."""
    q = select(lore_documents).order_by(lore_documents.c.id)
    if not every:
        q = q.where(lore_documents.c.status == "pending")
    if ids:
        q = q.where(lore_documents.c.id.in_(list(ids)))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def set_progress(conn, doc_id: int, cursor: int, status: str, at: datetime | None) -> None:
    values = dict(cursor=cursor, status=status)
    if at is not None:
        values["digested_at"] = at
    conn.execute(update(lore_documents).where(lore_documents.c.id == doc_id).values(**values))


def fact_ids(conn, keys: Iterable[tuple]) -> dict[tuple, int]:
    """{(user_name, kind, predicate, object, valid_from): fact id} for the given identity keys: one read
    per user over the span of their valid times (a chunk's keys lie microseconds apart)."""
    keys = set(keys)
    out: dict[tuple, int] = {}
    for user in sorted({k[0] for k in keys}):
        mine = [k for k in keys if k[0] == user]
        lo, hi = min(k[4] for k in mine), max(k[4] for k in mine)
        q = select(facts.c.id, facts.c.kind, facts.c.predicate, facts.c.object, facts.c.valid_from).where(
            facts.c.user_name == user, facts.c.valid_from >= lo, facts.c.valid_from <= hi)
        for fid, kind, pred, obj, at in conn.execute(q):
            if (user, kind, pred, obj, at) in keys:
                out[(user, kind, pred, obj, at)] = int(fid)
    return out


def insert_sources(conn, rows: Sequence[dict]) -> int:
    return insert_ignore(conn, lore_fact_sources, rows, ["document_id", "fact_id", "start"])


def list_documents(store: Store) -> list[dict]:
    """Every document with its progress and how many facts it states (no text)."""
    n = select(lore_fact_sources.c.document_id, func.count().label("facts")).group_by(lore_fact_sources.c.document_id).subquery()
    q = (
        select(lore_documents.c.id, lore_documents.c.character, lore_documents.c.name, lore_documents.c.revision,
               lore_documents.c.cursor, lore_documents.c.chunks, lore_documents.c.status, lore_documents.c.added_at,
               lore_documents.c.digested_at, func.coalesce(n.c.facts, 0).label("facts"))
        .outerjoin(n, n.c.document_id == lore_documents.c.id)
        .order_by(lore_documents.c.character, lore_documents.c.name)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def lore_facts(store: Store, document_ids: Sequence[int] | None = None) -> list[dict]:
    """Lore facts with their provenance (document, revision, chunk, offsets), in document order."""
    q = (
        select(facts.c.id, facts.c.user_name, facts.c.subject, facts.c.predicate, facts.c.object, facts.c.confidence,
               facts.c.ended, facts.c.valid_from, lore_fact_sources.c.document_id, lore_fact_sources.c.revision,
               lore_fact_sources.c.chunk, lore_fact_sources.c.start, lore_fact_sources.c.end)
        .join(lore_fact_sources, and_(lore_fact_sources.c.fact_id == facts.c.id))
        .order_by(lore_fact_sources.c.document_id, lore_fact_sources.c.start, facts.c.predicate, facts.c.object)
    )
    if document_ids:
        q = q.where(lore_fact_sources.c.document_id.in_(list(document_ids)))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def owed_summary(store: Store) -> tuple[int, str]:
    """(documents pending, a fingerprint of their state) for the sensor: a new fingerprint is new work."""
    q = select(lore_documents.c.id, lore_documents.c.revision, lore_documents.c.cursor).where(lore_documents.c.status == "pending").order_by(lore_documents.c.id)
    with store.connect() as conn:
        rows = conn.execute(q).all()
    return len(rows), ",".join(f"{i}r{r}c{c}" for i, r, c in rows)
