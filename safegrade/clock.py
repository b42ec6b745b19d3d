"""The one place that reads the wall clock.

Every command takes a simulated now (`--as-of`), so a user can ask what would happen on a given day;
tests move a TestClock instead of sleeping. All times are timezone-aware.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from safegrade.errors import InvalidInput


class Clock(Protocol):
    tz: tzinfo

    def now(self) -> datetime:
        """The current instant, aware, in the clock's time zone."""
        ...


class SystemClock:
    def __init__(self, tz: tzinfo = UTC) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock stopped at one instant: what `--as-of` gives a command."""

    def __init__(self, at: datetime, tz: tzinfo | None = None) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.tz = tz or at.tzinfo
        self._at = at.astimezone(self.tz)

    def now(self) -> datetime:
        return self._at


class TestClock(FixedClock):
    """A clock that tests (and the demo's simulated calendar) move forward, never back."""

    __test__ = False  # not a pytest test class

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        if delta is not None and kwargs:
            raise TypeError("advance takes a timedelta or keyword units, not both")
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock does not go back")
        self._at = self._at + step
        return self._at

    def set(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("TestClock.set needs an aware datetime")
        at = at.astimezone(self.tz)
        if at < self._at:
            raise ValueError(f"a clock does not go back: {at.isoformat()} is before {self._at.isoformat()}")
        self._at = at
        return self._at


def local_date(at: datetime, tz: tzinfo) -> date:
    """The calendar date of an instant where the deadlines are counted."""
    return at.astimezone(tz).date()


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(text: str, tz: tzinfo | str) -> datetime:
    """Parse `--as-of`: a date (start of that day) or an ISO date-time; naive means the zone `tz`.

    A date means 00:00 of that day. '2023-12-16T09:30', '2023-12-16 09:30+08:00' are accepted.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    raw = text.strip()
    try:
        if _DATE_ONLY.match(raw):
            return datetime.combine(date.fromisoformat(raw), time(0), zone)
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{{as_of}}: {text!r} is not a date or date-time; use YYYY-MM-DD or YYYY-MM-DDTHH:MM[+08:00]",
            code="invalid_date", field="as_of", value=text, allowed=["YYYY-MM-DD", "YYYY-MM-DDTHH:MM[+08:00]"],
        ) from None
    return at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)
