"""Chinese working days (工作日): the State Council's yearly holiday schedule with its make-up days.

Deadlines such as the publicity period (公示期) are counted in working days. The schedule comes from
the chinesecalendar package (import name chinese_calendar), which knows each year only once the
State Council has published it. Outside the years it covers the engine falls back to Monday–Friday
and says so with a WorkdayCalendarWarning, once per year per process, so a deadline counted on a
guess is never silent; upgrading the package brings the new year in.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from functools import cache

import chinese_calendar

_ONE_DAY = timedelta(days=1)
_warned_years: set[int] = set()


class WorkdayCalendarWarning(UserWarning):
    """A working-day computation used Monday–Friday because the holiday schedule does not cover the year."""


@cache
def covered_years() -> tuple[int, int]:
    """The first and last year whose holiday schedule the installed chinesecalendar holds.

    Derived from the package's holiday data, the same way the package decides what it supports.
    """
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def in_coverage(d: date) -> bool:
    """True when the installed holiday schedule covers the year of `d`."""
    first, last = covered_years()
    return first <= d.year <= last


def forget_warnings() -> None:
    """Let each uncovered year warn again (a long-running process after an upgrade, or a test)."""
    _warned_years.clear()


def _warn_uncovered(year: int) -> None:
    """Warn once per process for each year the schedule does not cover."""
    if year in _warned_years:
        return
    _warned_years.add(year)
    first, last = covered_years()
    warnings.warn(
        f"chinesecalendar {chinese_calendar.__version__} has no holiday schedule for {year} "
        f"(it covers {first}–{last}); working days in {year} are counted as Monday–Friday. "
        f"Upgrade chinesecalendar once the State Council publishes the {year} schedule.",
        WorkdayCalendarWarning,
        stacklevel=3,
    )


def is_working_day(d: date) -> bool:
    """True when `d` is a working day in China: a weekday that is not a holiday, or a make-up working
    day (调休上班) on a weekend. Outside the covered years: Monday–Friday, with a warning."""
    if isinstance(d, datetime):
        d = d.date()
    if not in_coverage(d):
        _warn_uncovered(d.year)
        return d.weekday() < 5
    # The package's own rule (chinese_calendar.is_workday), applied to its public data directly:
    # is_workday recomputes the covered range on every call, which is slow for long spans.
    return d in chinese_calendar.workdays or (d.weekday() < 5 and d not in chinese_calendar.holidays)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (start itself not counted); n must be at least 1.

    A deadline of "5 working days from the notice" issued on `start` is add_working_days(start, 5).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    d = start
    while n:
        d += _ONE_DAY
        if is_working_day(d):
            n -= 1
    return d


def working_days_between(a: date, b: date) -> int:
    """The number of working days d with a < d <= b; 0 when b is not after a."""
    count = 0
    d = a + _ONE_DAY
    while d <= b:
        count += is_working_day(d)
        d += _ONE_DAY
    return count
