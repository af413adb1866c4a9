"""SQL of scheduled prompts (scheduled_prompts) and the claims of their fired occurrences (prompt_fires)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, delete, exists, or_, select, update

from background_pipelines.store.engine import Store, insert_one_ignore
from background_pipelines.store.schema import characters, messages, outbound_actions, prompt_fires, scheduled_prompts as prompts

ACTIVE, DONE, CANCELLED = "active", "done", "cancelled"


def character_known(store: Store, name: str) -> bool:
    """A character of the characters table, or one that has spoken in the store."""
    with store.connect() as conn:
        if conn.execute(select(characters.c.id).where(characters.c.name == name)).first():
            return True
        return conn.execute(
            select(messages.c.id).where(messages.c.author == name, messages.c.author_kind == "character").limit(1)
        ).first() is not None


def insert(store: Store, row: dict) -> int:
    with store.begin() as conn:
        return int(conn.execute(prompts.insert().values(**row)).inserted_primary_key[0])


def get(store: Store, prompt_id: int) -> dict | None:
    with store.connect() as conn:
        row = conn.execute(select(prompts).where(prompts.c.id == prompt_id)).first()
    return dict(row._mapping) if row else None


def list_prompts(store: Store, *, users: list[str] | None = None, character: str | None = None,
                 status: str | None = None, limit: int = 200) -> list[dict]:
    q = select(prompts).order_by(prompts.c.next_at.is_(None), prompts.c.next_at, prompts.c.id).limit(limit)
    if users:
        q = q.where(prompts.c.user_name.in_(users))
    if character:
        q = q.where(prompts.c.character == character)
    if status:
        q = q.where(prompts.c.status == status)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def cancel(store: Store, prompt_id: int, now: datetime) -> int:
    with store.begin() as conn:
        return conn.execute(update(prompts).where(prompts.c.id == prompt_id, prompts.c.status == ACTIVE)
                            .values(status=CANCELLED, next_at=None, updated_at=now)).rowcount or 0


def due(store: Store, now: datetime, limit: int) -> list[dict]:
    with store.connect() as conn:
        q = (select(prompts).where(prompts.c.status == ACTIVE, prompts.c.next_at <= now)
             .order_by(prompts.c.next_at, prompts.c.id).limit(limit))
        return [dict(r._mapping) for r in conn.execute(q)]


def advance(conn: Connection, prompt: dict, *, next_at: datetime | None, now: datetime) -> bool:
    """Compare-and-set: move the prompt past the occurrence it holds (`prompt["next_at"]`); False when
    another evaluation moved it first (the caller rolls back)."""
    values = dict(next_at=next_at, fired=prompts.c.fired + 1, updated_at=now)
    if next_at is None:
        values["status"] = DONE
    return bool(conn.execute(
        update(prompts).where(prompts.c.id == prompt["id"], prompts.c.status == ACTIVE, prompts.c.next_at == prompt["next_at"])
        .values(**values)
    ).rowcount)


def claim_occurrence(conn: Connection, prompt: dict, *, skipped: int, now: datetime) -> bool:
    """Insert the unique (prompt, occurrence) claim; False when it exists already."""
    return insert_one_ignore(conn, prompt_fires, dict(
        prompt_id=prompt["id"], occurrence_at=prompt["next_at"], user_name=prompt["user_name"], skipped=skipped, claimed_at=now,
    ), ["prompt_id", "occurrence_at"]) is not None


def link_action(conn: Connection, prompt_id: int, occurrence_at: datetime, action_id: int) -> None:
    conn.execute(update(prompt_fires).where(prompt_fires.c.prompt_id == prompt_id, prompt_fires.c.occurrence_at == occurrence_at)
                 .values(action_id=action_id))


def fires(store: Store, prompt_id: int | None = None) -> list[dict]:
    q = select(prompt_fires).order_by(prompt_fires.c.id)
    if prompt_id is not None:
        q = q.where(prompt_fires.c.prompt_id == prompt_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def purge_finished(conn: Connection, cutoff: datetime) -> tuple[int, int]:
    """(prompts, fires) deleted: done or cancelled prompts last changed before `cutoff` whose delivery is
    settled (no action of theirs still pending or sending), with their fires; and fires of live prompts
    older than `cutoff` (the claim guards the recent occurrences; next_at guards the old ones)."""
    unsettled = exists(
        select(prompt_fires.c.id).select_from(prompt_fires.join(outbound_actions, outbound_actions.c.id == prompt_fires.c.action_id))
        .where(prompt_fires.c.prompt_id == prompts.c.id, outbound_actions.c.status.in_(("pending", "sending")))
    )
    ids = [int(i) for i in conn.execute(
        select(prompts.c.id).where(prompts.c.status.in_((DONE, CANCELLED)), prompts.c.updated_at < cutoff, ~unsettled)
    ).scalars()]
    fires_deleted = 0
    if ids:
        fires_deleted += conn.execute(delete(prompt_fires).where(prompt_fires.c.prompt_id.in_(ids))).rowcount or 0
        conn.execute(delete(prompts).where(prompts.c.id.in_(ids)))
    settled = ~exists(select(outbound_actions.c.id).where(
        outbound_actions.c.id == prompt_fires.c.action_id, outbound_actions.c.status.in_(("pending", "sending"))))
    fires_deleted += conn.execute(delete(prompt_fires).where(
        and_(prompt_fires.c.claimed_at < cutoff, or_(prompt_fires.c.action_id.is_(None), settled)))).rowcount or 0
    return len(ids), fires_deleted
