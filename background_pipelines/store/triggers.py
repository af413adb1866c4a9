"""Read-only SQL behind the sensors: rows past a cursor and the few aggregates a trigger needs.

Every query is bounded by an index (messages.id, messages.session, messages.created_at,
summaries.id, facts.id), so a tick costs what arrived since the last one, never the table size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import String, cast, func, select

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
    """{day: {count, max_id}} of user messages created at/after `since` that `stage` has not done.

    Ledger items are message ids as strings (the message-level stages' convention). The ledger test
    is a correlated scalar subquery on purpose: a primary-key probe per message of the window, where
    NOT EXISTS lets PostgreSQL plan a hash anti-join over the whole ledger (cost growing with history).
    """
    done = (
        select(func.count())
        .where(ledger.c.stage == stage, ledger.c.item == cast(messages.c.id, String), ledger.c.status == "done")
        .correlate(messages)
        .scalar_subquery()
    )
    q = (
        select(messages.c.day, func.count(), func.max(messages.c.id))
        .where(
            # the day bound lets SQLite range-scan ix_messages_day instead of walking the whole index
            messages.c.day >= since.strftime("%Y-%m-%d"),
            messages.c.created_at >= since,
            messages.c.author_kind == "user",
            done == 0,
        )
        .group_by(messages.c.day)
    )
    with store.connect() as conn:
        return {d: dict(count=int(n), max_id=int(m)) for d, n, m in conn.execute(q)}


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
