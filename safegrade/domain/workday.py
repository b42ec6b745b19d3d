"""Chinese working days (工作日): the State Council's yearly holiday schedule with its make-up days.

Deadlines such as the publicity period (公示期) are counted in working days. The schedule of a year comes
from rules/holidays.yaml where the bureau wrote it (safegrade.domain.holidays), else from the
chinesecalendar package (import name chinese_calendar), which knows each year only once a release
carries it. `WorkCalendar` is the two together, built by the rules loader (`Rules.calendar`): the
engine counts with it and asks it which years neither source covers (`uncovered`), where it counts
Monday–Friday; the deadline services refuse or mark such a count (settings `calendar.weekday_fallback`).

The module-level functions are the package alone, as before the rules could say: outside its years
they count Monday–Friday with a WorkdayCalendarWarning, once per year per process.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

import chinese_calendar

from safegrade.domain.holidays import YearSchedule

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


PACKAGE_SOURCE = f"chinesecalendar {chinese_calendar.__version__}"


def _chinese(name: str | None) -> str | None:
    """The package's holiday name (English, its enum's value) in Chinese (春节), as the rules write it."""
    if name is None:
        return None
    try:
        return str(chinese_calendar.Holiday(name).chinese)
    except ValueError:
        return name


@dataclass(frozen=True, eq=False)  # hashed by identity: one per loaded rules; its counts are cached on it
class WorkCalendar:
    """Working days from the rules' schedules where they give a year, the package's elsewhere, and
    Monday–Friday in a year neither covers (`uncovered` says which; the callers decide what that means)."""

    schedules: Mapping[int, YearSchedule] = field(default_factory=dict)
    _added: dict[tuple[date, int], date] = field(default_factory=dict, init=False, repr=False)

    def source(self, year: int) -> str | None:
        """Where the schedule of `year` comes from: the rules' source text, the package, or None."""
        if year in self.schedules:
            return self.schedules[year].source
        first, last = covered_years()
        return PACKAGE_SOURCE if first <= year <= last else None

    def from_rules(self, year: int) -> bool:
        return year in self.schedules

    def covers(self, year: int) -> bool:
        return self.source(year) is not None

    def holiday_name(self, d: date) -> str | None:
        """The holiday `d` belongs to (its name as the source gives it), or None."""
        if d.year in self.schedules:
            return self.schedules[d.year].holidays.get(d)
        return _chinese(chinese_calendar.holidays.get(d)) if self.covers(d.year) else None

    def makeup_name(self, d: date) -> str | None:
        """The holiday whose make-up working day (调休上班) `d` is, or None."""
        if d.year in self.schedules:
            return self.schedules[d.year].workdays.get(d)
        return _chinese(chinese_calendar.workdays.get(d)) if self.covers(d.year) and d.weekday() >= 5 else None

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = d.date()
        schedule = self.schedules.get(d.year)
        if schedule is not None:
            return d in schedule.workdays or (d.weekday() < 5 and d not in schedule.holidays)
        if in_coverage(d):
            return d in chinese_calendar.workdays or (d.weekday() < 5 and d not in chinese_calendar.holidays)
        return d.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start not counted); n at least 1. Cached: many share a day."""
        key = (start, n)
        found = self._added.get(key)
        if found is None:
            if n < 1:
                raise ValueError(f"n must be at least 1, got {n}")
            d, left = start, n
            while left:
                d += _ONE_DAY
                if self.is_working_day(d):
                    left -= 1
            found = self._added[key] = d
        return found

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days d with a < d <= b; 0 when b is not after a."""
        count, d = 0, a + _ONE_DAY
        while d <= b:
            count += self.is_working_day(d)
            d += _ONE_DAY
        return count

    def uncovered(self, first: date, last: date) -> tuple[int, ...]:
        """The years from `first` to `last` (either order) that neither the rules nor the package cover."""
        low, high = sorted((first.year, last.year))
        return tuple(y for y in range(low, high + 1) if not self.covers(y))

    def covered(self) -> dict[str, list[int]]:
        """The years each source covers: the rules' years, then the package's range."""
        first, last = covered_years()
        return {"rules/holidays.yaml": sorted(self.schedules),
                PACKAGE_SOURCE: [y for y in range(first, last + 1) if y not in self.schedules]}
