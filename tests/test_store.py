"""The store: migrations on first use, idempotent message inserts, the processing ledger."""

from datetime import datetime, timezone

from sqlalchemy import func, select

from background_pipelines.store import ledger, open_store
from background_pipelines.store.engine import current_revision, head_revision
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import messages, users


def _row(i, **kw):
    base = dict(platform="test", external_id=str(i), channel="c1", session="s1", author="alice",
                author_kind="user", role="user", text=f"hello {i}", created_at=datetime(2026, 11, 1, 12, i, tzinfo=timezone.utc))
    base.update(kw)
    return message_row(**base)


def test_open_store_applies_migrations_to_head(store):
    assert current_revision(store.engine) == head_revision()
    open_store(str(store.engine.url.render_as_string(hide_password=False)))  # second open is a no-op
    assert current_revision(store.engine) == head_revision()


def test_reinsert_adds_nothing(store):
    with store.begin() as conn:
        assert insert_message_rows(conn, [_row(i) for i in range(5)]) == 5
    with store.begin() as conn:
        assert insert_message_rows(conn, [_row(i) for i in range(7)]) == 2
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == 7
        assert conn.execute(select(users.c.name)).scalars().all() == ["test:alice"]  # the user key
        day = conn.execute(select(messages.c.day).limit(1)).scalar_one()
    assert day == "2026-11-01"


def test_ledger_todo_mark_and_version_bump(store):
    items = ["m:1", "m:2", "m:3"]
    assert ledger.todo(store, "score", "v1", items) == items
    ledger.mark(store, "score", "v1", ["m:1", "m:2"], ledger.DONE)
    ledger.mark(store, "score", "v1", ["m:3"], ledger.FAILED, error="bad answer")
    assert ledger.todo(store, "score", "v1", items) == ["m:3"]
    assert ledger.todo(store, "score", "v1", items, force=True) == items
    assert ledger.todo(store, "score", "v2", items) == items  # a new version reprocesses everything
    failed = ledger.failures(store, "score")
    assert [(f["item"], f["error"], f["attempts"]) for f in failed] == [("m:3", "bad answer", 1)]
    ledger.mark(store, "score", "v1", ["m:3"], ledger.FAILED, error="again")
    assert ledger.failures(store, "score")[0]["attempts"] == 2


def test_insert_ignore_counts_rows_inserted_on_both_back_ends(store):
    """psycopg reports rowcount -1 for an executemany of ON CONFLICT DO NOTHING: the count must come
    from the rows really written (ensure_entity's `created`, save_summary's `wrote` read it)."""
    from background_pipelines.store.engine import insert_ignore
    from background_pipelines.store.graph import ensure_entity
    from background_pipelines.store.schema import entities

    now = ledger.utcnow()
    row = lambda norm: dict(name=norm, norm=norm, type="thing", aliases=[], created_at=now, updated_at=now)  # noqa: E731
    with store.begin() as conn:
        assert insert_ignore(conn, entities, [row("a")], ["norm"]) == 1
        assert insert_ignore(conn, entities, [row("a")], ["norm"]) == 0
        assert insert_ignore(conn, entities, [row("a"), row("b"), row("c")], ["norm"]) == 2
        assert ensure_entity(conn, "D", "d", "thing")[1] is True
        assert ensure_entity(conn, "D", "d", "thing")[1] is False
