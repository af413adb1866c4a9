"""SQL for the messages, users and characters tables: idempotent inserts and the reads assets need."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy import func, select

from background_pipelines.store.engine import Store, insert_ignore, upsert
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
) -> dict:
    created = to_utc_naive(created_at)
    return dict(
        platform=platform,
        external_id=str(external_id),
        channel=channel,
        session=session,
        author=author,
        author_kind=author_kind,
        role=role,
        text=text,
        created_at=created,
        day=created.strftime("%Y-%m-%d"),
        ingested_at=ingested_at or utcnow(),
    )


def insert_message_rows(conn, rows: Sequence[dict]) -> int:
    """Insert message rows (dicts from `message_row`), skipping (platform, external_id) already
    stored; also registers user authors. Returns how many rows were new."""
    if not rows:
        return 0
    before = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    insert_ignore(conn, messages, rows, ["platform", "external_id"])
    after = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    first_seen: dict[str, datetime] = {}
    for r in rows:
        if r["author_kind"] == "user":
            t = r["created_at"]
            if r["author"] not in first_seen or t < first_seen[r["author"]]:
                first_seen[r["author"]] = t
    now = utcnow()
    insert_ignore(
        conn,
        users,
        [dict(name=a, display_name=a, first_seen=t, created_at=now) for a, t in sorted(first_seen.items())],
        ["name"],
    )
    return after - before


def max_message_id(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.coalesce(func.max(messages.c.id), 0))).scalar_one()


def messages_for_day(store: Store, day: str, columns: Iterable[str] | None = None) -> list[dict]:
    """Messages of one UTC day (a partition), oldest first."""
    cols = [messages.c[c] for c in columns] if columns else [messages]
    with store.connect() as conn:
        rows = conn.execute(select(*cols).where(messages.c.day == day).order_by(messages.c.created_at, messages.c.id))
        return [dict(r._mapping) for r in rows]


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


def list_characters(store: Store) -> list[dict]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(characters).order_by(characters.c.name))]
