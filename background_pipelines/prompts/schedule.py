"""When a scheduled prompt fires: a one-off time in the user's timezone, or a cron expression (five
fields, evaluated by croniter in that timezone, so 09:00 stays 09:00 across DST). Bad input raises
PromptError naming the field and the value."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class PromptError(ValueError):
    """A prompt request that cannot be scheduled (bad time, cron, timezone, user or character)."""


WHEN_FORMS = ("an ISO date-time ('2026-12-11 09:00', '2026-12-11T09:00+01:00')", "'in 10 minutes' / 'in 2 hours' / 'in 3 days'",
              "'today 18:30', 'tomorrow 9am', 'friday 09:00'")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_IN = re.compile(r"^(?:in\s+)?\+?(\d+)\s*(m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)$")
_DAY_AT = re.compile(r"^(today|tomorrow|" + "|".join(_WEEKDAYS) + r")(?:\s+at)?\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise PromptError(f"timezone {name!r}: not an IANA timezone (e.g. Europe/Berlin, America/New_York, UTC)") from None


def to_utc(local: datetime) -> datetime:
    """An aware datetime as naive UTC (the store's convention)."""
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The UTC (naive) moment `text` names, read in `tz`; `now` is naive UTC. It must be in the future."""
    raw = (text or "").strip()
    s = raw.lower()
    local_now = now.replace(tzinfo=timezone.utc).astimezone(tz)
    when: datetime | None = None
    if m := _IN.match(s):
        when = local_now + timedelta(**{_UNITS[m.group(2)[0]]: int(m.group(1))})
    elif m := _DAY_AT.match(s):
        day, hour, minute, ampm = m.group(1), int(m.group(2)), int(m.group(3) or 0), m.group(4)
        if ampm:
            if not 1 <= hour <= 12:
                raise PromptError(f"time {raw!r}: hour {hour} with {ampm}: expected 1..12")
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        if hour > 23 or minute > 59:
            raise PromptError(f"time {raw!r}: {hour:02d}:{minute:02d} is not a time of day")
        if day == "today":
            date = local_now.date()
        elif day == "tomorrow":
            date = local_now.date() + timedelta(days=1)
        else:  # the next such weekday; today only if that time is still ahead
            date = local_now.date() + timedelta(days=(_WEEKDAYS.index(day) - local_now.weekday()) % 7)
            if datetime.combine(date, time(hour, minute), tz) <= local_now:
                date += timedelta(days=7)
        when = datetime.combine(date, time(hour, minute), tz)
    else:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise PromptError(f"time {raw!r}: not understood; use {', or '.join(WHEN_FORMS)}") from None
        when = parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed
    utc = to_utc(when)
    if utc <= now:
        raise PromptError(f"time {raw!r}: {when.isoformat(timespec='minutes')} is in the past (now {local_now.isoformat(timespec='minutes')})")
    return utc


def check_cron(expr: str) -> str:
    """`expr` normalised, or PromptError: five fields (minute hour day month weekday), as the sensor ticks each minute."""
    from croniter import croniter

    expr = " ".join((expr or "").split())
    if len(expr.split(" ")) != 5 or not croniter.is_valid(expr):
        raise PromptError(f"cron {expr!r}: expected five fields 'minute hour day-of-month month day-of-week', e.g. '0 9 * * 1-5'")
    return expr


def next_after(expr: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first occurrence of `expr` (read in `tz`) strictly after `after` (naive UTC), as naive UTC."""
    from croniter import croniter  # well kept (pallets-eco); handles DST and day-of-week/day-of-month rules

    start = after.replace(tzinfo=timezone.utc).astimezone(tz)
    return to_utc(croniter(expr, start).get_next(datetime))


def occurrences_between(expr: str, tz: ZoneInfo, after: datetime, until: datetime, cap: int = 10_000) -> int:
    """How many occurrences fall in (after, until] (UTC naive), counted up to `cap`."""
    from croniter import croniter

    it = croniter(expr, after.replace(tzinfo=timezone.utc).astimezone(tz))
    n = 0
    while n < cap and to_utc(it.get_next(datetime)) <= until:
        n += 1
    return n
