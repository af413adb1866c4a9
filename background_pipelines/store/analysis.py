"""SQL for analysis runs: the messages of a window, the run rows (status, progress, failure) and the
proposals each batch made."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select, update

from background_pipelines.store.engine import Store, insert_ignore
from background_pipelines.store.schema import analysis_proposals, analysis_runs, messages


def messages_between(store: Store, start: datetime, end: datetime) -> list[dict]:
    """Messages of users and characters (not system) created in [start, end), oldest first."""
    q = (
        select(messages.c.id, messages.c.author, messages.c.author_name, messages.c.author_kind, messages.c.channel,
               messages.c.text, messages.c.created_at)
        .where(messages.c.created_at >= start, messages.c.created_at < end, messages.c.role != "system")
        .order_by(messages.c.created_at, messages.c.id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def start_run(store: Store, row: dict) -> dict:
    """The analysis row of `row["run_id"]`, created if new (a retried run resumes it)."""
    with store.begin() as conn:
        insert_ignore(conn, analysis_runs, [row], ["run_id"])
        conn.execute(update(analysis_runs).where(analysis_runs.c.run_id == row["run_id"]).values(status="running", error=None, finished_at=None))
        return dict(conn.execute(select(analysis_runs).where(analysis_runs.c.run_id == row["run_id"])).first()._mapping)


def update_run(store: Store, analysis_id: int, **values) -> None:
    with store.begin() as conn:
        conn.execute(update(analysis_runs).where(analysis_runs.c.id == analysis_id).values(**values))


def save_proposals(conn, rows: Sequence[dict]) -> None:
    insert_ignore(conn, analysis_proposals, rows, ["analysis_id", "batch", "title"])


def proposals_of(store: Store, analysis_id: int) -> list[dict]:
    q = select(analysis_proposals).where(analysis_proposals.c.analysis_id == analysis_id).order_by(analysis_proposals.c.batch, analysis_proposals.c.id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def count_proposals(store: Store, analysis_id: int) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(analysis_proposals).where(analysis_proposals.c.analysis_id == analysis_id)).scalar_one()


def run_row(store: Store, run_id: str) -> dict | None:
    with store.connect() as conn:
        r = conn.execute(select(analysis_runs).where(analysis_runs.c.run_id == run_id)).first()
        return dict(r._mapping) if r else None
