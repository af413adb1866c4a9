"""A character's "day": the calendar day of its own timezone, as a half-open UTC window.

Partition keys are local dates: partition 2026-10-05 of a character in Asia/Tokyo covers
2026-10-04 15:00 UTC .. 2026-10-05 15:00 UTC. Times are naive UTC, as the store keeps them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class DayError(ValueError):
    """A partition day or timezone that cannot be read; the message names which."""


def parse_day(day: str) -> date:
    try:
        return date.fromisoformat(day)
    except (TypeError, ValueError):
        raise DayError(f"day {day!r}: expected a date as YYYY-MM-DD") from None


def zone(name: str, *, owner: str = "") -> ZoneInfo:
    """The IANA zone `name`; `owner` (e.g. "character Aria") is named in the error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        where = f"{owner}: " if owner else ""
        raise DayError(f"{where}unknown timezone {name!r} (expected an IANA name such as Europe/Berlin)") from None


def _utc_naive(local: datetime) -> datetime:
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def day_window(day: str, tz: str, *, owner: str = "") -> tuple[datetime, datetime]:
    """[start, end) in naive UTC of calendar day `day` in timezone `tz` (23 or 25 hours across DST)."""
    d, z = parse_day(day), zone(tz, owner=owner)
    return _utc_naive(datetime.combine(d, time.min, z)), _utc_naive(datetime.combine(d + timedelta(days=1), time.min, z))


def local_day(utc_naive: datetime, tz: str) -> str:
    """The calendar day, in `tz`, of a naive UTC time."""
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(zone(tz)).date().isoformat()


def day_is_over(day: str, tz: str, now: datetime | None = None) -> bool:
    """True once the local day has ended (`now` is naive UTC; default: the current time)."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    return day_window(day, tz)[1] <= now


def days_before(day: str, n: int) -> list[str]:
    """The `n` calendar days before `day`, oldest first."""
    d = parse_day(day)
    return [(d - timedelta(days=i)).isoformat() for i in range(n, 0, -1)]


# Every local day D lies inside this UTC span, whatever the zone (UTC-12 .. UTC+14).
def widest_window(day: str) -> tuple[datetime, datetime]:
    d = datetime.combine(parse_day(day), time.min)
    return d - timedelta(hours=14), d + timedelta(days=1, hours=12)
