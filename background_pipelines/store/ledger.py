"""The processing ledger: which stage has done which item at which version.

Every asset asks `todo()` for the items it still owes and records outcomes with `mark()`; an item
is done, pending, or failed with a reason, never silently dropped. A new stage version makes every
item due again.
"""

from __future__ import annotations

import os
import re
import socket
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Sequence

from sqlalchemy import and_, func, not_, or_, select, update

from background_pipelines.store.engine import Store, insert_ignore
from background_pipelines.store.schema import ledger

DONE, PENDING, FAILED = "done", "pending", "failed"
CLAIMED = "claimed"  # a run is working on the item; others leave it alone until the lease runs out
CLAIM_LEASE = timedelta(minutes=30)
_CHUNK = 500  # items per lookup: an IN list this long stays within every driver's bound-value limit


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _chunks(items: Sequence[str], size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


@lru_cache(maxsize=4)
def _upsert_sql(paramstyle: str) -> str:
    ph = {"qmark": "?", "format": "%s", "pyformat": "%s"}[paramstyle]
    return (
        f"INSERT INTO {ledger.name} (stage, item, version, status, attempts, error, run_id, updated_at) VALUES ({', '.join([ph] * 8)}) "
        "ON CONFLICT (stage, item) DO UPDATE SET version = excluded.version, status = excluded.status, "
        f"attempts = {ledger.name}.attempts + excluded.attempts, error = excluded.error, run_id = excluded.run_id, "
        "updated_at = excluded.updated_at"
    )


@lru_cache(maxsize=16)
def _lookup_sql(paramstyle: str, n: int) -> str:
    ph = {"qmark": "?", "format": "%s", "pyformat": "%s"}[paramstyle]
    return f"SELECT item, version, status FROM {ledger.name} WHERE stage = {ph} AND item IN ({', '.join([ph] * n)})"


def done_items(store: Store, stage: str, version: str, items: Iterable[str]) -> set[str]:
    """The subset of `items` that `stage` has done at `version`."""
    items = list(dict.fromkeys(items))
    found: set[str] = set()
    with store.connect() as conn:
        style = conn.dialect.paramstyle
        for chunk in _chunks(items):
            # Look items up by the primary key (stage, item) and filter version/status here: given
            # status in the WHERE, SQLite picks ix_ledger_status and scans every done item of the stage.
            # Plain driver SQL: a range's items are hundreds of thousands, SQLAlchemy rows cost 3x.
            rows = conn.exec_driver_sql(_lookup_sql(style, len(chunk)), (stage, *chunk))
            found.update(item for item, v, st in rows if v == version and st == DONE)
    return found


def todo(store: Store, stage: str, version: str, items: Iterable[str], force: bool = False) -> list[str]:
    """`items` (order kept) that `stage` still owes at `version`; all of them when `force`."""
    items = list(dict.fromkeys(items))
    if force:
        return items
    done = done_items(store, stage, version, items)
    return [i for i in items if i not in done]


def claim(
    store: Store,
    stage: str,
    version: str,
    items: Iterable[str],
    run_id: str | None,
    *,
    force: bool = False,
    lease: timedelta = CLAIM_LEASE,
) -> list[str]:
    """`todo`, for a run that then works on the items: of those it owes, the ones no other run holds
    (claimed within `lease`), claimed for `run_id` in one transaction, so concurrent runs of one
    partition share the work instead of paying twice. A claim names its run, host and pid in the error
    column and keeps the attempts; the run's `mark` replaces it, `release` returns what it did not
    reach, and the claims of a process that is gone (kill -9) are free at once, any others after `lease`.
    Without a run id, plain `todo`."""
    if not run_id:
        return todo(store, stage, version, items, force=force)
    items = list(dict.fromkeys(items))
    if not items:
        return []
    now = utcnow()
    holder = _holder(run_id)
    mine: set[str] = set()
    with store.begin() as conn:  # one transaction: a concurrent claimer waits, then finds them held
        for chunk in _chunks(items):
            # claims whose process is gone (kill -9, a crashed run) are free at once, not after the lease
            held = conn.execute(
                select(ledger.c.item, ledger.c.error).where(
                    ledger.c.stage == stage, ledger.c.item.in_(chunk), ledger.c.status == CLAIMED,
                    ledger.c.run_id != run_id, ledger.c.updated_at >= now - lease,
                )
            ).all()
            orphaned = [i for i, e in held if _holder_gone(e)]
            free = or_(ledger.c.status != CLAIMED, ledger.c.run_id == run_id, ledger.c.updated_at < now - lease,
                       ledger.c.item.in_(orphaned))
            owed = free if force else and_(free, not_(and_(ledger.c.status == DONE, ledger.c.version == version)))
            conn.execute(
                update(ledger)
                .where(ledger.c.stage == stage, ledger.c.item.in_(chunk), owed)
                .values(status=CLAIMED, run_id=run_id, updated_at=now, error=holder)
            )
            insert_ignore(conn, ledger, [
                dict(stage=stage, item=i, version=version, status=CLAIMED, attempts=0, error=holder, run_id=run_id, updated_at=now)
                for i in chunk
            ], ["stage", "item"])
            mine.update(conn.execute(
                select(ledger.c.item).where(ledger.c.stage == stage, ledger.c.item.in_(chunk), ledger.c.status == CLAIMED,
                                            ledger.c.run_id == run_id)
            ).scalars())
    return [i for i in items if i in mine]


_HOLDER = re.compile(r"^claimed by run \S+ on (?P<host>\S+) pid (?P<pid>\d+)")


def _holder(run_id: str) -> str:
    """Who holds a claim, kept in the error column while the item is claimed (a person reads it too)."""
    return f"claimed by run {run_id} on {socket.gethostname()} pid {os.getpid()}"


def _holder_gone(error: str | None) -> bool:
    """Whether a claim's holding process, on this host, has exited (or is a zombie)."""
    m = _HOLDER.match(error or "")
    if not m or m["host"] != socket.gethostname():
        return False  # another host's process: only its lease tells
    pid = int(m["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return False


def release(store: Store, stage: str, run_id: str | None) -> int:
    """Claims of `run_id` its stage did not settle go back to pending (owed, retried by the next run)."""
    if not run_id:
        return 0
    with store.begin() as conn:
        return conn.execute(
            update(ledger).where(ledger.c.stage == stage, ledger.c.status == CLAIMED, ledger.c.run_id == run_id)
            .values(status=PENDING, error=f"released unsettled by run {run_id}", updated_at=utcnow())
        ).rowcount or 0


def mark(
    store: Store,
    stage: str,
    version: str,
    items: Iterable[str],
    status: str,
    *,
    error: str | None = None,
    run_id: str | None = None,
    conn=None,
) -> int:
    """Record `status` for `items`; failures count attempts. Pass `conn` to join a caller's transaction."""
    if status not in (DONE, PENDING, FAILED):
        raise ValueError(f"ledger status must be done, pending or failed, not {status!r}")
    items = list(dict.fromkeys(items))
    if not items:
        return 0
    now = utcnow()

    inc = 0 if status == PENDING else 1
    err = (error or "")[:2000] or None

    def _write(c) -> None:
        # One INSERT .. ON CONFLICT statement executed over all items (the driver's executemany);
        # attempts accumulate in SQL, so nothing is read first.
        dialect = c.dialect
        bind = ledger.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
        at = bind(now) if bind else now
        rows = [(stage, item, version, status, inc, err, run_id, at) for item in items]
        c.exec_driver_sql(_upsert_sql(dialect.paramstyle), rows)

    if conn is not None:
        _write(conn)
    else:
        with store.begin() as c:
            _write(c)
    return len(items)


def failures(store: Store, stage: str) -> list[dict]:
    """Failed items of `stage` with their reasons, newest first."""
    with store.connect() as conn:
        rows = conn.execute(
            select(ledger).where(ledger.c.stage == stage, ledger.c.status == FAILED).order_by(ledger.c.updated_at.desc())
        ).mappings()
        return [dict(r) for r in rows]


def counts(store: Store, stage: str | None = None) -> dict[tuple[str, str], int]:
    """{(stage, status): count}."""
    q = select(ledger.c.stage, ledger.c.status, func.count()).group_by(ledger.c.stage, ledger.c.status)
    if stage:
        q = q.where(ledger.c.stage == stage)
    with store.connect() as conn:
        return {(s, st): n for s, st, n in conn.execute(q)}


__all__ = ["DONE", "PENDING", "FAILED", "CLAIMED", "todo", "claim", "release", "done_items", "mark", "failures", "counts", "utcnow"]
