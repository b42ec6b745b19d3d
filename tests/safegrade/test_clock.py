"""The one place for time: --as-of parsing, a fixed clock, a test clock that only moves forward."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from safegrade.clock import FixedClock, TestClock, local_date, parse_instant
from safegrade.errors import InvalidInput

TZ = ZoneInfo("Asia/Shanghai")
ACCEPTED = "use YYYY-MM-DD or YYYY-MM-DDTHH:MM[+08:00]"


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, tz: ZoneInfo = TZ) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


# --- parse_instant ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("2023-12-16", at(2023, 12, 16), id="date-is-midnight-local"),
    pytest.param(" 2023-12-16 ", at(2023, 12, 16), id="date-with-spaces"),
    pytest.param("2023-12-16T09:30", at(2023, 12, 16, 9, 30), id="naive-gets-the-zone"),
    pytest.param("2023-12-16 09:30", at(2023, 12, 16, 9, 30), id="naive-with-space"),
    pytest.param("2023-12-16T09:30+08:00", at(2023, 12, 16, 9, 30), id="aware-same-zone"),
    pytest.param("2023-12-16T01:30+00:00", at(2023, 12, 16, 9, 30), id="aware-utc-converted"),
    pytest.param("2023-12-16T01:30Z", at(2023, 12, 16, 9, 30), id="aware-z"),
    pytest.param("2023-12-15T20:00-05:00", at(2023, 12, 16, 9, 0), id="aware-other-day"),
])
def test_parse_instant(text: str, expected: datetime) -> None:
    parsed = parse_instant(text, "Asia/Shanghai")
    assert parsed == expected
    assert parsed.tzinfo == TZ  # always in the deployment's zone, so .date() is the local date
    assert parsed.utcoffset() == timedelta(hours=8)


def test_parse_instant_takes_a_zone_object() -> None:
    assert parse_instant("2023-12-16", TZ) == at(2023, 12, 16)
    utc = parse_instant("2023-12-16", UTC)
    assert utc == datetime(2023, 12, 16, tzinfo=UTC)
    assert utc != at(2023, 12, 16)


def test_date_is_the_start_of_the_local_day() -> None:
    parsed = parse_instant("2024-01-01", "Asia/Shanghai")
    assert parsed.astimezone(UTC) == datetime(2023, 12, 31, 16, 0, tzinfo=UTC)
    assert parsed.date() == date(2024, 1, 1)


@pytest.mark.parametrize("text", ["tomorrow", "", "2023-13-01", "2023-02-30", "2023/12/16", "16.12.2023",
                                  "2023年12月16日", "2023-12-16T25:00", "2023-12-16 09:30 CST"])
def test_garbage_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_instant(text, "Asia/Shanghai")
    assert str(info.value) == f"--as-of: {text!r} is not a date or date-time; {ACCEPTED}"


# --- FixedClock -------------------------------------------------------------------------------------

def test_fixed_clock_refuses_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2023, 6, 1, 9, 0))  # noqa: DTZ001 - the naive value is what is refused


def test_fixed_clock_stays_put_and_converts_to_its_zone() -> None:
    clock = FixedClock(datetime(2023, 6, 1, 1, 0, tzinfo=UTC), TZ)
    assert clock.now() == at(2023, 6, 1, 9, 0)
    assert clock.now().tzinfo == TZ
    assert clock.now() == clock.now()
    assert clock.tz == TZ


def test_fixed_clock_defaults_to_the_instant_zone() -> None:
    plus8 = timezone(timedelta(hours=8))
    assert FixedClock(datetime(2023, 6, 1, 9, tzinfo=plus8)).tz == plus8


# --- TestClock ----------------------------------------------------------------------------------------

@pytest.fixture
def clock() -> TestClock:
    return TestClock(at(2023, 6, 1, 9, 0))


@pytest.mark.parametrize(("step", "expected"), [
    pytest.param({"days": 1}, at(2023, 6, 2, 9, 0), id="a-day"),
    pytest.param({"hours": 15}, at(2023, 6, 2, 0, 0), id="past-midnight"),
    pytest.param({"delta": timedelta(weeks=2)}, at(2023, 6, 15, 9, 0), id="timedelta"),
    pytest.param({"delta": timedelta(0)}, at(2023, 6, 1, 9, 0), id="zero"),
    pytest.param({}, at(2023, 6, 1, 9, 0), id="nothing"),
])
def test_advance(clock: TestClock, step: dict[str, object], expected: datetime) -> None:
    assert clock.advance(**step) == expected  # type: ignore[arg-type]
    assert clock.now() == expected


def test_advance_accumulates(clock: TestClock) -> None:
    for _ in range(30):
        clock.advance(days=1)
    assert clock.now() == at(2023, 7, 1, 9, 0)


@pytest.mark.parametrize("step", [{"days": -1}, {"seconds": -1}, {"delta": timedelta(microseconds=-1)}],
                         ids=["day", "second", "microsecond"])
def test_advance_refuses_to_go_back(clock: TestClock, step: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(**step)  # type: ignore[arg-type]
    assert clock.now() == at(2023, 6, 1, 9, 0)


def test_set_forward_and_to_the_same_instant(clock: TestClock) -> None:
    assert clock.set(at(2023, 6, 1, 9, 0)) == at(2023, 6, 1, 9, 0)
    assert clock.set(at(2023, 12, 16)) == at(2023, 12, 16)
    assert clock.now() == at(2023, 12, 16)


def test_set_converts_to_the_clock_zone(clock: TestClock) -> None:
    clock.set(datetime(2023, 6, 2, 0, 0, tzinfo=UTC))
    assert clock.now() == at(2023, 6, 2, 8, 0)
    assert clock.now().tzinfo == TZ


def test_set_refuses_to_go_back(clock: TestClock) -> None:
    with pytest.raises(ValueError, match="does not go back") as info:
        clock.set(at(2023, 6, 1, 8, 59))
    assert "does not go back" in str(info.value)
    assert "2023-06-01T08:59:00+08:00" in str(info.value)
    assert "2023-06-01T09:00:00+08:00" in str(info.value)
    assert clock.now() == at(2023, 6, 1, 9, 0)


def test_set_refuses_naive(clock: TestClock) -> None:
    with pytest.raises(ValueError, match="needs an aware datetime"):
        clock.set(datetime(2023, 6, 2, 9, 0))  # noqa: DTZ001 - the naive value is what should be refused


def test_test_clock_refuses_naive_at_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        TestClock(datetime(2023, 6, 1, 9, 0))  # noqa: DTZ001 - the naive value is what is refused


# --- local_date -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("instant", "expected"), [
    pytest.param(datetime(2023, 6, 1, 15, 59, tzinfo=UTC), date(2023, 6, 1), id="before-local-midnight"),
    pytest.param(datetime(2023, 6, 1, 16, 0, tzinfo=UTC), date(2023, 6, 2), id="local-midnight"),
])
def test_local_date(instant: datetime, expected: date) -> None:
    assert local_date(instant, TZ) == expected
