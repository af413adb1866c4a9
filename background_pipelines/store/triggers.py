"""Read-only SQL behind the sensors: rows past a cursor and the few aggregates a trigger needs.

Every query is bounded by an index (messages.id, messages.session, messages.ingested_at,
summaries.id, facts.id), so a tick costs what arrived since the last one, never the table size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import String, case, cast, func, select

from background_pipelines.store.engine import Store
from background_pipelines.store.schema import facts, ledger, messages, summaries

_CHUNK = 1000


def messages_after(store: Store, after_id: int, limit: int) -> list[dict]:
    """Up to `limit` messages with id > `after_id` (oldest first): id, day, session, author_kind, created_at."""
    q = (
        select(messages.c.id, messages.c.day, messages.c.session, messages.c.author_kind, messages.c.created_at)
        .where(messages.c.id > after_id)
        .order_by(messages.c.id)
        .limit(limit)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def has_messages_after(store: Store, after_id: int) -> bool:
    """One primary-key probe: the whole cost of a tick when nothing arrived."""
    with store.connect() as conn:
        return conn.execute(select(messages.c.id).where(messages.c.id > after_id).limit(1)).first() is not None


def groups_after(store: Store, after_id: int, up_to_id: int | None = None) -> list[dict]:
    """Messages with `after_id` < id <= `up_to_id` grouped by (session, day): count, user messages,
    max id. A range scan of the primary key: the cost follows the new rows, never the table."""
    cond = [messages.c.id > after_id] + ([messages.c.id <= up_to_id] if up_to_id is not None else [])
    q = (
        select(
            messages.c.session, messages.c.day, func.count().label("n"),
            func.sum(case((messages.c.author_kind == "user", 1), else_=0)).label("users"),
            func.max(messages.c.id).label("max_id"),
        )
        .where(*cond)
        .group_by(messages.c.session, messages.c.day)
    )
    with store.connect() as conn:
        return [dict(session=s, day=d, n=int(n), users=int(u or 0), max_id=int(m)) for s, d, n, u, m in conn.execute(q)]


def _not_finished(stage: str):
    """1 when `stage` has no done or failed ledger row for the message (a pending or missing item).
    A correlated primary-key probe per message, for the reason given in unprocessed_user_messages."""
    return (
        select(func.count())
        .where(ledger.c.stage == stage, ledger.c.item == cast(messages.c.id, String), ledger.c.status.in_(("done", "failed")))
        .correlate(messages)
        .scalar_subquery()
    ) == 0


def unfinished_messages(store: Store, stage: str, after_id: int, up_to_id: int, *, users_only: bool = False) -> int:
    """How many messages with `after_id` < id <= `up_to_id` `stage` has neither done nor failed."""
    cond = [messages.c.id > after_id, messages.c.id <= up_to_id, _not_finished(stage)]
    if users_only:
        cond.append(messages.c.author_kind == "user")
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(messages).where(*cond)).scalar_one())


def failed_items(store: Store, stage: str, items: Iterable[str]) -> set[str]:
    """The subset of `items` that `stage` recorded failed (with a reason): not stranded, not retried."""
    items = sorted(set(items))
    out: set[str] = set()
    with store.connect() as conn:
        for i in range(0, len(items), _CHUNK):
            q = select(ledger.c.item).where(ledger.c.stage == stage, ledger.c.item.in_(items[i : i + _CHUNK]), ledger.c.status == "failed")
            out.update(conn.execute(q).scalars())
    return out


def unsummarised(store: Store, sessions: Iterable[str]) -> dict[str, dict]:
    """{session: {count, max_id, day}} of messages after each session's latest summary.

    `day` is the day of the newest unsummarised message: the partition that summarises it.
    """
    sessions = sorted(set(sessions))
    out: dict[str, dict] = {}
    with store.connect() as conn:
        for i in range(0, len(sessions), _CHUNK):
            chunk = sessions[i : i + _CHUNK]
            last = (
                select(summaries.c.session, func.max(summaries.c.last_message_id).label("last_id"))
                .where(summaries.c.session.in_(chunk))
                .group_by(summaries.c.session)
                .subquery()
            )
            q = (
                select(
                    messages.c.session,
                    func.count().label("n"),
                    func.max(messages.c.id).label("max_id"),
                    func.max(messages.c.day).label("day"),
                )
                .select_from(messages.outerjoin(last, last.c.session == messages.c.session))
                .where(messages.c.session.in_(chunk), messages.c.id > func.coalesce(last.c.last_id, 0))
                .group_by(messages.c.session)
            )
            for s, n, max_id, day in conn.execute(q):
                out[s] = dict(count=int(n), max_id=int(max_id), day=day)
    return out


def unprocessed_user_messages(store: Store, since: datetime, stage: str) -> dict[str, dict]:
    """{day: {count, max_id, min_id}} of user messages ingested at/after `since` that `stage` has neither done
    nor failed (failed items are retried by the next run, but never trigger one: no retry storm).

    By ingested_at, not created_at: imported history is new work whatever its message time
    (ix_messages_ingested_at bounds the scan). Ledger items are message ids as strings (the
    message-level stages' convention). The ledger test is a correlated scalar subquery on purpose: a
    primary-key probe per message of the window, where NOT EXISTS lets PostgreSQL plan a hash
    anti-join over the whole ledger (cost growing with history).
    """
    q = (
        select(messages.c.day, func.count(), func.max(messages.c.id), func.min(messages.c.id))
        .where(messages.c.ingested_at >= since, messages.c.author_kind == "user", _not_finished(stage))
        .group_by(messages.c.day)
    )
    with store.connect() as conn:
        return {d: dict(count=int(n), max_id=int(m), min_id=int(lo)) for d, n, m, lo in conn.execute(q)}


def summaries_after(store: Store, after_id: int, limit: int) -> list[dict]:
    """Up to `limit` summaries with id > `after_id` (oldest first): id, day, created_at."""
    q = (
        select(summaries.c.id, summaries.c.day, summaries.c.created_at)
        .where(summaries.c.id > after_id)
        .order_by(summaries.c.id)
        .limit(limit)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def facts_after(store: Store, after_id: int, limit: int) -> list[dict]:
    """Up to `limit` facts with id > `after_id` (oldest first): id, day, created_at."""
    q = select(facts.c.id, facts.c.day, facts.c.created_at).where(facts.c.id > after_id).order_by(facts.c.id).limit(limit)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
