"""The second step of escalation (issue 10, item 4): findings still overdue N working days after the interview
their escalation caused → the system proposes the revocation (未按照标准化管理体系持续有效运行，情节严重), once.
The follow-up (约谈后整改复查期限) is set when the interview is held with findings overdue, met when none is
left, paused while the last ones await verification; `deadlines plan` foresees what the sweep then does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from safegrade.domain.workday import add_working_days
from safegrade.models import Deadline, Enterprise, table
from safegrade.services.auditing import verify_audit
from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import show_enterprise, timeline
from safegrade.services.finding import list_findings, reject_finding, submit_finding, verify_finding
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.plan import plan_deadlines
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import (
    CAMPAIGN,
    DEDUCTIONS,
    assess,
    build_world,
    campaign_world,
    outbox,
    plain,
    row,
    write_ledger,
)

DEADLINE, ENTERPRISE = table(Deadline), table(Enterprise)
TWO = [*DEDUCTIONS, {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化平台"}]
HELD = {"attendees": "企业主要负责人", "record": "责令限期完成整改"}


@pytest.fixture
def sqlite_url(db_url):
    """make_ctx's database: every test here runs on SQLite and on PostgreSQL (the sweep's claims differ)."""
    return db_url


@pytest.fixture
def world(make_ctx, tmp_path):
    return campaign_world(make_ctx, tmp_path)


def sweep(make_ctx, clock, day: str):
    clock.set(at(f"{day} 08:00"))
    return sweep_deadlines(make_ctx("system", source="flow"))


def state(make_ctx, code: str) -> str:
    return plain(show_enterprise(make_ctx(), code))["state"]


def followup(make_ctx, code: str) -> dict:
    with make_ctx().store.read() as session:
        eid = session.execute(select(ENTERPRISE.c.id).where(ENTERPRISE.c.credit_code == code)).scalar_one()
        return dict(session.execute(select(DEADLINE).where(
            DEADLINE.c.subject == f"rectification_followup:{eid}")).mappings().one())


def escalated_and_interviewed(make_ctx, tmp_path, clock, code: str) -> None:
    """整改中 with two findings due 2023-08-07, escalated once to 约谈 on 08-14, interviewed on 08-16."""
    assess(make_ctx, tmp_path, clock, code, TWO, on="2023-07-10")
    assert state(make_ctx, code) == "rectifying"
    report = sweep(make_ctx, clock, "2023-08-14")  # both overdue five working days: one escalation
    assert (report.escalations, state(make_ctx, code)) == (1, "interview")
    clock.set(at("2023-08-16 10:00"))
    fire_event(make_ctx("wq"), code, "hold_interview", reason="逾期整改约谈", data=HELD)
    assert state(make_ctx, code) == "rectifying"


def test_the_story_of_item_4_now_ends_in_revocation_pending_once_by_the_system(make_ctx, world, tmp_path, clock,
                                                                            rules):
    code = world.wuqing[0]
    escalated_and_interviewed(make_ctx, tmp_path, clock, code)
    n = rules.deadlines.rectification_followup_working_days
    due = add_working_days(date(2023, 8, 16), n)
    assert followup(make_ctx, code)["due_on"] == due
    escalation_day = add_working_days(due, 1)
    day = date(2023, 8, 17)
    while day < escalation_day:  # every day before: reminders, never an escalation
        assert sweep(make_ctx, clock, day.isoformat()).escalations == 0, day
        assert state(make_ctx, code) == "rectifying", day
        day += timedelta(days=1)
    report = sweep(make_ctx, clock, escalation_day.isoformat())
    assert report.escalations == 1
    shown = plain(show_enterprise(make_ctx(), code))
    assert (shown["state"], shown["revocation_reason"]) == ("revocation_pending", "poor_operation")
    for later in (1, 2, 9):  # exactly once
        assert sweep(make_ctx, clock, (escalation_day + timedelta(days=later)).isoformat()).escalations == 0
    events = plain(timeline(make_ctx(), code))
    proposals = [e for e in events if e["event"] == "propose_revocation"]
    assert len(proposals) == 1
    (p,) = proposals
    assert (p["actor"], p["role"], p["from_state"], p["to_state"]) == ("system", "system", "rectifying",
                                                                       "revocation_pending")
    assert p["payload"]["data"] == {"revocation_reason": "poor_operation", "revocation_source": "assessment"}
    assert "rectification_followup" in p["reason"]
    assert [e["event"] for e in events].count("escalate") == 1  # the first step, once
    d = followup(make_ctx, code)
    assert (d["escalation"], d["escalated_on"]) == ("fired", escalation_day)
    assert (d["subject"], "escalation", "bureau") in outbox(make_ctx, d["subject"])
    assert verify_audit(make_ctx()).ok


@pytest.mark.usefixtures("world")
def test_no_follow_up_when_the_interview_finds_nothing_overdue(make_ctx, tmp_path, clock):
    clock.set(at("2023-07-03 10:00"))
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "x.csv", [row(90, "河西区")])])
    code = row(90, "河西区")["统一社会信用代码"]
    fire_event(make_ctx("hx"), code, "summon", reason="日常检查")
    clock.set(at("2023-07-05 10:00"))
    fire_event(make_ctx("hx"), code, "hold_interview", reason="约谈", data=HELD)
    with make_ctx().store.read() as session:
        kinds = [r[0] for r in session.execute(select(DEADLINE.c.kind))]
    assert "rectification_followup" not in kinds


def test_verifying_the_overdue_findings_meets_the_follow_up_and_nothing_is_proposed(make_ctx, world, tmp_path,
                                                                                  clock):
    code = world.wuqing[0]
    escalated_and_interviewed(make_ctx, tmp_path, clock, code)
    proof = tmp_path / "整改照片.jpg"
    proof.write_bytes(b"\xff\xd8 photo of the rectified dust system")
    clock.set(at("2023-08-18 10:00"))
    for f in plain(list_findings(make_ctx("boss"), credit_code=code)):
        submit_finding(make_ctx("wq"), f["id"], [proof], "整改完成")
        verify_finding(make_ctx("boss"), f["id"], "复核合格")
    escalation_day = add_working_days(followup(make_ctx, code)["due_on"], 1)
    for day in range(0, 20):
        assert sweep(make_ctx, clock, (date(2023, 8, 19) + timedelta(days=day)).isoformat()).escalations == 0
    d = followup(make_ctx, code)
    assert d["status"] == "met"
    assert d["escalation"] is None
    assert escalation_day < date(2023, 9, 8)
    assert state(make_ctx, code) == "rectifying"


def test_closing_the_case_meets_the_follow_up(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    escalated_and_interviewed(make_ctx, tmp_path, clock, code)
    proof = tmp_path / "制度文本.pdf"
    proof.write_bytes(b"%PDF the new rules")
    clock.set(at("2023-08-18 10:00"))
    for f in plain(list_findings(make_ctx("boss"), credit_code=code)):
        submit_finding(make_ctx("wq"), f["id"], [proof])
        verify_finding(make_ctx("boss"), f["id"])
    fire_event(make_ctx("wq"), code, "close", reason="整改闭环")
    assert followup(make_ctx, code)["status"] == "met"


def test_evidence_awaiting_verification_pauses_the_follow_up_and_a_rejection_makes_it_due(make_ctx, world,
                                                                                         tmp_path, clock):
    code = world.wuqing[0]
    escalated_and_interviewed(make_ctx, tmp_path, clock, code)
    escalation_day = add_working_days(followup(make_ctx, code)["due_on"], 1)
    proof = tmp_path / "整改报告.pdf"
    proof.write_bytes(b"%PDF report")
    clock.set(at("2023-08-18 10:00"))
    findings = plain(list_findings(make_ctx("boss"), credit_code=code))
    for f in findings:
        submit_finding(make_ctx("wq"), f["id"], [proof])
    report = sweep(make_ctx, clock, escalation_day.isoformat())  # both await verification: nobody is late
    assert report.escalations == 0
    assert followup(make_ctx, code)["status"] == "paused"
    clock.set(at(f"{escalation_day + timedelta(days=1)} 10:00"))
    verify_finding(make_ctx("boss"), findings[0]["id"])
    reject_finding(make_ctx("boss"), findings[1]["id"], "照片不清晰")  # open again, and overdue
    assert followup(make_ctx, code)["status"] == "open"
    report = sweep(make_ctx, clock, (escalation_day + timedelta(days=2)).isoformat())
    assert report.escalations == 1
    assert state(make_ctx, code) == "revocation_pending"


def test_plan_foresees_the_follow_up_escalation_and_the_sweep_does_it_on_that_day(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    escalated_and_interviewed(make_ctx, tmp_path, clock, code)
    clock.set(at("2023-08-16 12:00"))
    sweep_deadlines(make_ctx("system", source="flow"))  # the day's sweep, up to date before the plan's first day
    start, end = date(2023, 8, 17), date(2023, 9, 30)
    clock.set(at("2023-08-17 07:00"))
    plan = plain(plan_deadlines(make_ctx("boss"), start, end))
    planned: dict[date, set[tuple[str, str, str]]] = {}
    events: dict[date, list[str]] = {}
    for day in plan["days"]:
        for item in day["items"]:
            if item["what"] != "progress":
                for a in item["audiences"]:
                    planned.setdefault(day["date"], set()).add((item["subject"], item["step"], a))
            if item["what"] == "event":
                events.setdefault(day["date"], []).append(item["subject"])
    followups = [(d, s) for d, subjects in events.items() for s in subjects if s.startswith("rectification_followup")]
    assert len(followups) == 1
    assert followups[0][0] == add_working_days(followup(make_ctx, code)["due_on"], 1)
    seen = set(outbox(make_ctx))
    day = start
    while day <= end:
        report = sweep(make_ctx, clock, day.isoformat())
        now = {o for o in outbox(make_ctx) if not o[1].startswith("progress")}
        assert now - seen == planned.get(day, set()), day
        assert report.escalations == len(events.get(day, [])), day
        seen = now
        day += timedelta(days=1)


def test_an_expiry_due_the_same_day_is_fired_beside_the_follow_ups_revocation(make_ctx, tmp_path, clock, rules):
    """The grade's validity ends the day the follow-up escalates: the revocation is proposed (the day's move) and
    the expiry recorded beside it (it keeps the state), in the sweep and in the plan alike."""
    escalation_day = add_working_days(add_working_days(date(2023, 8, 16),
                                                       rules.deadlines.rectification_followup_working_days), 1)
    valid_until = escalation_day - timedelta(days=1)
    build_world(make_ctx, tmp_path, per_district=1)
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "short.csv",
                                                  [row(9, "武清区", valid_until=valid_until.isoformat())])])
    open_campaign(make_ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    code = row(9, "武清区")["统一社会信用代码"]
    escalated_and_interviewed(make_ctx, tmp_path, clock, code)
    clock.set(at("2023-08-16 12:00"))
    sweep_deadlines(make_ctx("system", source="flow"))
    plan = plain(plan_deadlines(make_ctx("boss"), date(2023, 8, 17), escalation_day))
    planned = [(i["kind"], i["what"]) for d in plan["days"] if d["date"] == escalation_day for i in d["items"]
               if i["what"] in ("event", "skipped")]
    assert sorted(planned) == [("rectification_followup", "event"), ("validity", "event")]
    day = date(2023, 8, 17)
    while day < escalation_day:
        assert sweep(make_ctx, clock, day.isoformat()).escalations == 0, day
        day += timedelta(days=1)
    report = sweep(make_ctx, clock, escalation_day.isoformat())
    assert (report.escalations, report.skipped) == (2, 0)
    shown = plain(show_enterprise(make_ctx(), code))
    assert (shown["state"], shown["grade"], shown["validity_ended_on"]) == (
        "revocation_pending", "expired", escalation_day)
    by_system = [(e["event"], e["from_state"], e["to_state"]) for e in plain(timeline(make_ctx(), code))
                 if e["actor"] == "system"]
    assert by_system[-2:] == [("propose_revocation", "rectifying", "revocation_pending"),
                              ("expire", "revocation_pending", "revocation_pending")]
    assert verify_audit(make_ctx()).ok
