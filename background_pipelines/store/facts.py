"""SQL for facts: what users said about themselves (kind fact) and how they want to be spoken to
(kind preference), each citing the messages it came from."""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import func, select

from background_pipelines.store.engine import Store, insert_ignore
from background_pipelines.store.schema import facts

_CHUNK = 500
_WORDS_STOP = frozenset("a an the my at in of to for and with as".split())


def insert_facts(conn, rows: Sequence[dict]) -> int:
    """Insert fact rows, keeping ones already stored (same user, kind, predicate, object, valid_from)."""
    n = 0
    for i in range(0, len(rows), _CHUNK):
        n += insert_ignore(conn, facts, rows[i : i + _CHUNK], ["user_name", "kind", "predicate", "object", "valid_from"])
    return n


def facts_for_day(store: Store, day: str, kind: str | None = None) -> list[dict]:
    q = select(facts).where(facts.c.day == day).order_by(facts.c.valid_from, facts.c.id)
    if kind:
        q = q.where(facts.c.kind == kind)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def facts_for_days(store: Store, days: Sequence[str], kind: str | None = None) -> list[dict]:
    """Facts of a range of days in one read, oldest valid_from first (then id)."""
    days = sorted(set(days))
    if not days:
        return []
    q = select(facts).where(facts.c.day >= days[0], facts.c.day <= days[-1]).order_by(facts.c.valid_from, facts.c.id)
    if kind:
        q = q.where(facts.c.kind == kind)
    wanted = set(days)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q) if r.day in wanted]


def facts_of_user(store: Store, user: str) -> list[dict]:
    q = select(facts).where(facts.c.user_name == user).order_by(facts.c.valid_from, facts.c.id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def count_by_day(store: Store, days: Sequence[str]) -> dict[str, int]:
    """{day: rows of that day} for a range, in one grouped read."""
    days = sorted(set(days))
    out = {d: 0 for d in days}
    if not days:
        return out
    q = select(facts.c.day, func.count()).where(facts.c.day >= days[0], facts.c.day <= days[-1]).group_by(facts.c.day)
    with store.connect() as conn:
        out.update({d: int(n) for d, n in conn.execute(q) if d in out})
    return out


def count_for_day(store: Store, day: str) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(facts).where(facts.c.day == day)).scalar_one()


def topic_tokens(store: Store, users: Iterable[str], first_day: str, last_day: str) -> dict[str, dict[str, set[str]]]:
    """{user: {day: lower-cased words of the objects of their facts of that day}} for facts of days
    `first_day`..`last_day`: what they talked about, by the day they said it."""
    users = sorted(set(users))
    out: dict[str, dict[str, set[str]]] = {u: {} for u in users}
    if first_day > last_day:
        return out
    with store.connect() as conn:
        for i in range(0, len(users), _CHUNK):
            q = select(facts.c.user_name, facts.c.day, facts.c.object).where(
                facts.c.user_name.in_(users[i : i + _CHUNK]), facts.c.kind == "fact",
                facts.c.day >= first_day, facts.c.day <= last_day,
            )
            for u, d, obj in conn.execute(q):
                out[u].setdefault(d, set()).update(w for w in obj.lower().split() if w not in _WORDS_STOP and len(w) > 2)
    return out


def all_citations(store: Store) -> list[tuple[int, list]]:
    """(fact id, source_message_ids) of every fact, for the citation check."""
    with store.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(select(facts.c.id, facts.c.source_message_ids))]


def facts_stated_in(conn, owner: str, channels: Sequence[str], *, at, limit: int, scan: int = 500) -> list[dict]:
    """`owner`'s facts (a character's, say) stated in one of `channels`: of its `scan` most recent facts
    (valid by `at`), those citing a message there, at most `limit`, newest first. A character's facts
    span all its users; only the ones of this conversation may pull up this conversation's turns."""
    from background_pipelines.store.schema import messages

    q = select(facts.c.id, facts.c.subject, facts.c.predicate, facts.c.object, facts.c.source_message_ids).where(facts.c.user_name == owner)
    if at is not None:
        q = q.where(facts.c.valid_from <= at)
    rows = [dict(r._mapping) for r in conn.execute(q.order_by(facts.c.valid_from.desc(), facts.c.id.desc()).limit(scan))]
    cited = sorted({int(x) for r in rows for x in r["source_message_ids"] or []})
    here: set[int] = set()
    for i in range(0, len(cited), _CHUNK):
        chunk = cited[i : i + _CHUNK]
        here.update(int(m) for (m,) in conn.execute(select(messages.c.id).where(messages.c.id.in_(chunk), messages.c.channel.in_(list(channels)))))
    return [r for r in rows if any(int(x) in here for x in r["source_message_ids"] or [])][:limit]
