"""Every guard of states/guard.py at its edges, with an explicit aware `now` in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from states import EnterpriseSnapshot, GuardFailed, Lifecycle, parse_lifecycle
from states.guard import GUARDS

TZ = ZoneInfo("Asia/Shanghai")
RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def snap(state: str = "rectifying", **fields: Any) -> EnterpriseSnapshot:
    return EnterpriseSnapshot(credit_code="91120114MA05JJ7B3T", state=state, **fields)


def check(name: str, s: EnterpriseSnapshot, now: datetime, data: dict[str, Any] | None = None) -> tuple[bool, str]:
    guard = GUARDS[name]
    data = data or {}
    return guard(s, now, data), guard.refusal(s, now, data)


def real_lifecycle() -> Lifecycle:
    """The real lifecycle, read straight from the YAML files (no safegrade import in tests/states)."""
    doc = yaml.safe_load((RULES_DIR / "lifecycle.yaml").read_text(encoding="utf-8"))
    triggers = yaml.safe_load((RULES_DIR / "triggers.yaml").read_text(encoding="utf-8"))
    return Lifecycle(parse_lifecycle(doc, {k: tuple(v) for k, v in triggers.items()}))


def test_the_guards_are_the_ones_tested_here() -> None:
    assert set(GUARDS) == {"result_is_poor", "has_major_hazard", "has_open_findings", "all_findings_verified",
                           "publicity_over", "validity_ended", "grade_expired", "revocation_bar_over",
                           "new_validity_in_future"}
    for name, guard in GUARDS.items():
        assert guard.name == name


# --- revocation_bar_over: from the first day after the one-year bar --------------------------------------

@pytest.mark.parametrize(("today", "holds"), [
    pytest.param(date(2024, 10, 10), False, id="day-before"),
    pytest.param(date(2024, 10, 11), True, id="first-day-allowed"),
    pytest.param(date(2025, 3, 1), True, id="later"),
])
def test_revocation_bar_over(today: date, holds: bool) -> None:
    ok, message = check("revocation_bar_over", snap(state="revoked", regrade_from=date(2024, 10, 11)),
                        at(today.year, today.month, today.day))
    assert ok is holds
    assert "2024-10-11" in message
    assert "撤销后一年内不得重新申请" in message


def test_revocation_bar_without_a_date_refuses() -> None:
    ok, message = check("revocation_bar_over", snap(state="revoked"), at(2030, 1, 1))
    assert ok is False
    assert message == "no revocation date is recorded"


# --- publicity_over: the day after the publicity period's end -----------------------------------------

ENDS = date(2023, 7, 10)


@pytest.mark.parametrize(("now", "holds"), [
    pytest.param(at(2023, 7, 1), False, id="well-before"),
    pytest.param(at(2023, 7, 10, 0, 0), False, id="end-date-00:00"),
    pytest.param(at(2023, 7, 10, 23, 59), False, id="end-date-23:59"),
    pytest.param(at(2023, 7, 11, 0, 0), True, id="day-after-00:00"),
    pytest.param(at(2024, 1, 1), True, id="long-after"),
])
def test_publicity_over(now: datetime, holds: bool) -> None:
    ok, message = check("publicity_over", snap("revocation_pending", publicity_ends_on=ENDS), now)
    assert ok is holds
    if not holds:
        assert "2023-07-10" in message
        assert now.date().isoformat() in message


def test_publicity_over_without_a_publicity_period() -> None:
    ok, message = check("publicity_over", snap("revocation_pending"), at(2030, 1, 1))
    assert ok is False
    assert "no publicity period (公示期) was started" in message


# --- validity_ended: the day after valid_until ----------------------------------------------------------

VALID_UNTIL = date(2025, 2, 28)


@pytest.mark.parametrize(("now", "holds"), [
    pytest.param(at(2025, 2, 27), False, id="day-before"),
    pytest.param(at(2025, 2, 28, 23, 59), False, id="on-valid-until"),
    pytest.param(at(2025, 3, 1, 0, 0), True, id="day-after"),
])
def test_validity_ended(now: datetime, holds: bool) -> None:
    ok, message = check("validity_ended", snap("graded", valid_until=VALID_UNTIL), now)
    assert ok is holds
    if not holds:
        assert "2025-02-28" in message
        assert now.date().isoformat() in message


def test_validity_ended_without_valid_until() -> None:
    ok, message = check("validity_ended", snap("graded"), at(2030, 1, 1))
    assert ok is False
    assert message


def test_validity_ended_refuses_an_expiry_already_recorded() -> None:
    """expire records the end once: during a case the state stays, so the guard is what refuses a second time."""
    ok, message = check("validity_ended", snap("rectifying", valid_until=VALID_UNTIL,
                                                validity_ended_on=date(2025, 3, 1)), at(2025, 6, 1))
    assert ok is False
    assert message == "the grade's validity already ended on 2025-03-01 (有效期届满, recorded)"


# --- grade_expired: a case ending without a valid grade ends in expired ----------------------------------

@pytest.mark.parametrize(("fields", "now", "holds"), [
    pytest.param({"valid_until": VALID_UNTIL}, at(2025, 2, 28, 23, 59), False, id="on-valid-until"),
    pytest.param({"valid_until": VALID_UNTIL}, at(2025, 3, 1, 0, 0), True, id="day-after-not-yet-recorded"),
    pytest.param({"valid_until": VALID_UNTIL, "validity_ended_on": date(2025, 3, 1)}, at(2025, 6, 1), True,
                 id="recorded"),
    pytest.param({"valid_until": date(2028, 3, 1), "validity_ended_on": date(2025, 3, 1)}, at(2025, 6, 1), True,
                 id="recorded-wins-over-dates"),
    pytest.param({}, at(2030, 1, 1), False, id="no-dates"),
])
def test_grade_expired(fields: dict[str, Any], now: datetime, holds: bool) -> None:
    ok, message = check("grade_expired", snap("rectifying", **fields), now)
    assert ok is holds
    if not holds and fields:
        assert message == f"grade is valid until 2025-02-28; today is {now.date().isoformat()}"


def test_the_guards_that_read_the_events_data_say_which_fields() -> None:
    reads = {name: g.reads for name, g in GUARDS.items() if g.reads}
    assert reads == {"result_is_poor": ("result",), "has_major_hazard": ("major_hazards",),
                     "has_open_findings": ("findings",), "new_validity_in_future": ("valid_until",)}


# --- new_validity_in_future: strictly after today --------------------------------------------------------

@pytest.mark.parametrize(("new", "holds"), [
    pytest.param(date(2023, 6, 30), False, id="yesterday"),
    pytest.param(date(2023, 7, 1), False, id="today"),
    pytest.param(date(2023, 7, 2), True, id="tomorrow"),
    pytest.param(date(2026, 6, 30), True, id="three-years"),
])
def test_new_validity_in_future(new: date, holds: bool) -> None:
    ok, message = check("new_validity_in_future", snap("expired"), at(2023, 7, 1, 23, 59), {"valid_until": new})
    assert ok is holds
    if not holds:
        assert new.isoformat() in message
        assert "2023-07-01" in message


def test_new_validity_in_future_without_a_date() -> None:
    ok, message = check("new_validity_in_future", snap("expired"), at(2023, 7, 1), {})
    assert ok is False
    assert "2023-07-01" in message


# --- all_findings_verified: nothing open, neither findings nor major hazards -----------------------------

@pytest.mark.parametrize(("findings", "hazards", "holds"), [
    pytest.param(0, 0, True, id="nothing-open"),
    pytest.param(1, 0, False, id="one-finding"),
    pytest.param(3, 1, False, id="findings-and-hazard"),
    pytest.param(0, 1, False, id="hazard-only"),
])
def test_all_findings_verified(findings: int, hazards: int, holds: bool) -> None:
    ok, message = check("all_findings_verified", snap(open_findings=findings, open_major_hazards=hazards),
                        at(2023, 7, 1))
    assert ok is holds
    if findings and not hazards:
        assert f"{findings} finding(s) not yet verified" in message
    if findings and hazards:
        assert f"{findings} finding(s) and {hazards} major hazard(s) (重大事故隐患) not yet verified" in message


def test_all_findings_verified_ignores_data() -> None:
    ok, _ = check("all_findings_verified", snap(open_findings=2), at(2023, 7, 1), {"findings": 0})
    assert ok is False


def test_all_findings_verified_names_an_open_major_hazard() -> None:
    _, message = check("all_findings_verified", snap(open_findings=0, open_major_hazards=1), at(2023, 7, 1))
    assert not message.startswith("0 finding(s)")
    assert "1" in message
    assert "重大事故隐患" in message


# --- has_open_findings / has_major_hazard: the event's data first, then the snapshot ---------------------

@pytest.mark.parametrize(("name", "key", "attr"), [
    pytest.param("has_open_findings", "findings", "open_findings", id="findings"),
    pytest.param("has_major_hazard", "major_hazards", "open_major_hazards", id="major_hazards"),
])
@pytest.mark.parametrize(("in_snapshot", "in_data", "holds"), [
    pytest.param(0, None, False, id="none-anywhere"),
    pytest.param(1, None, True, id="snapshot-1"),
    pytest.param(5, None, True, id="snapshot-5"),
    pytest.param(0, 1, True, id="data-1-over-snapshot-0"),
    pytest.param(4, 0, False, id="data-0-over-snapshot-4"),
    pytest.param(0, "2", True, id="data-as-text"),
])
def test_counting_guards(name: str, key: str, attr: str, in_snapshot: int, in_data: int | str | None,
                         holds: bool) -> None:
    payload = {} if in_data is None else {key: in_data}
    ok, message = check(name, snap(**{attr: in_snapshot}), at(2023, 7, 1), payload)
    assert ok is holds
    assert isinstance(message, str)
    assert message
    if not holds:
        assert message.startswith("no ")  # the count refused is zero: 'no finding is open'


def test_has_major_hazard_message_names_the_hazard() -> None:
    assert "重大事故隐患" in GUARDS["has_major_hazard"].refusal(snap(), at(2023, 7, 1), {})


# --- result_is_poor ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("result", "holds"), [
    pytest.param("差", True, id="poor"),
    pytest.param("良", False, id="good"),
    pytest.param("优", False, id="excellent"),
    pytest.param(None, False, id="no-result"),
])
def test_result_is_poor(result: str | None, holds: bool) -> None:
    data = {} if result is None else {"result": result}
    ok, message = check("result_is_poor", snap("assessing", open_findings=9), at(2023, 7, 1), data)
    assert ok is holds
    assert repr(result) in message


# --- every refusal is a non-empty string ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GUARDS))
def test_every_refusal_is_a_non_empty_string(name: str) -> None:
    s = snap(open_findings=2, open_major_hazards=1, publicity_ends_on=date(2023, 7, 10),
             valid_until=date(2025, 2, 28))
    message = GUARDS[name].refusal(s, at(2023, 7, 1), {"valid_until": date(2023, 6, 1), "result": "良"})
    assert isinstance(message, str)
    assert message.strip()


# --- GuardFailed from Lifecycle.fire names the guard and its message ----------------------------------

@pytest.mark.parametrize(("state", "event", "fields", "data", "guard", "fragment"), [
    pytest.param("revocation_pending", "revoke", {"publicity_ends_on": date(2023, 7, 10)}, {}, "publicity_over",
                 "runs until 2023-07-10; today is 2023-07-10", id="revoke-on-last-publicity-day"),
    pytest.param("revocation_pending", "revoke", {}, {}, "publicity_over", "no publicity period",
                 id="revoke-without-publicity"),
    pytest.param("rectifying", "close", {"open_findings": 2}, {}, "all_findings_verified",
                 "2 finding(s) not yet verified", id="close-with-open-findings"),
    pytest.param("graded", "expire", {"valid_until": date(2025, 2, 28)}, {}, "validity_ended",
                 "valid until 2025-02-28; today is 2023-07-10", id="expire-too-early"),
    pytest.param("expired", "renew", {}, {"valid_until": date(2023, 7, 10), "certificate_no": "X1"},
                 "new_validity_in_future", "new valid_until 2023-07-10 is not after today 2023-07-10",
                 id="renew-not-in-future"),
    pytest.param("rectifying", "close", {"open_findings": 1, "valid_until": date(2023, 6, 30)}, {},
                 "all_findings_verified", "1 finding(s) not yet verified",
                 id="close-after-validity-ended-with-open-findings-said-once"),
    pytest.param("interview", "expire", {"valid_until": date(2023, 6, 30), "validity_ended_on": date(2023, 7, 1)}, {},
                 "validity_ended", "already ended on 2023-07-01", id="expire-twice-during-a-case"),
])
def test_guard_failed_names_guard_and_message(state: str, event: str, fields: dict[str, Any],
                                              data: dict[str, Any], guard: str, fragment: str) -> None:
    lifecycle = real_lifecycle()
    with pytest.raises(GuardFailed) as info:
        lifecycle.fire(snap(state, **fields), event, at(2023, 7, 10, 18, 0), data)
    error = info.value
    assert (error.event, error.state) == (event, state)
    assert [name for name, _ in error.failures] == [guard]
    assert fragment in error.failures[0][1]
    assert f"event '{event}' refused in state '{state}': {guard}: " in str(error)
    assert fragment in str(error)
