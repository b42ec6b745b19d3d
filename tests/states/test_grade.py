"""states/grade.py: the grade beside the state, for every state and at the edges of the validity."""

from __future__ import annotations

from datetime import date

import pytest

from states import grade
from states.names import Grade

VALID_UNTIL = date(2025, 2, 28)
CASE = ("assessing", "interview", "rectifying", "revocation_pending")


@pytest.mark.parametrize("state", ["graded", "closed", *CASE])
@pytest.mark.parametrize(("day", "expected"), [
    pytest.param(date(2025, 2, 28), Grade.VALID, id="last-valid-day"),
    pytest.param(date(2025, 3, 1), Grade.EXPIRED, id="day-after-not-yet-recorded"),
])
def test_a_held_grade_is_valid_until_its_last_day(state: str, day: date, expected: Grade) -> None:
    assert grade(state, None, VALID_UNTIL, day) == expected


@pytest.mark.parametrize("state", CASE)
def test_an_expiry_recorded_during_a_case_is_read_whatever_the_day(state: str) -> None:
    assert grade(state, date(2025, 3, 1), VALID_UNTIL, date(2025, 3, 1)) == Grade.EXPIRED


def test_the_expired_state_is_expired_even_without_a_recorded_date() -> None:
    """Rows expired before validity_ended_on was tracked (migration 0007 fills nothing in)."""
    assert grade("expired", None, date(2030, 1, 1), date(2024, 1, 1)) == Grade.EXPIRED


@pytest.mark.parametrize(("state", "expected"), [("revoked", Grade.REVOKED), ("excluded", Grade.EXCLUDED)])
def test_revoked_and_excluded_win_over_the_dates(state: str, expected: Grade) -> None:
    assert grade(state, date(2025, 3, 1), VALID_UNTIL, date(2026, 1, 1)) == expected
    assert grade(state, None, VALID_UNTIL, date(2024, 1, 1)) == expected


def test_no_valid_until_is_not_an_expiry() -> None:
    assert grade("graded", None, None, date(2030, 1, 1)) == Grade.VALID


def test_a_grade_is_the_plain_string_a_contract_carries() -> None:
    assert grade("graded", None, VALID_UNTIL, date(2024, 1, 1)) == "valid"
