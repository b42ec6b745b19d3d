"""Grade validity beside the case (issue 10, item 4): a grade's validity ends whatever the rectification case
is doing. From 评估中/约谈/整改中/撤销公示中 `expire` keeps the state and records `validity_ended_on`; the open
findings go on being tracked and escalated; a case that ends without a valid grade ends in 有效期届满; a
renewal during the case restores the grade. Every read shows the grade beside the state."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from safegrade.errors import GuardFailed
from safegrade.models import Deadline, Enterprise, table
from safegrade.services.auditing import verify_audit
from safegrade.services.enterprise import list_enterprises, show_enterprise, timeline
from safegrade.services.finding import list_findings, submit_finding, verify_finding
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import CAMPAIGN, DEDUCTIONS, assess, build_world, plain, row, write_ledger

DEADLINE, ENTERPRISE = table(Deadline), table(Enterprise)
SHORT = "2023-08-01"  # a grade whose validity ends while its findings (due 2023-08-07) are being rectified


@pytest.fixture
def world(make_ctx, tmp_path):
    from safegrade.services.campaign import open_campaign

    w = build_world(make_ctx, tmp_path, per_district=1)
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "short.csv", [row(7, "武清区", valid_until=SHORT)])])
    open_campaign(make_ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    return w


CODE = row(7, "武清区")["统一社会信用代码"]


def sweep(make_ctx, clock, day: str):
    clock.set(at(f"{day} 08:00"))
    return sweep_deadlines(make_ctx("system", source="flow"))


def shown(make_ctx, code: str = CODE, **kw) -> dict:
    return plain(show_enterprise(make_ctx(), code, **kw))


def deadlines_of(make_ctx, code: str) -> dict[str, dict]:
    with make_ctx().store.read() as session:
        eid = session.execute(select(ENTERPRISE.c.id).where(ENTERPRISE.c.credit_code == code)).scalar_one()
        return {r["subject"]: dict(r) for r in session.execute(select(DEADLINE).where(
            DEADLINE.c.enterprise_id == eid)).mappings()}


def rectified(make_ctx, tmp_path, clock, day: str) -> None:
    proof = tmp_path / "整改材料.pdf"
    proof.write_bytes(b"%PDF evidence")
    clock.set(at(f"{day} 10:00"))
    for f in plain(list_findings(make_ctx("boss"), credit_code=CODE)):
        if f["status"] != "verified":
            submit_finding(make_ctx("wq"), f["id"], [proof])
            verify_finding(make_ctx("boss"), f["id"])


@pytest.mark.usefixtures("world")
def test_validity_ends_during_rectification_the_state_stays_and_the_findings_go_on(make_ctx, tmp_path, clock):
    assess(make_ctx, tmp_path, clock, CODE, DEDUCTIONS, on="2023-07-10")
    before = shown(make_ctx)
    assert (before["state"], before["grade"], before["grade_label"]) == ("rectifying", "valid", "有效")
    report = sweep(make_ctx, clock, "2023-08-02")  # the day after the validity's last day
    assert report.escalations == 1
    after = shown(make_ctx)
    assert after["state"] == "rectifying"  # the case goes on
    assert (after["grade"], after["grade_label"]) == ("expired", "有效期届满")
    assert after["validity_ended_on"] == date(2023, 8, 2)
    assert after["open_findings"] == 1
    last = plain(timeline(make_ctx(), CODE))[-1]
    assert (last["event"], last["from_state"], last["to_state"], last["actor"]) == (
        "expire", "rectifying", "rectifying", "system")
    finding_deadlines = [d for s, d in deadlines_of(make_ctx, CODE).items() if s.startswith("finding:")]
    assert [d["status"] for d in finding_deadlines] == ["open"]  # not cancelled by the expiry
    report = sweep(make_ctx, clock, "2023-08-14")  # the finding, overdue five working days, still escalates
    assert report.escalations == 1
    assert shown(make_ctx)["state"] == "interview"
    assert shown(make_ctx)["grade"] == "expired"
    assert sweep(make_ctx, clock, "2023-08-15").escalations == 0  # expire once
    assert [e["event"] for e in plain(timeline(make_ctx(), CODE))].count("expire") == 1
    assert verify_audit(make_ctx()).ok


@pytest.mark.usefixtures("world")
def test_a_case_closed_after_the_validity_ended_ends_in_expired(make_ctx, tmp_path, clock):
    assess(make_ctx, tmp_path, clock, CODE, DEDUCTIONS, on="2023-07-10")
    sweep(make_ctx, clock, "2023-08-02")
    rectified(make_ctx, tmp_path, clock, "2023-08-03")
    clock.set(at("2023-08-03 11:00"))
    fired = fire_event(make_ctx("wq"), CODE, "close", reason="整改闭环")
    assert (fired.from_state, fired.to_state) == ("rectifying", "expired")
    assert (shown(make_ctx)["state"], shown(make_ctx)["grade"]) == ("expired", "expired")


@pytest.mark.usefixtures("world")
def test_a_close_the_guard_refuses_stays_refused_after_the_expiry(make_ctx, tmp_path, clock):
    assess(make_ctx, tmp_path, clock, CODE, DEDUCTIONS, on="2023-07-10")
    sweep(make_ctx, clock, "2023-08-02")
    clock.set(at("2023-08-03 11:00"))
    with pytest.raises(GuardFailed) as info:
        fire_event(make_ctx("wq"), CODE, "close", reason="整改闭环")
    assert info.value.failures == [("all_findings_verified", info.value.failures[0][1])]  # said once, not per route


@pytest.mark.usefixtures("world")
def test_a_revocation_withdrawn_after_the_validity_ended_ends_in_expired(make_ctx, clock):
    clock.set(at("2023-07-20 10:00"))
    fire_event(make_ctx("wq"), CODE, "propose_revocation", reason="日常检查",
               data={"revocation_reason": "fatal_accident", "revocation_source": "daily_inspection"})
    sweep(make_ctx, clock, "2023-08-02")
    assert (shown(make_ctx)["state"], shown(make_ctx)["grade"]) == ("revocation_pending", "expired")
    clock.set(at("2023-08-03 10:00"))
    fired = fire_event(make_ctx("wq"), CODE, "withdraw_revocation", reason="异议成立", data={"objection": "非本企业"})
    assert fired.to_state == "expired"


@pytest.mark.usefixtures("world")
def test_an_assessment_recorded_after_the_validity_ended_with_nothing_found_ends_in_expired(make_ctx, tmp_path,
                                                                                         clock):
    sweep(make_ctx, clock, "2023-08-02")  # under assessment (the campaign opened it) when the validity ends
    assert (shown(make_ctx)["state"], shown(make_ctx)["grade"]) == ("assessing", "expired")
    assess(make_ctx, tmp_path, clock, CODE, [], on="2023-08-03")
    assert shown(make_ctx)["state"] == "expired"


@pytest.mark.usefixtures("world")
def test_a_renewal_during_the_case_keeps_the_state_and_restores_the_grade(make_ctx, tmp_path, clock):
    assess(make_ctx, tmp_path, clock, CODE, DEDUCTIONS, on="2023-07-10")
    sweep(make_ctx, clock, "2023-08-02")
    clock.set(at("2023-08-03 10:00"))
    fired = fire_event(make_ctx("boss"), CODE, "renew", reason="延续定级",
                       data={"valid_until": "2026-08-02", "certificate_no": "津AQBJXⅢ202300777"})
    assert (fired.from_state, fired.to_state) == ("rectifying", "rectifying")
    now = shown(make_ctx)
    assert (now["grade"], now["validity_ended_on"], now["valid_until"]) == ("valid", None, date(2026, 8, 2))
    validity = next(d for s, d in deadlines_of(make_ctx, CODE).items() if s.startswith("validity:"))
    assert (validity["due_on"], validity["status"]) == (date(2026, 8, 2), "open")
    rectified(make_ctx, tmp_path, clock, "2023-08-04")
    clock.set(at("2023-08-04 11:00"))
    assert fire_event(make_ctx("wq"), CODE, "close", reason="整改闭环").to_state == "closed"


@pytest.mark.usefixtures("world")
def test_the_past_is_read_with_its_grade(make_ctx, tmp_path, clock):
    assess(make_ctx, tmp_path, clock, CODE, DEDUCTIONS, on="2023-07-10")
    sweep(make_ctx, clock, "2023-08-02")
    then = shown(make_ctx, as_of=at("2023-07-31 12:00"))
    assert (then["state"], then["grade"], then["validity_ended_on"]) == ("rectifying", "valid", None)
    later = shown(make_ctx, as_of=at("2023-08-02 12:00"))
    assert (later["state"], later["grade"], later["validity_ended_on"]) == ("rectifying", "expired", date(2023, 8, 2))
    listed = {e.credit_code: e for e in list_enterprises(make_ctx())}
    assert (listed[CODE].grade, listed[CODE].grade_label) == ("expired", "有效期届满")
