"""Time phrases of ordinary chat ("yesterday", "last weekend", "two weeks ago", "in May") resolved
against the date of the message that says them: the days (inclusive) the phrase points at."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2, "a few": 3, "few": 3}
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "fall": (9, 11), "autumn": (9, 11), "winter": (12, 2)}


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _shift_month(d: date, months: int) -> tuple[int, int]:
    n = d.year * 12 + d.month - 1 + months
    return n // 12, n % 12 + 1


def _season(year: int, name: str) -> tuple[date, date]:
    first, last = _SEASONS[name]
    if first > last:  # winter spans the new year: December .. February
        return date(year, 12, 1), _month_range(year + 1, 2)[1]
    return date(year, first, 1), _month_range(year, last)[1]


def resolve(phrase: str | None, at: datetime | date) -> tuple[date, date] | None:
    """(first day, last day) that `phrase` points at, said on `at`; None when it names no time."""
    if not phrase:
        return None
    d = at.date() if isinstance(at, datetime) else at
    p = " ".join(phrase.lower().split())
    if p in ("today", "tonight", "this morning", "this afternoon", "this evening", "earlier today", "just"):
        return d, d
    if p in ("yesterday", "last night"):
        return d - timedelta(days=1), d - timedelta(days=1)
    if p == "the day before yesterday":
        return d - timedelta(days=2), d - timedelta(days=2)
    if p == "tomorrow":
        return d + timedelta(days=1), d + timedelta(days=1)
    if p in ("recently", "while ago", "a while ago"):
        return d - timedelta(days=30), d
    m = re.fullmatch(r"(last|this|next|past) (weekend|week|month|year|summer|winter|spring|fall|autumn|christmas)", p)
    if m:
        which, unit = m.groups()
        step = {"last": -1, "past": -1, "this": 0, "next": 1}[which]
        if unit == "weekend":
            saturday = d - timedelta(days=(d.weekday() - 5) % 7)  # the latest Saturday, today included
            if which in ("last", "past"):
                saturday -= timedelta(days=7) if d.weekday() >= 5 else timedelta(days=0)
            elif which == "next" or d.weekday() < 5:
                saturday += timedelta(days=7)
            return saturday, saturday + timedelta(days=1)
        if unit == "week":
            monday = d - timedelta(days=d.weekday()) + timedelta(weeks=step)
            return monday, monday + timedelta(days=6)
        if unit == "month":
            return _month_range(*_shift_month(d, step))
        if unit == "year":
            return date(d.year + step, 1, 1), date(d.year + step, 12, 31)
        if unit == "christmas":
            year = d.year + step if which != "last" or d >= date(d.year, 12, 25) else d.year - 1
            year = d.year - 1 if which in ("last", "past") and d < date(d.year, 12, 25) else year
            return date(year, 12, 25), date(year, 12, 25)
        year = d.year + step
        start, end = _season(year, unit)
        if which in ("last", "past") and start <= d:  # "last summer" said in the autumn: this year's
            this_start, this_end = _season(d.year, unit)
            if this_end < d:
                return this_start, this_end
        return start, end
    m = re.fullmatch(r"(last|on|this|next) (" + "|".join(_WEEKDAYS) + r")", p)
    if m:
        which, day = m.groups()
        wd = _WEEKDAYS.index(day)
        if which == "next" or (which == "this" and wd > d.weekday()):
            return (x := d + timedelta(days=(wd - d.weekday()) % 7 or 7)), x
        back = (d.weekday() - wd) % 7 or 7  # the latest such day before today
        return (x := d - timedelta(days=back)), x
    m = re.fullmatch(r"(.+?) (day|week|month|year)s? ago", p)
    if m and m.group(1) in _NUMBERS or (m and m.group(1).isdigit()):
        n = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
        unit = m.group(2)
        if unit == "day":
            return (x := d - timedelta(days=n)), x
        if unit == "week":
            monday = d - timedelta(days=d.weekday()) - timedelta(weeks=n)
            return monday, monday + timedelta(days=6)
        if unit == "month":
            return _month_range(*_shift_month(d, -n))
        return date(d.year - n, 1, 1), date(d.year - n, 12, 31)
    m = re.fullmatch(r"in ((?:19|20)\d\d)", p)
    if m:
        return date(int(m.group(1)), 1, 1), date(int(m.group(1)), 12, 31)
    m = re.fullmatch(r"in (" + "|".join(_MONTHS) + r")", p)
    if m:
        month = _MONTHS.index(m.group(1)) + 1
        year = d.year if month <= d.month else d.year - 1  # the latest such month: chat tells what happened
        return _month_range(year, month)
    return None
