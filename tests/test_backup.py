"""Backups: a backup restored into an empty store gives equal tables (every table, every row), on
SQLite (online backup API) and PostgreSQL (pg_dump), and through the table-by-table export; the
23 h freshness guard; keep-14 nightly and keep-5 snapshot rotation; passwords stay out of argv."""

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from background_pipelines.backup import BackupError, backup_store, derived_tables, pg_command, restore_store
from background_pipelines.graph_upkeep import resolve_entities
from background_pipelines.store import ledger
from background_pipelines.store.backups import list_backups
from background_pipelines.store.messages import insert_message_rows, message_row
from graph_upkeep_data import build_graph

NOW = datetime(2026, 11, 22, 3, 0, 0)


def _fill(store) -> None:
    with store.begin() as conn:
        insert_message_rows(conn, [
            message_row(platform="t", external_id=str(i), channel="c", session="s1", author="alice", author_kind="user",
                        role="user", text=f"hé {i} \u2603", created_at=datetime(2026, 11, 1, 12, i, 5, 250000))
            for i in range(5)
        ])
    build_graph(store)  # entities, relations (JSON lists, booleans), an embedding (bytes)
    resolve_entities(store, None)  # entity_merges with JSON snapshots
    ledger.mark(store, "stage", "v1", ["a", "b"], ledger.FAILED, error="why")


def dump_all(url: str, *, base_only: bool = False) -> dict:
    """Every table's rows (repr of each value, sorted), alembic_version included. `base_only` leaves
    out SQLite full-text index tables and compares their row counts instead."""
    engine = create_engine(url)
    md = MetaData()
    md.reflect(bind=engine)
    derived = derived_tables(engine) if base_only else set()
    with engine.connect() as conn:
        out = {t.name: sorted(tuple(repr(v) for v in r) for r in conn.execute(select(t)))
               for t in md.sorted_tables if t.name not in derived}
        for name in sorted(derived):
            if not any(name.startswith(o + "_") for o in derived):  # the virtual table itself
                out[name] = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
    engine.dispose()
    return out


@pytest.fixture
def empty_url(db_url, tmp_path):
    """A second, empty store of the same back end: a new SQLite path or a new PostgreSQL database."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'store.db'}"
        return
    url = make_url(db_url)
    name = f"bgp_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_backup_then_restore_into_empty_store_gives_equal_tables(store, db_url, empty_url, tmp_path):
    _fill(store)
    before = dump_all(db_url)
    result = backup_store(store, tmp_path / "backups", now=NOW)
    assert result.method == ("sqlite" if store.dialect == "sqlite" else "pg_dump")
    assert Path(result.path).exists() and result.size_bytes > 0 and len(result.checksum) == 64
    restored = restore_store(Path(result.path), empty_url)
    assert restored.tables["messages"] == 5
    assert dump_all(empty_url) == before
    assert sum(len(rows) for rows in before.values()) > 20


def test_export_backup_restores_equal_tables(store, db_url, empty_url, tmp_path):
    _fill(store)
    before = dump_all(db_url, base_only=True)
    result = backup_store(store, tmp_path / "backups", method="export", now=NOW)
    assert result.method == "export" and (Path(result.path) / "manifest.json").exists()
    restore_store(Path(result.path), empty_url)
    assert dump_all(empty_url, base_only=True) == before
    if store.dialect == "postgresql":  # sequences were reset: the next insert gets a fresh id
        from background_pipelines.store import open_store
        from background_pipelines.store.schema import entities

        target = open_store(empty_url)
        with target.begin() as conn:
            new_id = conn.execute(insert(entities).values(name="Zed", norm="zed", type="person", aliases=[],
                                                          created_at=NOW, updated_at=NOW)).inserted_primary_key[0]
        target.engine.dispose()
        assert new_id > max(int(r[0]) for r in before["entities"])


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_sqlite_backup_restores_into_postgresql(store, db_url, tmp_path):
    """A SQLite store moves to PostgreSQL through its backup file (copied table by table)."""
    assert store.dialect == "postgresql"
    from background_pipelines.store import open_store

    source = open_store(f"sqlite:///{tmp_path / 'src.db'}")
    _fill(source)
    before = dump_all(f"sqlite:///{tmp_path / 'src.db'}", base_only=True)
    result = backup_store(source, tmp_path / "backups", now=NOW)
    source.engine.dispose()
    restore_store(Path(result.path), db_url)
    after = dump_all(db_url)
    for name, rows in before.items():
        if isinstance(rows, int):  # SQLite full-text tables: PostgreSQL indexes in place instead
            continue
        assert len(after[name]) == len(rows), name
    assert after["entity_merges"] and after["entities"] == before["entities"]


def test_restore_into_a_store_with_data_is_refused(store, db_url, tmp_path):
    _fill(store)
    result = backup_store(store, tmp_path / "backups", now=NOW)
    before = dump_all(db_url)
    with pytest.raises(BackupError, match=r"not empty: .*messages \(5\)"):
        restore_store(Path(result.path), db_url)
    assert dump_all(db_url) == before


def test_freshness_guard_skips_a_second_nightly_within_23_hours(store, tmp_path):
    first = backup_store(store, tmp_path / "b", now=NOW)
    soon = backup_store(store, tmp_path / "b", now=NOW + timedelta(hours=22))
    assert soon.skipped and "22.0 h old" in soon.reason and soon.path == first.path
    forced = backup_store(store, tmp_path / "b", now=NOW + timedelta(hours=22), force=True)
    later = backup_store(store, tmp_path / "b", now=NOW + timedelta(hours=46))
    assert not forced.skipped and not later.skipped
    assert len(list_backups(store, "nightly")) == 3
    snap = backup_store(store, tmp_path / "b", kind="snapshot", now=NOW + timedelta(hours=46, minutes=1))
    assert not snap.skipped  # snapshots are not guarded


def test_rotation_keeps_14_nightly_and_5_snapshots(store, tmp_path):
    paths = [backup_store(store, tmp_path / "b", now=NOW + timedelta(days=d)).path for d in range(16)]
    snaps = [backup_store(store, tmp_path / "b", kind="snapshot", now=NOW + timedelta(days=20, hours=h)).path for h in range(7)]
    kept = [b["path"] for b in list_backups(store, "nightly")]
    assert kept == list(reversed(paths[2:]))
    assert not Path(paths[0]).exists() and not Path(paths[1]).exists() and all(Path(p).exists() for p in paths[2:])
    assert [b["path"] for b in list_backups(store, "snapshot")] == list(reversed(snaps[2:]))
    assert sorted(os.listdir(tmp_path / "b")) == sorted(Path(p).name for p in paths[2:] + snaps[2:])


def test_password_goes_through_pgpassword_not_argv():
    argv, env = pg_command("pg_dump", "postgresql+psycopg://bgp:s3cret@db.example:5433/store?sslmode=require", "--format=custom")
    assert "s3cret" not in " ".join(argv)
    assert env["PGPASSWORD"] == "s3cret" and env["PGSSLMODE"] == "require"
    assert argv[:9] == ["pg_dump", "--host", "db.example", "--port", "5433", "--username", "bgp", "--dbname", "store"]


def test_unknown_file_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    with pytest.raises(BackupError, match="notes.txt: not a SQLite file"):
        restore_store(bogus, f"sqlite:///{tmp_path / 'x.db'}")


def test_restore_into_a_migrated_but_empty_store(store, db_url, empty_url, tmp_path):
    """`bgp db upgrade` first, restore second: the empty tables are replaced (pg_restore --clean)."""
    from background_pipelines.store import open_store

    _fill(store)
    before = dump_all(db_url)
    result = backup_store(store, tmp_path / "backups", now=NOW)
    open_store(empty_url).engine.dispose()  # migrated, no rows
    restore_store(Path(result.path), empty_url)
    assert dump_all(empty_url) == before


def test_cli_restore_forgets_again_what_was_forgotten_after_the_backup(store, db_url, empty_url, bgp_env, tmp_path, capsys):
    from background_pipelines.cli import main
    from background_pipelines.config import Settings
    from background_pipelines.forget import forget
    from background_pipelines.store import open_store
    from background_pipelines.store.schema import messages

    _fill(store)
    result = backup_store(store, tmp_path / "backups", now=NOW)
    forget(store, user="alice", home=Settings.from_env().home)  # after the backup: logged in BGP_HOME too
    assert main(["restore", result.path, "--into", empty_url]) == 0
    out = capsys.readouterr().out
    assert "forget log re-applied: 1 users" in out
    target = open_store(empty_url)
    with target.connect() as conn:
        assert conn.execute(select(messages.c.id).where(messages.c.author == "t:alice")).all() == []  # the user key
    target.engine.dispose()
