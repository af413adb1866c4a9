"""The span of message history in the store: where the daily partitions start (the earliest message
day, unless BGP_START_DATE overrides it) and which messages are dated where no partition can hold
them (a zero Unix timestamp in 1970, or the future), so they are reported instead of lost."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, inspect, select

from background_pipelines.config import Settings
from background_pipelines.store.engine import make_engine
from background_pipelines.store.schema import messages

# Messages dated before this are a zero or missing Unix timestamp (1970-01-01 + a few seconds or
# milliseconds read as seconds), not chat history: they get no partition and are reported.
FLOOR = "1971-01-01"

log = logging.getLogger(__name__)


def today_utc() -> str:
    return datetime.now(timezone.utc).date().isoformat()


@dataclass(frozen=True)
class HistorySpan:
    """Message days the partitions can hold (`first_day`..`last_day`) and those they cannot."""

    first_day: str | None  # earliest day on or after FLOOR holding a message
    last_day: str | None  # latest day up to today holding a message
    too_old: int  # messages dated before FLOOR
    future: int  # messages dated after today (UTC)
    too_old_ids: tuple[int, ...] = ()  # a few examples of each
    future_ids: tuple[int, ...] = ()

    @property
    def unplaceable(self) -> int:
        return self.too_old + self.future

    def report(self) -> str | None:
        """One line naming the messages no partition holds, or None when there are none."""
        parts = []
        if self.too_old:
            parts.append(f"{self.too_old} dated before {FLOOR} (a zero Unix timestamp; e.g. ids {list(self.too_old_ids)})")
        if self.future:
            parts.append(f"{self.future} dated after today (UTC; e.g. ids {list(self.future_ids)})")
        if not parts:
            return None
        return "messages outside every day partition, not processed: " + "; ".join(parts) + ". Fix their created_at and re-import."


def history_span(engine, today: str | None = None) -> HistorySpan:
    """Read the span with a few indexed queries on messages.day (an engine or a Store)."""
    engine = getattr(engine, "engine", engine)
    today = today or today_utc()
    day = messages.c.day
    with engine.connect() as conn:
        if not inspect(conn).has_table("messages"):
            return HistorySpan(None, None, 0, 0)
        first, last = conn.execute(select(func.min(day), func.max(day)).where(day >= FLOOR, day <= today)).one()
        too_old = conn.execute(select(func.count()).where(day < FLOOR)).scalar_one()
        future = conn.execute(select(func.count()).where(day > today)).scalar_one()
        old_ids = conn.execute(select(messages.c.id).where(day < FLOOR).order_by(messages.c.id).limit(5)).scalars().all() if too_old else []
        fut_ids = conn.execute(select(messages.c.id).where(day > today).order_by(messages.c.id).limit(5)).scalars().all() if future else []
    return HistorySpan(first, last, int(too_old), int(future), tuple(old_ids), tuple(fut_ids))


def partition_start(settings: Settings, today: str | None = None) -> str:
    """The first day partition: BGP_START_DATE when set, else the store's earliest message day,
    else today (an empty store). Read once when the code location loads."""
    if settings.start_date:
        return settings.start_date
    today = today or today_utc()
    engine = make_engine(settings.database_url)
    try:
        span = history_span(engine, today)
    except Exception as exc:  # an unreachable store must not stop the code location from loading
        log.warning("partitions start today: the store could not be read (%s)", type(exc).__name__)
        return today
    finally:
        engine.dispose()
    if span.report():
        log.warning(span.report())
    return span.first_day or today


def resolve_start(settings: Settings, today: str | None = None) -> Settings:
    """`settings` with start_date fixed, so every definition built from it shares one partitioning."""
    if settings.start_date:
        return settings
    return dataclasses.replace(settings, start_date=partition_start(settings, today))


def days_between(first: str, last: str) -> list[str]:
    """Every UTC day from `first` to `last`, inclusive."""
    d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
    return [(d0 + timedelta(days=i)).isoformat() for i in range((d1 - d0).days + 1)]
