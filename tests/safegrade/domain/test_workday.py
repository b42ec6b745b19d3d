"""Working days against the State Council's schedule: National Day 2023, Spring Festival 2024, and
Monday–Friday with a warning outside the years the installed chinesecalendar covers."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from safegrade.domain import workday
from safegrade.domain.workday import (
    WorkdayCalendarWarning,
    add_working_days,
    covered_years,
    in_coverage,
    is_working_day,
    working_days_between,
)


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    workday.forget_warnings()
    yield
    workday.forget_warnings()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


NATIONAL_DAY_2023_OFF = days(date(2023, 9, 29), date(2023, 10, 6))
SPRING_FESTIVAL_2024_OFF = days(date(2024, 2, 10), date(2024, 2, 17))


def test_expected_dates_agree_with_the_installed_package() -> None:
    """The facts asserted below, checked against chinese_calendar itself first."""
    for d in NATIONAL_DAY_2023_OFF + SPRING_FESTIVAL_2024_OFF:
        assert not chinese_calendar.is_workday(d), d
    for d in (date(2023, 10, 7), date(2023, 10, 8), date(2024, 2, 4), date(2024, 2, 18)):
        assert d.weekday() >= 5, d
        assert chinese_calendar.is_workday(d), d


def test_national_day_2023() -> None:
    assert [d for d in NATIONAL_DAY_2023_OFF if is_working_day(d)] == []
    assert date(2023, 10, 7).weekday() == 5
    assert is_working_day(date(2023, 10, 7))
    assert date(2023, 10, 8).weekday() == 6
    assert is_working_day(date(2023, 10, 8))
    assert is_working_day(date(2023, 9, 28))
    assert add_working_days(date(2023, 9, 28), 1) == date(2023, 10, 7)
    assert add_working_days(date(2023, 9, 28), 2) == date(2023, 10, 8)
    assert add_working_days(date(2023, 9, 28), 3) == date(2023, 10, 9)
    assert working_days_between(date(2023, 9, 28), date(2023, 10, 8)) == 2


def test_spring_festival_2024() -> None:
    assert [d for d in SPRING_FESTIVAL_2024_OFF if is_working_day(d)] == []
    assert date(2024, 2, 4).weekday() == 6
    assert is_working_day(date(2024, 2, 4))
    assert date(2024, 2, 18).weekday() == 6
    assert is_working_day(date(2024, 2, 18))
    assert not is_working_day(date(2024, 2, 3))  # an ordinary Saturday
    assert add_working_days(date(2024, 2, 3), 1) == date(2024, 2, 4)
    assert add_working_days(date(2024, 2, 9), 1) == date(2024, 2, 18)
    # Feb 1 (Thu) .. Feb 19 (Mon): Feb 2, 4, 5, 6, 7, 8, 9, 18, 19
    assert working_days_between(date(2024, 2, 1), date(2024, 2, 19)) == 9


def test_publicity_period_of_five_working_days_over_national_day() -> None:
    """A revocation announced on 2023-09-27 (Wed) with a 5-working-day 公示期."""
    assert add_working_days(date(2023, 9, 27), 5) == date(2023, 10, 10)


def test_between_is_exclusive_of_start_inclusive_of_end() -> None:
    monday, friday = date(2023, 11, 6), date(2023, 11, 10)
    assert working_days_between(monday, friday) == 4
    assert working_days_between(monday, monday) == 0
    assert working_days_between(friday, monday) == 0
    assert working_days_between(monday - timedelta(days=1), friday) == 5


def test_add_and_between_agree() -> None:
    start = date(2023, 9, 20)
    for n in range(1, 40):
        assert working_days_between(start, add_working_days(start, n)) == n


@pytest.mark.parametrize("n", [0, -1])
def test_add_needs_at_least_one(n: int) -> None:
    with pytest.raises(ValueError, match="n must be at least 1"):
        add_working_days(date(2023, 1, 3), n)


def test_covered_years_come_from_the_package_data() -> None:
    first, last = covered_years()
    assert first == min(d.year for d in chinese_calendar.holidays)
    assert last == max(d.year for d in chinese_calendar.holidays)
    assert first <= 2023 < 2024 <= last
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(last + 1, 1, 5))
    chinese_calendar.is_workday(date(last, 12, 31))
    assert in_coverage(date(first, 1, 1))
    assert in_coverage(date(last, 12, 31))
    assert not in_coverage(date(last + 1, 1, 1))
    assert not in_coverage(date(first - 1, 12, 31))


def test_same_answer_as_the_package_over_its_whole_range() -> None:
    first, last = covered_years()
    for d in days(date(first, 1, 1), date(last, 12, 31)):
        assert is_working_day(d) == chinese_calendar.is_workday(d), d


def test_datetime_is_taken_as_its_date() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert is_working_day(datetime(2023, 10, 7, 9, 30, tzinfo=shanghai))
    assert not is_working_day(datetime(2023, 10, 2, 9, 30, tzinfo=shanghai))


def test_outside_coverage_monday_to_friday_with_a_warning() -> None:
    def year_2099() -> None:
        assert is_working_day(date(2099, 1, 2))   # Friday
        assert not is_working_day(date(2099, 1, 3))  # Saturday
        assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)
        assert working_days_between(date(2099, 1, 1), date(2099, 1, 31)) == 21

    with pytest.warns(WorkdayCalendarWarning, match="2099") as caught:
        year_2099()
    assert len(caught) == 1  # once per year
    assert "Monday–Friday" in str(caught[0].message)


def test_one_warning_per_uncovered_year() -> None:
    with pytest.warns(WorkdayCalendarWarning) as caught:
        assert working_days_between(date(2098, 12, 1), date(2099, 1, 31)) == 22 + 22
    assert len(caught) == 2
    assert any("2098" in str(w.message) for w in caught)
    assert any("2099" in str(w.message) for w in caught)


def test_crossing_out_of_coverage_warns_only_for_the_uncovered_year() -> None:
    last = covered_years()[1]
    with pytest.warns(WorkdayCalendarWarning) as caught:
        working_days_between(date(last, 12, 20), date(last + 1, 1, 10))
    assert [str(last + 1) in str(w.message) for w in caught] == [True]


def test_no_warning_inside_coverage() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        working_days_between(date(2023, 1, 1), date(2024, 12, 31))
