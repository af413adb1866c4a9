"""Read-only views over the messages table for the message-level stages: per-day data versions,
author activity, session slices and participants. Writes to messages stay in store/messages.py."""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import and_, func, select

from background_pipelines.store.engine import Store
from background_pipelines.store.schema import messages

_CHUNK = 500


def day_versions(store: Store) -> dict[str, tuple[int, int]]:
    """{day: (message count, max message id)}: changes whenever a day's messages change."""
    q = select(messages.c.day, func.count(), func.max(messages.c.id)).group_by(messages.c.day)
    with store.connect() as conn:
        return {d: (int(n), int(m)) for d, n, m in conn.execute(q)}


def author_counts(store: Store, day: str) -> dict[str, int]:
    """{author: messages written on `day`}."""
    q = select(messages.c.author, func.count()).where(messages.c.day == day).group_by(messages.c.author)
    with store.connect() as conn:
        return {a: int(n) for a, n in conn.execute(q)}


def author_counts_by_day(store: Store, days: Sequence[str]) -> dict[str, dict[str, int]]:
    """{day: {author: messages written that day}} for a range of days, in one grouped read."""
    days = sorted(set(days))
    out: dict[str, dict[str, int]] = {d: {} for d in days}
    if not days:
        return out
    q = (select(messages.c.day, messages.c.author, func.count())
         .where(messages.c.day >= days[0], messages.c.day <= days[-1]).group_by(messages.c.day, messages.c.author))
    with store.connect() as conn:
        for d, a, n in conn.execute(q):
            if d in out:
                out[d][a] = int(n)
    return out


def session_author_days(store: Store, sessions: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
    """{session: [(author, author_kind, first day they wrote in it), ...]}: the participants as of any
    day of a range (those whose first day is on or before it), in one read."""
    sessions = sorted(set(sessions))
    out: dict[str, list[tuple[str, str, str]]] = {s: [] for s in sessions}
    with store.connect() as conn:
        for i in range(0, len(sessions), _CHUNK):
            q = (select(messages.c.session, messages.c.author, messages.c.author_kind, func.min(messages.c.day))
                 .where(messages.c.session.in_(sessions[i : i + _CHUNK]))
                 .group_by(messages.c.session, messages.c.author, messages.c.author_kind)
                 .order_by(messages.c.session, messages.c.author))
            for s, a, k, d in conn.execute(q):
                out[s].append((a, k, d))
    return out


def session_authors(store: Store, sessions: Iterable[str], up_to_day: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """{session: [(author, author_kind), ...]} over the whole session (up to `up_to_day`)."""
    sessions = sorted(set(sessions))
    out: dict[str, list[tuple[str, str]]] = {s: [] for s in sessions}
    with store.connect() as conn:
        for i in range(0, len(sessions), _CHUNK):
            q = select(messages.c.session, messages.c.author, messages.c.author_kind).where(
                messages.c.session.in_(sessions[i : i + _CHUNK])
            )
            if up_to_day:
                q = q.where(messages.c.day <= up_to_day)
            for s, a, k in conn.execute(q.distinct().order_by(messages.c.session, messages.c.author)):
                out[s].append((a, k))
    return out


def sessions_messages_after(store: Store, after: dict[str, int], up_to_day: str) -> dict[str, list[dict]]:
    """{session: its messages with id > after[session] and day <= `up_to_day`, oldest first}, in bulk."""
    sessions = sorted(after)
    out: dict[str, list[dict]] = {s: [] for s in sessions}
    with store.connect() as conn:
        for i in range(0, len(sessions), _CHUNK):
            q = select(messages).where(messages.c.session.in_(sessions[i : i + _CHUNK]), messages.c.day <= up_to_day)
            for r in conn.execute(q.order_by(messages.c.created_at, messages.c.id)):
                if r.id > after[r.session]:
                    out[r.session].append(dict(r._mapping))
    return out


def session_timelines(store: Store, sessions: Iterable[str], up_to_day: str) -> dict[str, list[tuple[int, str]]]:
    """{session: [(message id, day), ...] up to `up_to_day`, oldest first}: the light columns a
    session's summary segments are planned from, in bulk."""
    sessions = sorted(set(sessions))
    out: dict[str, list[tuple[int, str]]] = {s: [] for s in sessions}
    with store.connect() as conn:
        for i in range(0, len(sessions), _CHUNK):
            q = (select(messages.c.session, messages.c.id, messages.c.day)
                 .where(messages.c.session.in_(sessions[i : i + _CHUNK]), messages.c.day <= up_to_day)
                 .order_by(messages.c.created_at, messages.c.id))
            for s, mid, d in conn.execute(q):
                out[s].append((int(mid), d))
    return out


def messages_by_ids(store: Store, ids: Sequence[int]) -> list[dict]:
    ids = sorted({int(i) for i in ids})
    rows: list[dict] = []
    with store.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            rows.extend(dict(r._mapping) for r in conn.execute(select(messages).where(messages.c.id.in_(ids[i : i + _CHUNK]))))
    return sorted(rows, key=lambda r: (r["created_at"], r["id"]))


def existing_message_ids(store: Store, ids: Iterable[int]) -> set[int]:
    ids = sorted({int(i) for i in ids})
    found: set[int] = set()
    with store.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            found.update(r[0] for r in conn.execute(select(messages.c.id).where(messages.c.id.in_(ids[i : i + _CHUNK]))))
    return found


def pair_activity(store: Store, authors: Iterable[str], up_to_day: str) -> list[tuple[str, str, int, object, object]]:
    """(session, author, messages, first created_at, last created_at) for `authors` up to `up_to_day`."""
    authors = sorted(set(authors))
    out = []
    with store.connect() as conn:
        for i in range(0, len(authors), _CHUNK):
            q = (
                select(messages.c.session, messages.c.author, func.count(), func.min(messages.c.created_at), func.max(messages.c.created_at))
                .where(and_(messages.c.author.in_(authors[i : i + _CHUNK]), messages.c.day <= up_to_day))
                .group_by(messages.c.session, messages.c.author)
            )
            out.extend(tuple(r) for r in conn.execute(q))
    return out
