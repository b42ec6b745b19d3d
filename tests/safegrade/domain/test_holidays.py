"""rules/holidays.yaml: the schedules written in the rules agree with the chinesecalendar package where both
exist, a year given in the rules is counted with it (make-up Saturdays are working days), and a bad file is
refused with the file and the key of every problem."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from safegrade.domain.holidays import parse_holidays
from safegrade.domain.workday import PACKAGE_SOURCE, WorkCalendar
from safegrade.rules import Rules, load_rules
from tests.conftest import RULES_DIR
from tests.factories import problems
from tests.safegrade.services.calendar_world import MADE_UP_2027, rules_with_2027


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


@pytest.fixture(scope="module")
def real() -> Rules:
    return load_rules(RULES_DIR)


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_schedule_in_the_rules_is_the_packages_where_both_exist(real: Rules, year: int) -> None:
    schedule = real.calendar.schedules[year]
    assert set(schedule.holidays) == {d for d in chinese_calendar.holidays if d.year == year}
    assert set(schedule.workdays) == {d for d in chinese_calendar.workdays if d.year == year and d.weekday() >= 5}
    package = WorkCalendar()  # the package alone
    assert [d for d in days_of(year) if real.calendar.is_working_day(d) != chinese_calendar.is_workday(d)] == []
    assert [d for d in days_of(year) if package.is_working_day(d) != chinese_calendar.is_workday(d)] == []
    assert schedule.source.startswith(f"the State Council notice on the {year} holiday arrangements")


def test_each_year_says_where_its_schedule_comes_from(real: Rules) -> None:
    cal = real.calendar
    assert cal.source(2026) == real.calendar.schedules[2026].source
    assert cal.from_rules(2026)
    assert cal.source(2024) == PACKAGE_SOURCE
    assert not cal.from_rules(2024)
    assert cal.source(2027) is None
    assert not cal.covers(2027)
    covered = cal.covered()
    assert covered["rules/holidays.yaml"] == [2025, 2026]
    assert covered[PACKAGE_SOURCE][0] == 2004
    assert covered[PACKAGE_SOURCE][-1] == 2024
    assert cal.uncovered(date(2026, 12, 21), date(2027, 1, 18)) == (2027,)
    assert cal.uncovered(date(2026, 1, 1), date(2026, 12, 31)) == ()


def test_a_make_up_saturday_is_a_working_day(real: Rules) -> None:
    cal = real.calendar
    saturday = date(2026, 2, 28)  # 春节 make-up working day (调休上班)
    assert saturday.weekday() == 5
    assert cal.is_working_day(saturday)
    assert cal.makeup_name(saturday) == "春节"
    assert not cal.is_working_day(date(2026, 2, 21))  # a Saturday inside the holiday
    # a deadline of 5 working days from the holiday's Saturday falls due on the make-up Saturday
    assert cal.add_working_days(date(2026, 2, 21), 5) == saturday
    # Feb 14 (make-up Sat), then Feb 24, 25, 26, 27 and Feb 28 (make-up Sat)
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


def test_a_year_given_in_a_test_rules_folder_is_counted_with_it(tmp_path: Path) -> None:
    """The made-up 2027 schedule of the test rules folder (a fixture, not the State Council's)."""
    assert "TEST FIXTURE" in MADE_UP_2027
    cal = load_rules(rules_with_2027(tmp_path)).calendar
    assert cal.from_rules(2027)
    assert "TEST FIXTURE" in (cal.source(2027) or "")
    assert not cal.is_working_day(date(2027, 1, 1))  # 元旦, a Friday
    assert cal.is_working_day(date(2027, 2, 20))  # the made-up make-up Saturday
    # 20 working days from Monday 2026-12-21: Monday–Friday gives 2027-01-18, the schedule one day later
    assert WorkCalendar().add_working_days(date(2026, 12, 21), 20) == date(2027, 1, 18)  # package: Mon–Fri in 2027
    assert cal.add_working_days(date(2026, 12, 21), 20) == date(2027, 1, 19)


def write(text: str) -> Callable[[Path], None]:
    def change(directory: Path) -> None:
        (directory / "holidays.yaml").write_text("years:\n" + text, encoding="utf-8")

    return change


BAD = [
    pytest.param(write("  2027:\n    source: x\n    holidays:\n      - {name: 元旦, date: 2028-01-01}\n"),
                 ["holidays.yaml: years.2027.holidays[0]: 2028-01-01–2028-01-01 is not inside 2027"],
                 id="outside-year"),
    pytest.param(write("  2027:\n    source: x\n    holidays:\n"
                       "      - {name: 春节, from: 2027-02-14, to: 2027-02-06}\n"),
                 ["holidays.yaml: years.2027.holidays[0].to: 2027-02-06 is before from 2027-02-14"], id="range-order"),
    pytest.param(write("  2027:\n    source: x\n    holidays:\n      - {name: 春节, from: 2027-02-06, to: 2027-02-14}\n"
                       "    workdays:\n      - {name: 春节, date: 2027-02-13}\n"),
                 ["holidays.yaml: years.2027.workdays: 2027-02-13 is also a holiday (春节)"], id="both"),
    pytest.param(write("  2027:\n    source: x\n    holidays:\n      - {name: 元旦, date: 2027-01-01}\n"
                       "    workdays:\n      - {name: 春节, date: 2027-02-17}\n"),
                 ["holidays.yaml: years.2027.workdays: 2027-02-17 is a weekday"], id="weekday-make-up"),
    pytest.param(write("  2027:\n    holidays:\n      - {name: 元旦, date: 2027-01-01}\n"),
                 ["holidays.yaml: years.2027: missing required key 'source'"], id="no-source"),
    pytest.param(write("  2027:\n    source: x\n    holidays:\n      - {name: 元旦, on: 2027-01-01}\n"),
                 ["holidays.yaml: years.2027.holidays[0]: unknown key(s) True"], id="on-is-yaml-true"),
    pytest.param(write("  2027:\n    source: x\n    holidays:\n      - {name: 元旦, date: 2027-13-01}\n"),
                 ["holidays.yaml: (file): not valid YAML: a date that does not exist (month must be in 1..12)"],
                 id="not-a-date"),
    pytest.param(write("  2027:\n    source: x\n    holidays:\n      - {name: 元旦, date: 1 January}\n"),
                 ["holidays.yaml: years.2027.holidays[0].date: '1 January' is not a date"], id="not-a-date-text"),
    pytest.param(write("  2027:\n    source: x\n    notice: y\n    holidays:\n      - {date: 2027-01-01}\n"),
                 ["holidays.yaml: years.2027: unknown key(s) notice",
                  "holidays.yaml: years.2027.holidays[0]: missing required key 'name'"], id="unknown-key-no-name"),
    pytest.param(write("  next:\n    source: x\n"), ["holidays.yaml: years.next: a year is a number"], id="not-a-year"),
    pytest.param(lambda d: (d / "holidays.yaml").write_text("- 2027\n", encoding="utf-8"),
                 ["holidays.yaml: (top): must be a mapping"], id="not-a-mapping"),
]


@pytest.mark.parametrize(("breaks", "expected"), BAD)
def test_a_bad_holiday_file_is_refused_with_file_and_key(rules_dir: Path, breaks: Callable[[Path], None],
                                                         expected: list[str]) -> None:
    breaks(rules_dir)
    found = problems(rules_dir)
    for fragment in expected:
        assert any(p.startswith(fragment) for p in found), (fragment, found)


def test_without_a_holiday_file_the_package_alone_counts(rules_dir: Path) -> None:
    (rules_dir / "holidays.yaml").unlink()
    rules = load_rules(rules_dir)
    assert rules.calendar.schedules == {}
    assert rules.calendar.source(2026) == PACKAGE_SOURCE


def test_problems_are_all_reported_together() -> None:
    found: list[tuple[str, str]] = []
    parse_holidays({"years": {2027: {"holidays": [{"name": "a", "from": "2027-03-02", "to": "2027-03-01"}]},
                              2028: "x"}}, lambda k, m: found.append((k, m)))
    assert [k for k, _ in found] == ["years.2027", "years.2027.holidays[0].to", "years.2027.holidays", "years.2028"]
