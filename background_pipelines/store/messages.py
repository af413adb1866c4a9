"""SQL for the messages, users and characters tables: idempotent inserts and the reads assets need."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from itertools import chain
from typing import Iterable, Sequence

from sqlalchemy import func, select

from background_pipelines.store import users as users_store
from background_pipelines.store.engine import Store, upsert
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import characters, messages, users

AUTHOR_KINDS = ("user", "character")
ROLES = ("user", "assistant", "system")


def to_utc_naive(value: datetime) -> datetime:
    """Store times as naive UTC; a naive input is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def message_row(
    *,
    platform: str,
    external_id: str,
    channel: str,
    session: str,
    author: str,
    author_kind: str,
    role: str,
    text: str,
    created_at: datetime,
    ingested_at: datetime | None = None,
    author_id: str | None = None,
) -> dict:
    """A message row; a user author is stored as its key "platform:author_id" (author_id defaults to
    the author name), the name itself as author_name."""
    created = to_utc_naive(created_at)
    return dict(
        platform=platform,
        external_id=str(external_id),
        channel=channel,
        session=session,
        author=f"{platform}:{author_id if author_id is not None else author}" if author_kind == "user" else author,
        author_name=author,
        author_kind=author_kind,
        role=role,
        text=text,
        created_at=created,
        day=created.strftime("%Y-%m-%d"),
        ingested_at=ingested_at or utcnow(),
    )


MESSAGE_COLUMNS = (
    "platform", "external_id", "channel", "session", "author", "author_kind", "role", "text",
    "created_at", "day", "ingested_at", "author_name",
)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_INGESTED_AT = MESSAGE_COLUMNS.index("ingested_at")
_ROWS_PER_STATEMENT = 1000  # 11,000 parameters: under SQLite's 32,766 and PostgreSQL's 65,535


_PROBE = datetime(2026, 1, 2, 3, 4, 5, 67)


def _fast_bind(process):
    """SQLite's DateTime bind processor, replaced by isoformat when that gives the very same text
    (checked here, so the stored format can never drift from what SQLAlchemy binds in queries)."""
    def iso(value):
        return value.isoformat(" ", "microseconds") if value is not None else None

    try:
        same = process(_PROBE) == iso(_PROBE) and process(_PROBE.replace(microsecond=0)) == iso(_PROBE.replace(microsecond=0))
    except Exception:
        same = False
    return iso if same else process


@lru_cache(maxsize=16)
def _insert_ignore_sql(paramstyle: str, nrows: int) -> str:
    ph = _PLACEHOLDERS.get(paramstyle)
    if ph is None:
        raise RuntimeError(f"unsupported DB-API paramstyle {paramstyle!r}")
    row = "(" + ", ".join([ph] * len(MESSAGE_COLUMNS)) + ")"
    return (
        f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) VALUES {', '.join([row] * nrows)} "
        "ON CONFLICT (platform, external_id) DO NOTHING"
    )


def _bound(values: Sequence[tuple], procs: list) -> list[tuple]:
    """Apply the dialect's bind processors (e.g. SQLite DateTime -> the exact text SQLAlchemy binds
    in queries, so comparisons on created_at keep working)."""
    memo: dict = {}  # ingested_at repeats across a batch: format each value once
    out = []
    for v in values:
        v = list(v)
        for i, p in procs:
            if i == _INGESTED_AT:
                x = v[i]
                v[i] = memo[x] if x in memo else memo.setdefault(x, p(x))
            else:
                v[i] = p(v[i])
        out.append(v)
    return out


def insert_message_values(conn, values: Sequence[tuple]) -> int:
    """Insert message tuples (in MESSAGE_COLUMNS order), skipping (platform, external_id) already
    stored, and register user authors. Returns how many rows were new. Cost grows with the batch,
    never with the table; call it inside the caller's transaction."""
    if not values:
        return 0
    # Inserted rows are counted by the driver's rowcount (exact on sqlite3 and psycopg): no RETURNING
    # (3x slower on PostgreSQL) and no count(*) over the table. SQLite gets multi-row statements of
    # 1,000 rows, since its FTS5 triggers flush once per statement; psycopg's pipelined executemany
    # is the fastest path on PostgreSQL.
    dialect = conn.dialect
    procs = [(i, _fast_bind(p)) for i, c in enumerate(MESSAGE_COLUMNS)
             if (p := messages.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    rows = _bound(values, procs) if procs else values
    if dialect.name != "sqlite":
        inserted = conn.exec_driver_sql(_insert_ignore_sql(dialect.paramstyle, 1), list(rows)).rowcount
    else:
        inserted = 0
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            params = tuple(chain.from_iterable(chunk))
            inserted += conn.exec_driver_sql(_insert_ignore_sql(dialect.paramstyle, len(chunk)), params).rowcount
    _register_users(conn, values)
    return inserted


def _register_users(conn, values: Sequence[tuple]) -> None:
    """Accounts of the batch's user authors: first/newest time, the newest display name, every name."""
    seen: dict[str, list] = {}  # key -> [platform, platform user id, newest name, first seen, newest seen]
    names: dict[tuple[str, str], datetime] = {}
    for v in values:
        if v[5] != "user":  # author_kind
            continue
        key, t = v[4], v[8]
        name = v[11] or key
        platform = v[0]
        s = seen.get(key)
        if s is None:
            pid = key[len(platform) + 1 :] if key.startswith(platform + ":") else key
            seen[key] = [platform, pid, name, t, t]
        else:
            if t < s[3]:
                s[3] = t
            if t > s[4] or (t == s[4] and name > s[2]):
                s[2], s[4] = name, t
        if (key, name) not in names or t < names[(key, name)]:
            names[(key, name)] = t
    if seen:
        users_store.register_authors(conn, {k: tuple(s) for k, s in seen.items()}, utcnow())
        users_store.register_names(conn, [(k, n, t) for (k, n), t in sorted(names.items())])


# An AFTER INSERT trigger whose body is one `INSERT INTO t(cols) VALUES (expressions of new.*)`,
# like the FTS5 sync of the recall migration: it can be replayed set-based over the new rows.
_REPLAYABLE_TRIGGER = re.compile(
    r"^CREATE\s+TRIGGER\s+\S+\s+AFTER\s+INSERT\s+ON\s+\"?messages\"?\s+BEGIN\s+"
    r"(INSERT\s+INTO\s+[\w\"]+\s*\([^)]*\))\s*VALUES\s*\((.*)\);\s*END$",
    re.IGNORECASE | re.DOTALL,
)


@contextmanager
def bulk_insert(conn):
    """Inside one transaction, make large message imports cheaper. On SQLite, replayable per-row
    AFTER INSERT triggers (the FTS5 sync: ~15 us a row, most of an import's time) are dropped and,
    on exit, replayed once over the new rows and re-created. SQLite DDL is transactional: other
    connections never see the trigger missing, and a rollback restores it. Elsewhere a no-op."""
    if conn.dialect.name != "sqlite":
        yield
        return
    # pysqlite opens its transaction only before DML: open it now so the DDL below is part of it.
    conn.exec_driver_sql("UPDATE messages SET id = id WHERE 0")
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'"
    ).all()
    deferred = [(name, sql, m) for name, sql in found if (m := _REPLAYABLE_TRIGGER.match(sql.strip()))]
    for name, _sql, _m in deferred:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM messages").scalar_one()
    yield
    for _name, sql, m in deferred:
        target, values = m.group(1), re.sub(r"\bnew\.", "m.", m.group(2), flags=re.IGNORECASE)
        conn.exec_driver_sql(f"{target} SELECT {values} FROM messages AS m WHERE m.id > ?", (before,))
        conn.exec_driver_sql(sql)


def insert_message_rows(conn, rows: Sequence[dict]) -> int:
    """Insert message rows (dicts from `message_row`); see `insert_message_values`."""
    return insert_message_values(conn, [tuple(r[c] for c in MESSAGE_COLUMNS) for r in rows])


def max_message_id(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.coalesce(func.max(messages.c.id), 0))).scalar_one()


def messages_for_day(store: Store, day: str, columns: Iterable[str] | None = None) -> list[dict]:
    """Messages of one UTC day (a partition), oldest first."""
    cols = [messages.c[c] for c in columns] if columns else [messages]
    with store.connect() as conn:
        rows = conn.execute(select(*cols).where(messages.c.day == day).order_by(messages.c.created_at, messages.c.id))
        return [dict(r._mapping) for r in rows]


def messages_for_days(store: Store, days: Sequence[str], columns: Iterable[str] | None = None) -> list[dict]:
    """Messages of the UTC days `days` (a range of partitions) in one indexed read, oldest first;
    every row carries its `day`. Plain driver SQL with the columns' own result processors: a range
    is hundreds of thousands of rows, where SQLAlchemy's row objects would cost more than the read."""
    days = sorted(set(days))
    if not days:
        return []
    names = list(dict.fromkeys([*(columns or [c.name for c in messages.columns]), "day"]))
    wanted = set(days)
    with store.connect() as conn:
        dialect = conn.dialect
        ph = _PLACEHOLDERS[dialect.paramstyle]
        procs = [(i, p) for i, c in enumerate(names)
                 if (p := messages.c[c].type.dialect_impl(dialect).result_processor(dialect, None)) is not None]
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(names)} FROM messages WHERE day >= {ph} AND day <= {ph} ORDER BY created_at, id",
            (days[0], days[-1]),
        ).fetchall()
    out = []
    di = len(names) - 1 if names[-1] == "day" else names.index("day")
    for r in rows:
        if r[di] not in wanted:  # a range with gaps: keep only the days asked for
            continue
        if procs:
            r = list(r)
            for i, p in procs:
                r[i] = p(r[i])
        out.append(dict(zip(names, r)))
    return out


def count_messages(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(messages)).scalar_one()


def upsert_characters(store: Store, rows: Sequence[dict]) -> int:
    """Create or update characters by name (persona, voice, timezone, goals)."""
    now = utcnow()
    full = [
        dict(
            name=r["name"],
            persona=r.get("persona", ""),
            voice=r.get("voice", ""),
            timezone=r.get("timezone", "UTC"),
            goals=list(r.get("goals", [])),
            created_at=now,
            updated_at=now,
        )
        for r in rows
    ]
    with store.begin() as conn:
        upsert(conn, characters, full, ["name"], ["persona", "voice", "timezone", "goals", "updated_at"])
    return len(full)


def upsert_user_names(store: Store, rows: Sequence[dict]) -> None:
    """Set display names of users (name = the user key, display_name); users not yet seen are created."""
    now = utcnow()
    full = [dict(name=r["name"], display_name=r.get("display_name") or r["name"], created_at=now, person=r["name"],
                 **_split_key(r["name"])) for r in rows]
    if full:
        with store.begin() as conn:
            upsert(conn, users, full, ["name"], ["display_name"])
            users_store.register_names(conn, [(r["name"], r["display_name"], now) for r in full])


def _split_key(key: str) -> dict:
    platform, sep, pid = key.partition(":")
    return dict(platform=platform, platform_user_id=pid) if sep and platform and pid else dict(platform=None, platform_user_id=None)


def list_characters(store: Store) -> list[dict]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(characters).order_by(characters.c.name))]
