"""rules/holidays.yaml: the State Council's holiday schedule of a year, written by the bureau the day it is
published, parsed and checked like every rule. No database, no clock.

    years:
      2027:
        source: 国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕N号，2026年11月X日）
        holidays:                      # 放假: a day, or a range from–to (both included)
          - {name: 元旦, date: 2027-01-01}
          - {name: 春节, from: 2027-02-06, to: 2027-02-14}
        workdays:                      # 调休上班: weekend days that are working days
          - {name: 春节, date: 2027-02-20}

Checked at load: every date inside its year, ranges in order, no day both a holiday and a make-up working
day, a make-up day on a weekend, a name on every entry and a source on every year.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

Problem = Callable[[str, str], None]  # (key, message)

_YEAR_KEYS = ("source", "holidays", "workdays")
_ENTRY_KEYS = ("name", "date", "from", "to")  # not `on`: YAML 1.1 reads it as true
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: the days off (放假) and the make-up working days (调休上班), each with
    the holiday's name, and where it comes from."""

    year: int
    source: str
    holidays: Mapping[date, str]
    workdays: Mapping[date, str]


def _day(value: Any, key: str, problem: Problem) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problem(key, f"{value!r} is not a date; write YYYY-MM-DD")
        return None


def _span(entry: Mapping[Any, Any], year: int, where: str, problem: Problem) -> tuple[date, date] | None:
    """The first and last day of one entry, checked: a date, or a range in order, inside `year`."""
    if ("date" in entry) == ("from" in entry or "to" in entry):
        problem(where, "give either date, or from and to")
        return None
    if "date" in entry:
        first = last = _day(entry["date"], f"{where}.date", problem)
    else:
        first, last = (_day(entry.get(k), f"{where}.{k}", problem) for k in ("from", "to"))
    if first is None or last is None:
        return None
    if last < first:
        problem(f"{where}.to", f"{last} is before from {first}; a range runs forward")
        return None
    if first.year != year or last.year != year:
        problem(where, f"{first}–{last} is not inside {year}; each year lists its own days")
        return None
    return first, last


def _entries(raw: Any, year: int, key: str, problem: Problem) -> dict[date, str]:
    """A list of {name, date} or {name, from, to}: every day it names, with the name."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        problem(key, "must be a list of {name, date: YYYY-MM-DD} or {name, from: YYYY-MM-DD, to: YYYY-MM-DD}")
        return {}
    out: dict[date, str] = {}
    for n, entry in enumerate(raw):
        where = f"{key}[{n}]"
        if not isinstance(entry, Mapping):
            problem(where, "must be a mapping {name, date} or {name, from, to}")
            continue
        unknown = sorted(set(map(str, entry)) - set(_ENTRY_KEYS))
        if unknown:
            problem(where, f"unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(_ENTRY_KEYS)}")
        name = str(entry.get("name") or "").strip()
        if not name:
            problem(where, "missing required key 'name' (元旦, 春节, …)")
        span = _span(entry, year, where, problem)
        day, last = span if span else (date.max, date.min)
        while day <= last:
            if day in out:
                problem(where, f"{day} is listed twice")
            out[day] = name
            day += _ONE_DAY
    return out


def _year(key: str, problem: Problem) -> int | None:
    try:
        year = int(key)
    except ValueError:
        problem(f"years.{key}", "a year is a number such as 2027")
        return None
    if not 1949 <= year <= 2200:
        problem(f"years.{key}", "a year between 1949 and 2200")
        return None
    return year


def parse_holidays(raw: Any, problem: Problem) -> dict[int, YearSchedule]:
    """holidays.yaml's top-level mapping; every problem goes to `problem(key, message)`."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problem("(top)", "must be a mapping with 'years:'")
        return {}
    unknown = sorted(set(map(str, raw)) - {"years"})
    if unknown:
        problem("(top)", f"unknown key(s) {', '.join(unknown)}; allowed keys are years")
    years = raw.get("years") or {}
    if not isinstance(years, Mapping):
        problem("years", "must be a mapping of years, e.g. 2027: {source, holidays, workdays}")
        return {}
    out: dict[int, YearSchedule] = {}
    for key, body in years.items():
        year = _year(str(key), problem)
        if year is not None:
            found = _schedule(year, f"years.{key}", body, problem)
            if found is not None:
                out[year] = found
    return out


def _schedule(year: int, where: str, body: Any, problem: Problem) -> YearSchedule | None:
    """One year's entry: its source, its days off and its make-up working days, checked against each other."""
    if not isinstance(body, Mapping):
        problem(where, "must be a mapping with source, holidays and workdays")
        return None
    unknown = sorted(set(map(str, body)) - set(_YEAR_KEYS))
    if unknown:
        problem(where, f"unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(_YEAR_KEYS)}")
    source = str(body.get("source") or "").strip()
    if not source:
        problem(where, "missing required key 'source': the State Council notice (number and date)")
    holidays = _entries(body.get("holidays"), year, f"{where}.holidays", problem)
    workdays = _entries(body.get("workdays"), year, f"{where}.workdays", problem)
    if not holidays:
        problem(f"{where}.holidays", "lists no holiday; a year's schedule names its days off")
    for day in sorted(set(holidays) & set(workdays)):
        problem(f"{where}.workdays", f"{day} is also a holiday ({holidays[day]}); a day is one or the other")
    for day in sorted(d for d in workdays if d.weekday() < 5):
        problem(f"{where}.workdays", f"{day} is a weekday; a make-up working day (调休上班) is a Saturday or Sunday")
    return YearSchedule(year, source, holidays, workdays)
