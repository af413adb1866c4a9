"""Test data for the trigger tests: messages, summaries and facts written through the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from background_pipelines.store.ledger import utcnow
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import facts, summaries

_seq = iter(range(10**9))


def add_messages(store, n, *, session="s1", at: datetime, author="alice", kind="user", step=timedelta(seconds=1)) -> list[int]:
    """Insert n messages of `session` from `at` on; returns their ids."""
    rows = []
    for i in range(n):
        rows.append(message_row(
            platform="test", external_id=f"x{next(_seq)}", channel="c1", session=session, author=author,
            author_kind=kind, role="user" if kind == "user" else "assistant", text=f"message {i} in {session}",
            created_at=at + i * step,
        ))
    with store.begin() as conn:
        insert_message_rows(conn, rows)
    with store.connect() as conn:
        from sqlalchemy import select
        from background_pipelines.store.schema import messages
        ids = conn.execute(select(messages.c.id).where(messages.c.external_id.in_([r["external_id"] for r in rows]))).scalars().all()
    return sorted(ids)


def add_summary(store, session: str, first_id: int, last_id: int, day: str, created_at: datetime | None = None) -> int:
    with store.begin() as conn:
        res = conn.execute(summaries.insert().values(
            session=session, channel="c1", day=day, first_message_id=first_id, last_message_id=last_id,
            message_ids=list(range(first_id, last_id + 1)), participants=["alice"], text="a summary",
            meaningfulness=3, status="kept", backend="offline", version="v1", created_at=created_at or utcnow(),
        ))
        return res.inserted_primary_key[0]


def add_facts(store, n: int, day: str, created_at: datetime | None = None) -> list[int]:
    ids = []
    with store.begin() as conn:
        for i in range(n):
            res = conn.execute(facts.insert().values(
                user_name="alice", kind="fact", subject="alice", predicate="likes", object=f"thing {next(_seq)}",
                confidence=0.9, valid_from=datetime(2026, 11, 1), source_message_ids=[1], day=day, backend="offline",
                version="v1", created_at=created_at or utcnow(),
            ))
            ids.append(res.inserted_primary_key[0])
    return ids
