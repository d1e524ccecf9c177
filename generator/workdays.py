"""Working-day arithmetic for the 双公示 7-working-day rule (holiday calendar is a setting)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def is_workday(day: dt.date, holidays: frozenset[str], makeup: frozenset[str]) -> bool:
    iso = day.isoformat()
    if iso in makeup:
        return True
    return day.weekday() < 5 and iso not in holidays


def working_days_between(
    start: dt.date, end: dt.date, holidays: Iterable[str] = (), makeup: Iterable[str] = ()
) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    hol, mk = frozenset(holidays), frozenset(makeup)
    days, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day, hol, mk):
            days += 1
    return days
