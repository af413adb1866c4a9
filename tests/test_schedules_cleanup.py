"""The 48-hour cleanup: old cache rows and superseded ledger rows go; nothing becomes due again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from background_pipelines.cleanup import run_cleanup
from background_pipelines.cli import main as bgp
from background_pipelines.store import ledger
from background_pipelines.store.schema import ledger as ledger_table
from background_pipelines.store.schema import llm_cache

NOW = ledger.utcnow()
OLD = NOW - timedelta(days=10)


def _age(store, stage, items, when):
    with store.begin() as conn:
        conn.execute(update(ledger_table).where(ledger_table.c.stage == stage, ledger_table.c.item.in_(items)).values(updated_at=when))


def _cache(store, key, created_at):
    with store.begin() as conn:
        conn.execute(llm_cache.insert().values(key=key, model="m", task="t", response="{}", prompt_tokens=1,
                                               completion_tokens=1, created_at=created_at))


def _count(store, table):
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_cleanup_never_makes_an_item_due_again(store):
    items = [str(i) for i in range(1, 7)]
    ledger.mark(store, "score", "v1", ["1", "2"], ledger.DONE)  # old version, old: superseded
    ledger.mark(store, "score", "v1", ["3"], ledger.FAILED, error="old failure")  # old version, old
    _age(store, "score", ["1", "2", "3"], OLD)
    ledger.mark(store, "score", "v2", ["4"], ledger.DONE)  # current version, old: keeps 4 from reprocessing
    _age(store, "score", ["4"], OLD)
    ledger.mark(store, "score", "v2", ["5"], ledger.FAILED, error="budget")  # current version, recent
    ledger.mark(store, "score", "v2", ["6"], ledger.DONE)  # current version, recent (sets the current version)
    due_before = ledger.todo(store, "score", "v2", items)

    result = run_cleanup(store, 7)

    assert result.ledger_deleted == 3
    assert ledger.todo(store, "score", "v2", items) == due_before == ["1", "2", "3", "5"]
    assert [f["item"] for f in ledger.failures(store, "score")] == ["5"]  # the current failure keeps its reason
    assert run_cleanup(store, 7).ledger_deleted == 0  # idempotent


def test_cleanup_drops_only_old_cache_rows(store):
    _cache(store, "old", OLD)
    _cache(store, "fresh", NOW - timedelta(days=1))
    assert run_cleanup(store, 7).llm_cache_deleted == 1
    with store.connect() as conn:
        assert conn.execute(select(llm_cache.c.key)).scalars().all() == ["fresh"]


def test_cleanup_rejects_a_retention_under_a_day(store):
    with pytest.raises(ValueError, match="older_than_days=0"):
        run_cleanup(store, 0)


def test_bgp_cleanup_command(bgp_env, store, capsys):
    _cache(store, "old", OLD)
    assert bgp(["cleanup", "--days", "7"]) == 0
    out = capsys.readouterr().out
    assert '"llm_cache_deleted": 1' in out and _count(store, llm_cache) == 0
