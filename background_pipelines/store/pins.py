"""SQL for pins: memories a character holds on to. Auto-pins (significance 3) have a soft cap per
character, past which the oldest auto-pin is unpinned; manual pins are never evicted."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import func, select, update

from background_pipelines.store.engine import insert_ignore, lock_keys
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import pins

AUTO_PIN_CAP = 8


def add_auto_pins(conn, wanted: Sequence[tuple[str, int, datetime]], cap: int = AUTO_PIN_CAP) -> tuple[int, int]:
    """Pin (character, message_id, pinned_at) as auto-pins, then unpin the oldest auto-pins of each
    touched character beyond `cap`. Returns (pins added, pins evicted). A pin that exists (even
    unpinned) is left alone, so reruns neither duplicate nor resurrect."""
    if not wanted:
        return 0, 0
    characters = sorted({c for c, _, _ in wanted})
    # two runs pinning for one character (two days in parallel, a second worker) take turns, so the
    # second sees the first's pins and the cap keeps the same newest ones whatever the order
    lock_keys(conn, (f"pins:{c}" for c in characters))
    rows = [dict(character=c, message_id=m, kind="auto", pinned_at=t, unpinned_at=None) for c, m, t in wanted]
    added = insert_ignore(conn, pins, rows, ["character", "message_id"])
    evicted = 0
    now = utcnow()
    for character in characters:
        active = conn.execute(
            select(pins.c.id)
            .where(pins.c.character == character, pins.c.kind == "auto", pins.c.unpinned_at.is_(None))
            # ties in time broken by the message, never by the row id (which follows insertion order)
            .order_by(pins.c.pinned_at.desc(), pins.c.message_id.desc())
        ).scalars().all()
        extra = active[cap:]
        if extra:
            conn.execute(update(pins).where(pins.c.id.in_(extra)).values(unpinned_at=now))
            evicted += len(extra)
    return added, evicted


def pin_manual(conn, character: str, message_id: int) -> None:
    """A person's pin: never evicted by the cap; turns an existing auto-pin into a manual one."""
    insert_ignore(conn, pins, [dict(character=character, message_id=message_id, kind="manual", pinned_at=utcnow())], ["character", "message_id"])
    conn.execute(
        update(pins).where(pins.c.character == character, pins.c.message_id == message_id).values(kind="manual", unpinned_at=None)
    )


def active_pins(conn, character: str | None = None) -> list[dict]:
    q = select(pins).where(pins.c.unpinned_at.is_(None)).order_by(pins.c.character, pins.c.pinned_at, pins.c.id)
    if character:
        q = q.where(pins.c.character == character)
    return [dict(r._mapping) for r in conn.execute(q)]


def auto_pin_counts(conn) -> dict[str, int]:
    """{character: active auto-pins}."""
    q = (
        select(pins.c.character, func.count())
        .where(pins.c.kind == "auto", pins.c.unpinned_at.is_(None))
        .group_by(pins.c.character)
    )
    return {c: int(n) for c, n in conn.execute(q)}
