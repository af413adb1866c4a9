"""Opening the store: engine creation for SQLite or PostgreSQL, migrations applied on first use.

`Store` is the handle every engine function takes; SQL lives in the sibling modules that own
each table. Dialect-aware upsert helpers live here so those modules stay portable.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url

from background_pipelines.config import Settings, mask_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class StoreError(RuntimeError):
    """The store cannot be opened or migrated; the message names the (masked) URL."""


@dataclass(frozen=True, eq=False)
class Store:
    engine: Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def safe_url(self) -> str:
        return mask_url(self.engine.url.render_as_string(hide_password=False))

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)})"

    def begin(self):
        """A transaction: `with store.begin() as conn:`."""
        return self.engine.begin()

    def connect(self):
        return self.engine.connect()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets sensors read while a run writes; foreign keys for ON DELETE CASCADE.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def first_line(exc: BaseException) -> str:
    """The first line of a driver error: no SQL, no bound parameters (they may hold message text)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(getattr(exc, 'orig', None) or exc).__name__}: {text.splitlines()[0] if text else ''}"


def make_engine(url: str) -> Engine:
    """An engine for `url`; raises StoreError (URL masked) when the URL is not one we can use."""
    try:
        return _make_engine(url)
    except Exception as exc:
        raise StoreError(f"cannot use the store URL {mask_url(url)}: {first_line(exc)}") from None


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _alembic_config(connection: Connection):
    from alembic.config import Config as AlembicConfig  # alembic is imported when a store is first opened

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The head revision(s) of the migration scripts, comma-joined and sorted."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ",".join(sorted(ScriptDirectory.from_config(cfg).get_heads()))


def current_revision(engine: Engine) -> str | None:
    """The store's applied revision(s), comma-joined and sorted; None for an empty store. Raises
    StoreError naming the (masked) URL when the store cannot be reached."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    except Exception as exc:
        raise StoreError(
            f"cannot open the store at {mask_url(engine.url.render_as_string(hide_password=False))}: {first_line(exc)}"
        ) from None
    return ",".join(sorted(heads)) or None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations up to `revision` (idempotent)."""
    from alembic import command

    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
    except Exception as exc:  # the raw error may carry the URL with its password
        raise StoreError(
            f"migrating the store at {mask_url(str(engine.url.render_as_string(hide_password=False)))} "
            f"failed: {first_line(exc)}"
        ) from None


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open the store at `url` (default: from the environment), migrating it on first use."""
    url = url or Settings.from_env().database_url
    engine = make_engine(url)
    if migrate:
        key = engine.url.render_as_string(hide_password=False)
        with _migrate_lock:
            if key not in _migrated:
                if current_revision(engine) != head_revision():
                    try:
                        upgrade(engine)
                    except StoreError:
                        # Another process may have migrated the same fresh store at the same
                        # moment; its result is as good as ours.
                        if current_revision(engine) != head_revision():
                            raise
                _migrated.add(key)
    return Store(engine)


# -- dialect-aware writes ----------------------------------------------------------------------


def lock_keys(conn: Connection, keys: Iterable[str]) -> None:
    """Hold transaction-scoped locks on `keys` until commit, taken in one global (sorted) order so waits
    never form a cycle. PostgreSQL: advisory locks; SQLite: nothing (its single writer serialises)."""
    if conn.dialect.name != "postgresql":
        return
    ids = {int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big", signed=True) for k in keys}
    for k in sorted(ids):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": k})


@contextmanager
def locked_transaction(store: "Store", keys: Iterable[str]) -> Iterator[Connection]:
    """A transaction holding the locks of `keys` (lock_keys) from its start: two runs writing under one
    key (two days in parallel, a retry, a second worker) take turns. SQLite: BEGIN IMMEDIATE (one
    writer anyway; taking it first avoids a read-then-upgrade SQLITE_BUSY)."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
            lock_keys(conn, keys)
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _insert(conn: Connection, table: Table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict], index_elements: Iterable[str] | None = None) -> int:
    """Insert rows, silently keeping existing ones on a unique conflict; returns rows inserted.

    Counted by RETURNING the primary key: psycopg reports rowcount -1 for an executemany of
    ON CONFLICT DO NOTHING, which callers read as "nothing written" (`> 0`) or "written" (truthy)."""
    if not rows:
        return 0
    stmt = _insert(conn, table).on_conflict_do_nothing(
        index_elements=list(index_elements) if index_elements else None
    )
    return len(conn.execute(stmt.returning(*table.primary_key.columns), list(rows)).all())


def insert_one_ignore(conn: Connection, table: Table, row: dict, index_elements: Sequence[str]) -> int | None:
    """Insert one row unless it conflicts on `index_elements`: the new row's id, or None when one existed.
    (RETURNING, not rowcount: psycopg reports rowcount -1 for these inserts, which reads as "inserted".)"""
    stmt = _insert(conn, table).values(**row).on_conflict_do_nothing(index_elements=list(index_elements)).returning(table.c.id)
    found = conn.execute(stmt).first()
    return int(found[0]) if found else None


def upsert(conn: Connection, table: Table, rows: Sequence[dict], keys: Sequence[str], update: Sequence[str]) -> None:
    """Insert rows, overwriting the `update` columns of rows that already exist by `keys`."""
    if not rows:
        return
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in update}
    )
    conn.execute(stmt, list(rows))
