"""SQL of the outbound actions ledger (outbound_actions): queue, claim, settle, list, purge."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import Connection, and_, delete, func, select, update

from background_pipelines.store.engine import Store, insert_one_ignore
from background_pipelines.store.schema import outbound_actions as actions

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


def queue(conn: Connection, *, dedup_key: str, kind: str, character: str | None, user_name: str | None,
          payload: dict, now: datetime) -> tuple[int, bool]:
    """(id, created): insert the action unless one with `dedup_key` exists (then its id, False)."""
    new_id = insert_one_ignore(conn, actions, dict(
        dedup_key=dedup_key, kind=kind, character=character, user_name=user_name, payload=payload, status=PENDING,
        attempts=0, next_attempt_at=now, created_at=now,
    ), ["dedup_key"])
    if new_id is not None:
        return new_id, True
    return int(conn.execute(select(actions.c.id).where(actions.c.dedup_key == dedup_key)).scalar_one()), False


def due_ids(store: Store, now: datetime, limit: int) -> list[int]:
    with store.connect() as conn:
        q = (select(actions.c.id).where(actions.c.status == PENDING, actions.c.next_attempt_at <= now)
             .order_by(actions.c.next_attempt_at, actions.c.id).limit(limit))
        return [int(i) for i in conn.execute(q).scalars()]


def due_summary(store: Store, now: datetime) -> tuple[int, int, int]:
    """(count, highest id, total attempts) of the actions due now: a cheap fingerprint for run keys."""
    with store.connect() as conn:
        row = conn.execute(
            select(func.count(), func.max(actions.c.id), func.coalesce(func.sum(actions.c.attempts), 0))
            .where(actions.c.status == PENDING, actions.c.next_attempt_at <= now)
        ).one()
    return int(row[0]), int(row[1] or 0), int(row[2] or 0)


def claim(store: Store, action_id: int, token: str, now: datetime) -> dict | None:
    """Move one pending action to `sending` for `token`; None when another deliverer has it."""
    with store.begin() as conn:
        done = conn.execute(
            update(actions).where(actions.c.id == action_id, actions.c.status == PENDING)
            .values(status=SENDING, claimed_by=token, claimed_at=now, attempts=actions.c.attempts + 1)
        ).rowcount
        if not done:
            return None
        return dict(conn.execute(select(actions).where(actions.c.id == action_id)).one()._mapping)


def settle(store: Store, action_id: int, token: str, *, status: str, error: str | None, now: datetime,
           next_attempt_at: datetime | None = None) -> None:
    values: dict = dict(status=status, last_error=error, claimed_by=None, claimed_at=None)
    if status == DELIVERED:
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    with store.begin() as conn:
        conn.execute(update(actions).where(actions.c.id == action_id, actions.c.claimed_by == token).values(**values))


def fail_stale_claims(store: Store, before: datetime, now: datetime) -> list[int]:
    """Actions left `sending` by a deliverer that died mid-request (claimed before `before`): failed with
    the reason, not resent, since the bot may have received them (at most once)."""
    with store.begin() as conn:
        ids = [int(i) for i in conn.execute(
            select(actions.c.id).where(actions.c.status == SENDING, actions.c.claimed_at < before)).scalars()]
        if ids:
            conn.execute(update(actions).where(actions.c.id.in_(ids), actions.c.status == SENDING).values(
                status=FAILED, claimed_by=None, claimed_at=None,
                last_error=f"outcome unknown: the deliverer stopped mid-request (claimed before {before:%Y-%m-%d %H:%M:%S} UTC); "
                           "not resent, so the bot never gets it twice (bgp actions retry ID sends it again)",
            ))
    return ids


def requeue(store: Store, ids: Sequence[int], now: datetime) -> int:
    """Failed actions back to pending (an operator's decision: `bgp actions retry`)."""
    with store.begin() as conn:
        return conn.execute(update(actions).where(actions.c.id.in_(list(ids)), actions.c.status == FAILED)
                            .values(status=PENDING, next_attempt_at=now, attempts=0)).rowcount or 0


def list_actions(store: Store, *, status: str | None = None, limit: int = 100) -> list[dict]:
    q = select(actions).order_by(actions.c.id.desc()).limit(limit)
    if status:
        q = q.where(actions.c.status == status)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def get(store: Store, action_id: int) -> dict | None:
    with store.connect() as conn:
        row = conn.execute(select(actions).where(actions.c.id == action_id)).first()
    return dict(row._mapping) if row else None


def purge_delivered(conn: Connection, cutoff: datetime) -> int:
    """Delivered actions older than `cutoff` (failed ones stay: they are the record of what is owed)."""
    return conn.execute(delete(actions).where(and_(actions.c.status == DELIVERED, actions.c.delivered_at < cutoff))).rowcount or 0


def diary_entries(store: Store, days: Sequence[str]) -> list[dict]:
    """The diary entries of `days` (a read of the diaries table for the diary_posts asset)."""
    from background_pipelines.store.schema import diaries

    with store.connect() as conn:
        q = (select(diaries.c.id, diaries.c.character, diaries.c.day, diaries.c.title, diaries.c.text, diaries.c.mood)
             .where(diaries.c.day.in_(list(days))).order_by(diaries.c.day, diaries.c.character))
        return [dict(r._mapping) for r in conn.execute(q)]
