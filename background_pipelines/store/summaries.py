"""SQL for summaries: session summaries with their meaningfulness, kept or discarded, each linking
the previous summary of its session, and the per-session lock their writers take."""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import func, select, text, update

from background_pipelines.store.engine import Store, insert_ignore, locked_transaction, upsert
from background_pipelines.store.schema import embeddings, summaries

_KEY = ["session", "last_message_id"]
_UPDATE = ["text", "meaningfulness", "status", "participants", "message_ids", "first_message_id", "backend", "version", "day", "channel", "previous_id"]


def last_summaries(store: Store, sessions: Sequence[str], before_day: str | None = None) -> dict[str, dict]:
    """{session: its latest summary row (highest last_message_id)}, optionally of days < `before_day`."""
    out: dict[str, dict] = {}
    sessions = sorted(set(sessions))
    with store.connect() as conn:
        for i in range(0, len(sessions), 500):
            q = select(summaries).where(summaries.c.session.in_(sessions[i : i + 500]))
            if before_day:
                q = q.where(summaries.c.day < before_day)
            for r in conn.execute(q.order_by(summaries.c.session, summaries.c.last_message_id)):
                out[r.session] = dict(r._mapping)
    return out


def summaries_of_sessions(store: Store, sessions: Iterable[str]) -> dict[str, list[dict]]:
    """{session: its summaries, oldest (lowest last_message_id) first}, in bulk."""
    sessions = sorted(set(sessions))
    out: dict[str, list[dict]] = {s: [] for s in sessions}
    with store.connect() as conn:
        for i in range(0, len(sessions), 500):
            q = select(summaries).where(summaries.c.session.in_(sessions[i : i + 500]))
            for r in conn.execute(q.order_by(summaries.c.session, summaries.c.last_message_id)):
                out[r.session].append(dict(r._mapping))
    return out


def chain_transaction(store: Store, sessions: Iterable[str]):
    """A transaction holding the chain lock of every session in `sessions`: two runs writing
    summaries of one session (two days in parallel, a retry, a second worker) take turns, so the
    relinking at the end sees every summary committed before."""
    return locked_transaction(store, (f"summary-chain:{s}" for s in sessions))


def relink_chains(conn, sessions: Iterable[str]) -> int:
    """Point each summary of `sessions` at the one before it (by last message id): the chain is a
    function of which summaries exist, not of the order they were written in. Returns links changed."""
    sessions = sorted(set(sessions))
    changed = 0
    for i in range(0, len(sessions), 500):
        q = (select(summaries.c.id, summaries.c.session, summaries.c.previous_id)
             .where(summaries.c.session.in_(sessions[i : i + 500]))
             .order_by(summaries.c.session, summaries.c.last_message_id))
        before: dict[str, int | None] = {}
        for sid, session, prev in conn.execute(q).all():
            want = before.get(session)
            if prev != want:
                conn.execute(update(summaries).where(summaries.c.id == sid).values(previous_id=want))
                changed += 1
            before[session] = sid
    return changed


def summaries_for_day(store: Store, day: str) -> list[dict]:
    with store.connect() as conn:
        q = select(summaries).where(summaries.c.day == day).order_by(summaries.c.session, summaries.c.last_message_id)
        return [dict(r._mapping) for r in conn.execute(q)]


def summaries_for_days(store: Store, days: Sequence[str]) -> list[dict]:
    """The summaries of a range of days in one read (by day, session, last message)."""
    days = sorted(set(days))
    if not days:
        return []
    wanted = set(days)
    with store.connect() as conn:
        q = (select(summaries).where(summaries.c.day >= days[0], summaries.c.day <= days[-1])
             .order_by(summaries.c.day, summaries.c.session, summaries.c.last_message_id))
        return [dict(r._mapping) for r in conn.execute(q) if r.day in wanted]


def summary_by_id(store: Store, summary_id: int) -> dict | None:
    with store.connect() as conn:
        r = conn.execute(select(summaries).where(summaries.c.id == summary_id)).first()
        return dict(r._mapping) if r else None


def save_summary(conn, row: dict, replace: bool = False) -> tuple[int, bool]:
    """Insert one summary (or overwrite it when `replace`); returns (its id, whether a row was written)."""
    if replace:
        upsert(conn, summaries, [row], _KEY, _UPDATE)
        wrote = True
    else:
        wrote = insert_ignore(conn, summaries, [row], _KEY) > 0
    sid = conn.execute(
        select(summaries.c.id).where(summaries.c.session == row["session"], summaries.c.last_message_id == row["last_message_id"])
    ).scalar_one()
    return sid, wrote


def count_by_day(store: Store, days: Sequence[str]) -> dict[str, int]:
    """{day: rows of that day} for a range, in one grouped read."""
    days = sorted(set(days))
    out = {d: 0 for d in days}
    if not days:
        return out
    q = select(summaries.c.day, func.count()).where(summaries.c.day >= days[0], summaries.c.day <= days[-1]).group_by(summaries.c.day)
    with store.connect() as conn:
        out.update({d: int(n) for d, n in conn.execute(q) if d in out})
    return out


def count_for_day(store: Store, day: str) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(summaries).where(summaries.c.day == day)).scalar_one()


def empty_kept(store: Store) -> list[int]:
    """Ids of kept summaries whose text is blank (the no-empty-summary check)."""
    with store.connect() as conn:
        q = select(summaries.c.id, summaries.c.text).where(summaries.c.status == "kept")
        return [i for i, t in conn.execute(q) if not (t or "").strip()]


def kept_without_vector(store: Store, day: str, model_id: str) -> list[tuple[int, str]]:
    """(id, text) of the day's kept summaries holding no vector of `model_id`: those an embedding
    failure (or a crash) left behind after their rows committed, embedded by the next run."""
    held = select(embeddings.c.item_id).where(embeddings.c.item_kind == "summary", embeddings.c.model == model_id)
    q = (
        select(summaries.c.id, summaries.c.text)
        .where(summaries.c.day == day, summaries.c.status == "kept", summaries.c.id.not_in(held))
        .order_by(summaries.c.id)
    )
    with store.connect() as conn:
        return [(i, t) for i, t in conn.execute(q)]


def kept_without_vector_in(store: Store, days: Sequence[str], model_id: str) -> list[tuple[int, str, str]]:
    """(id, text, day) of the kept summaries of a range of days holding no vector of `model_id`."""
    days = sorted(set(days))
    if not days:
        return []
    held = select(embeddings.c.item_id).where(embeddings.c.item_kind == "summary", embeddings.c.model == model_id)
    q = (
        select(summaries.c.id, summaries.c.text, summaries.c.day)
        .where(summaries.c.day >= days[0], summaries.c.day <= days[-1], summaries.c.status == "kept", summaries.c.id.not_in(held))
        .order_by(summaries.c.id)
    )
    wanted = set(days)
    with store.connect() as conn:
        return [(i, t, d) for i, t, d in conn.execute(q) if d in wanted]


def summary_days(store: Store, ids: Sequence[int]) -> dict[int, str]:
    """{summary id: its day}."""
    ids = sorted(set(ids))
    out: dict[int, str] = {}
    with store.connect() as conn:
        for i in range(0, len(ids), 500):
            out.update(conn.execute(select(summaries.c.id, summaries.c.day).where(summaries.c.id.in_(ids[i : i + 500]))).all())
    return out
