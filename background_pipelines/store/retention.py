"""Retention SQL for the periodic cleanup: which old ledger and cache rows may go without effect.

Kept apart from ledger.py on purpose: `done` rows at a stage's current version are what keeps an
item from being processed again, so only rows that cannot change what is due are deleted here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, select

from background_pipelines.store.engine import Store
from background_pipelines.store.schema import ledger, llm_cache


def purge_llm_cache(store: Store, older_than: datetime) -> int:
    """Delete cached LLM answers stored before `older_than`; a miss only costs a new call."""
    with store.begin() as conn:
        return conn.execute(delete(llm_cache).where(llm_cache.c.created_at < older_than)).rowcount or 0


def current_versions(store: Store) -> dict[str, str]:
    """{stage: the version of its most recently written ledger row}: the code version now running."""
    latest = select(ledger.c.stage, func.max(ledger.c.updated_at).label("at")).group_by(ledger.c.stage).subquery()
    q = select(ledger.c.stage, ledger.c.version).join(
        latest, and_(latest.c.stage == ledger.c.stage, latest.c.at == ledger.c.updated_at)
    )
    out: dict[str, str] = {}
    with store.connect() as conn:
        for stage, version in conn.execute(q):
            out.setdefault(stage, version)
    return out


def purge_superseded_ledger(store: Store, older_than: datetime, current: dict[str, str]) -> int:
    """Delete ledger rows written before `older_than` by a version other than their stage's current one.

    `todo()` only counts rows at the current version as done, so such a row never keeps an item from
    being due: removing it changes no decision. Rows at the current version (done, pending, failed
    with their reasons) always stay.
    """
    deleted = 0
    with store.begin() as conn:
        for stage, version in sorted(current.items()):
            deleted += conn.execute(
                delete(ledger).where(ledger.c.stage == stage, ledger.c.version != version, ledger.c.updated_at < older_than)
            ).rowcount or 0
    return deleted
