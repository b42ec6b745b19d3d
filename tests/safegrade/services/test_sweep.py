"""The deadline sweep: every kind of deadline at its edges (day before, day of, day after, across a
holiday), each escalation once, reminders once per (subject, due date, step, audience), and what the
deadline does when the thing is done, paused or moot."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from safegrade.models import Deadline, Enterprise, Reminder, table
from safegrade.services.auditing import verify_audit
from safegrade.services.deadlines import list_deadlines
from safegrade.services.enterprise import show_enterprise, timeline
from safegrade.services.finding import list_findings, reject_finding, submit_finding, verify_finding
from safegrade.services.ledger import import_ledger, reconcile_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import (
    CAMPAIGN,
    DEDUCTIONS,
    MAJOR,
    assess,
    campaign_world,
    outbox,
    plain,
    row,
    write_ledger,
)

REMINDER, DEADLINE, ENTERPRISE = table(Reminder), table(Deadline), table(Enterprise)


@pytest.fixture
def world(make_ctx, tmp_path):
    return campaign_world(make_ctx, tmp_path)


def sweep(make_ctx, clock, when: str):
    clock.set(at(f"{when} 08:00"))
    return sweep_deadlines(make_ctx("system", source="flow"))


def eid(make_ctx, code: str) -> int:
    with make_ctx().store.read() as session:
        return session.execute(select(ENTERPRISE.c.id).where(ENTERPRISE.c.credit_code == code)).scalar_one()


def deadline(make_ctx, subject: str) -> dict:
    with make_ctx().store.read() as session:
        return dict(session.execute(select(DEADLINE).where(DEADLINE.c.subject == subject)).mappings().one())


def finding_of(make_ctx, code):
    (f,) = plain(list_findings(make_ctx("boss"), credit_code=code))
    return f


# --- findings --------------------------------------------------------------------------------------

def test_a_finding_gets_its_reminders_on_their_days_and_each_once(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS)
    f = finding_of(make_ctx, code)
    assert f["due_on"] == date(2023, 8, 7)  # 20 working days after Monday 2023-07-10
    subject = f"finding:{f['id']}"
    assert sweep(make_ctx, clock, "2023-07-30").reminders == 0  # the day before the first reminder
    assert outbox(make_ctx, subject) == []
    assert sweep(make_ctx, clock, "2023-07-31").reminders == 2  # due − 7: enterprise and district
    assert outbox(make_ctx, subject) == [(subject, "-7", "enterprise"), (subject, "-7", "district")]
    clock.set(at("2023-07-31 20:00"))
    assert sweep_deadlines(make_ctx("system")).reminders == 0  # again the same day: nothing new
    report = sweep(make_ctx, clock, "2023-08-07")  # the due day; the sweeps of −3 and −1 did not run
    assert [s for _, s, a in outbox(make_ctx, subject) if a == "enterprise"] == ["-7", "-3", "-1", "0"]
    statuses = [m["status"] for m in _messages(make_ctx, subject) if m["audience"] == "enterprise"]
    assert statuses == ["pending", "superseded", "superseded", "pending"]  # each step queued once, the latest sent
    assert (report.reminders, report.superseded) == (2, 4)
    sweep(make_ctx, clock, "2023-08-08")  # the day after: the next overdue reminder is +3
    assert len(outbox(make_ctx, subject)) == 8
    sweep(make_ctx, clock, "2023-08-10")
    assert outbox(make_ctx, subject)[-1] == (subject, "+3", "district")
    messages = _messages(make_ctx, subject)
    assert "天津市测试0001机械有限公司" in messages[0]["body"]
    assert "2023年08月07日" in messages[0]["body"]
    assert "距期限还有7天" in messages[0]["title"]
    assert "请：请按期完成整改" in messages[0]["body"]
    assert "已逾期3天" in messages[-1]["title"]


def _messages(make_ctx, subject):
    with make_ctx().store.read() as session:
        return [dict(r) for r in session.execute(select(REMINDER).where(REMINDER.c.subject == subject)
                                                 .order_by(REMINDER.c.id)).mappings()]


def test_an_overdue_finding_escalates_once_after_five_working_days_across_a_holiday(make_ctx, world, tmp_path,
                                                                                     clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS, on="2023-08-31")
    f = finding_of(make_ctx, code)
    assert f["due_on"] == date(2023, 9, 28)  # 20 working days after Thursday 2023-08-31
    subject = f"finding:{f['id']}"
    # five working days after 09-28: the National Day holiday (09-29 – 10-06) does not count, the make-up
    # working weekend 10-07/10-08 does: 10-07, 10-08, 10-09, 10-10, 10-11
    for day in ("2023-09-29", "2023-10-03", "2023-10-08", "2023-10-10"):
        report = sweep(make_ctx, clock, day)
        assert report.escalations == 0
        assert plain(show_enterprise(make_ctx(), code))["state"] == "rectifying"
    report = sweep(make_ctx, clock, "2023-10-11")
    assert report.escalations == 1
    assert plain(show_enterprise(make_ctx(), code))["state"] == "interview"
    last = plain(timeline(make_ctx(), code))[-1]
    assert (last["event"], last["actor"], last["role"], last["source"]) == ("escalate", "system", "system", "flow")
    assert subject in last["reason"]
    d = deadline(make_ctx, subject)
    assert d["escalation"] == "fired"
    assert d["escalated_on"] == date(2023, 10, 11)
    assert last["hash"][:16] in d["escalation_note"]
    assert [(s, a) for _, s, a in outbox(make_ctx, subject) if s == "escalation"] == [
        ("escalation", "district"), ("escalation", "bureau")]
    for day in ("2023-10-11", "2023-10-12", "2023-10-30"):  # never again
        assert sweep(make_ctx, clock, day).escalations == 0
    assert [e["event"] for e in plain(timeline(make_ctx(), code))].count("escalate") == 1
    # escalation into 约谈 opened an interview deadline of its own
    assert deadline(make_ctx, f"interview:{eid(make_ctx, code)}")["status"] in ("open", "lapsed")
    assert verify_audit(make_ctx()).ok


def test_two_overdue_findings_of_one_enterprise_escalate_it_once(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, [*DEDUCTIONS, {"item": "ZN01", "points": 4, "content": "无信息化平台"}])
    report = sweep(make_ctx, clock, "2023-08-14")
    assert report.escalations == 1
    assert report.skipped == 1
    assert plain(show_enterprise(make_ctx(), code))["state"] == "interview"  # not on to revocation
    notes = sorted(d["escalation"] for d in plain(list_deadlines(make_ctx(), kind="finding")))
    assert notes == ["fired", "skipped"]


def test_an_escalation_the_state_does_not_allow_is_skipped_with_why_and_not_retried(make_ctx, world, tmp_path,
                                                                                   clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS)
    clock.set(at("2023-08-01 10:00"))
    fire_event(make_ctx("wq"), code, "summon", reason="另案约谈")
    report = sweep(make_ctx, clock, "2023-08-14")
    assert report.escalations == 0
    assert report.skipped == 1
    (d,) = plain(list_deadlines(make_ctx(), kind="finding"))
    assert d["escalation"] == "skipped"
    assert "约谈" in d["escalation_note"]
    assert sweep(make_ctx, clock, "2023-08-15").skipped == 0


def test_evidence_pauses_the_deadline_rejection_resumes_it_and_verification_meets_it(make_ctx, world, tmp_path,
                                                                                     clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS)
    f = finding_of(make_ctx, code)
    subject = f"finding:{f['id']}"
    evidence = tmp_path / "自评报告.pdf"
    evidence.write_bytes(b"%PDF self-assessment")
    clock.set(at("2023-08-01 10:00"))
    plain(submit_finding(make_ctx("wq"), f["id"], [evidence]))
    assert deadline(make_ctx, subject)["status"] == "paused"
    assert sweep(make_ctx, clock, "2023-08-14").escalations == 0  # awaiting verification: no escalation
    assert outbox(make_ctx, subject) == []
    clock.set(at("2023-08-15 10:00"))
    plain(reject_finding(make_ctx("boss"), f["id"], "自评报告未盖章"))
    d = deadline(make_ctx, subject)
    # what fell due while paused is due now
    assert d["status"] == "open"
    assert d["next_on"] <= date(2023, 8, 15)
    report = sweep(make_ctx, clock, "2023-08-16")
    assert report.escalations == 1
    clock.set(at("2023-08-17 10:00"))
    evidence.write_bytes(b"%PDF self-assessment, stamped")  # evidence after a rejection must be new
    plain(submit_finding(make_ctx("wq"), f["id"], [evidence]))
    plain(verify_finding(make_ctx("boss"), f["id"]))
    d = deadline(make_ctx, subject)
    assert d["status"] == "met"
    assert d["next_on"] is None
    assert "验收通过" in d["closed_note"]


def test_a_major_hazard_overdue_proposes_revocation_with_its_reason(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, MAJOR)
    f = finding_of(make_ctx, code)
    # 10 working days
    assert f["major"]
    assert f["due_on"] == date(2023, 7, 24)
    assert plain(show_enterprise(make_ctx(), code))["state"] == "interview"
    clock.set(at("2023-07-12 10:00"))
    fire_event(make_ctx("wq"), code, "hold_interview", reason="约谈", data={"attendees": "法人", "record": "限期整改"})
    assert sweep(make_ctx, clock, "2023-07-24").escalations == 0  # the due day itself
    report = sweep(make_ctx, clock, "2023-07-25")  # the next working day
    assert report.escalations == 1
    shown = plain(show_enterprise(make_ctx(), code))
    assert shown["state"] == "revocation_pending"
    assert shown["revocation_reason"] == "major_hazard_overdue"
    last = plain(timeline(make_ctx(), code))[-1]
    assert last["event"] == "propose_revocation"
    assert last["payload"]["data"]["revocation_source"] == "assessment"
    audiences = [a for _, s, a in outbox(make_ctx, f"finding:{f['id']}") if s == "escalation"]
    assert audiences == ["enterprise", "district", "bureau"]
    assert deadline(make_ctx, f"publicity:{eid(make_ctx, code)}")["due_on"] == shown["publicity_ends_on"]


# --- the enterprise's deadlines: interview, publicity, validity -------------------------------------------

@pytest.mark.usefixtures("world")
def test_an_interview_is_reminded_and_a_missed_one_is_reported(make_ctx, tmp_path, clock):
    clock.set(at("2023-06-05 10:00"))
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "i.csv", [row(90, "河西区")])])
    code = row(90, "河西区")["统一社会信用代码"]
    fire_event(make_ctx("hx"), code, "summon", reason="日常检查发现问题")
    subject = f"interview:{eid(make_ctx, code)}"
    assert deadline(make_ctx, subject)["due_on"] == date(2023, 6, 19)  # 10 working days
    sweep(make_ctx, clock, "2023-06-15")
    assert outbox(make_ctx, subject) == []
    sweep(make_ctx, clock, "2023-06-16")
    assert outbox(make_ctx, subject) == [(subject, "-3", "enterprise"), (subject, "-3", "district")]
    assert sweep(make_ctx, clock, "2023-06-19").notices == 0  # the day itself
    report = sweep(make_ctx, clock, "2023-06-20")
    assert report.notices == 1
    assert report.escalations == 0
    assert outbox(make_ctx, subject)[-1] == (subject, "escalation", "bureau")
    assert deadline(make_ctx, subject)["escalation"] == "noticed"
    clock.set(at("2023-06-21 10:00"))
    fire_event(make_ctx("hx"), code, "hold_interview", reason="约谈", data={"attendees": "法人", "record": "整改"})
    assert deadline(make_ctx, subject)["status"] == "met"


@pytest.mark.usefixtures("world")
def test_summon_with_a_date_sets_that_date(make_ctx, tmp_path, clock):
    clock.set(at("2023-06-05 10:00"))
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "s.csv", [row(80, "河西区")])])
    code = row(80, "河西区")["统一社会信用代码"]
    fire_event(make_ctx("hx"), code, "summon", reason="日常检查发现问题", data={"interview_on": "2023-06-09"})
    e_id = eid(make_ctx, code)
    assert deadline(make_ctx, f"interview:{e_id}")["due_on"] == date(2023, 6, 9)


def test_the_publicity_period_is_reminded_and_its_end_told_to_the_bureau(make_ctx, world, clock):
    code = world.hexi[1]
    clock.set(at("2023-06-05 10:00"))
    fire_event(make_ctx("hx"), code, "propose_revocation", reason="日常检查发现",
               data={"revocation_reason": "fatal_accident", "revocation_source": "daily_inspection"})
    shown = plain(show_enterprise(make_ctx(), code))
    d = deadline(make_ctx, f"publicity:{eid(make_ctx, code)}")
    assert d["due_on"] == shown["publicity_ends_on"] == date(2023, 6, 12)
    sweep(make_ctx, clock, "2023-06-11")
    assert outbox(make_ctx, d["subject"]) == [(d["subject"], "-1", "bureau"), (d["subject"], "-1", "district")]
    sweep(make_ctx, clock, "2023-06-13")
    assert (d["subject"], "escalation", "bureau") in outbox(make_ctx, d["subject"])
    clock.set(at("2023-06-13 10:00"))
    fire_event(make_ctx("boss"), code, "revoke", reason="公示期满无异议")
    assert deadline(make_ctx, d["subject"])["status"] == "met"
    statuses = {x["kind"]: x["status"] for x in plain(list_deadlines(make_ctx(), enterprise_id=eid(make_ctx, code)))}
    assert statuses["validity"] == "cancelled"  # a revoked grade has no validity to remind of


@pytest.mark.usefixtures("world")
def test_validity_is_reminded_and_expires_the_day_after(make_ctx, tmp_path, clock):
    clock.set(at("2024-11-01 09:00"))
    ledger = write_ledger(tmp_path / "late.csv", [row(50, "河西区", valid_until="2024-12-31")])
    import_ledger(make_ctx("boss"), [ledger])
    code = row(50, "河西区")["统一社会信用代码"]
    e_id = eid(make_ctx, code)
    subject = f"validity:{e_id}"
    sweep(make_ctx, clock, "2024-12-01")  # −30
    sweep(make_ctx, clock, "2024-12-24")  # −7
    sweep(make_ctx, clock, "2024-12-31")  # 0
    assert [s for _, s, a in outbox(make_ctx, subject) if a == "enterprise"] == ["-30", "-7", "0"]
    assert plain(show_enterprise(make_ctx(), code))["state"] == "graded"
    assert sweep(make_ctx, clock, "2025-01-01").escalations == 1
    assert plain(show_enterprise(make_ctx(), code))["state"] == "expired"
    assert plain(timeline(make_ctx(), code))[-1]["event"] == "expire"


@pytest.mark.usefixtures("world")
def test_a_grade_already_expired_when_imported_expires_at_the_first_sweep_without_old_reminders(make_ctx,
                                                                                               tmp_path, clock):
    clock.set(at("2023-06-02 09:00"))
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "old.csv", [row(60, "河西区", valid_until="2023-05-31")])])
    code = row(60, "河西区")["统一社会信用代码"]
    report = sweep(make_ctx, clock, "2023-06-03")
    assert report.escalations == 1
    assert plain(show_enterprise(make_ctx(), code))["state"] == "expired"
    e_id = eid(make_ctx, code)
    assert [s for _, s, _ in outbox(make_ctx, f"validity:{e_id}")] == ["escalation", "escalation"]


@pytest.mark.usefixtures("world")
def test_renewal_moves_the_validity_deadline_and_its_reminders_start_again(make_ctx, tmp_path, clock):
    clock.set(at("2024-11-01 09:00"))
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "r.csv", [row(70, "河西区", valid_until="2024-12-31")])])
    code = row(70, "河西区")["统一社会信用代码"]
    e_id = eid(make_ctx, code)
    sweep(make_ctx, clock, "2024-12-01")
    clock.set(at("2024-12-02 10:00"))
    fire_event(make_ctx("boss"), code, "renew", reason="延续", data={"valid_until": "2027-12-31",
                                                                      "certificate_no": "津AQB2024"})
    d = deadline(make_ctx, f"validity:{e_id}")
    assert (d["due_on"], d["status"], d["escalation"]) == (date(2027, 12, 31), "open", None)
    assert sweep(make_ctx, clock, "2025-01-01").escalations == 0


# --- districts: campaign window, ledger submission ---------------------------------------------------

def test_the_campaign_window_reminds_districts_with_work_left_and_tells_the_bureau_when_late(make_ctx, world,
                                                                                            tmp_path, clock):
    for code in world.wuqing:
        assess(make_ctx, tmp_path, clock, code, [], on="2023-08-20")
    sweep(make_ctx, clock, "2023-08-24")  # −7
    boxes = outbox(make_ctx)
    wq, hx = "campaign:1:120114", "campaign:1:120103"
    assert (hx, "-7", "district") in boxes
    assert not [b for b in boxes if b[0] == wq]  # 武清 has assessed every one: met, not reminded
    assert deadline(make_ctx, wq)["status"] == "met"
    sweep(make_ctx, clock, "2023-09-01")
    assert (hx, "escalation", "bureau") in outbox(make_ctx)
    body = _messages(make_ctx, hx)[-1]["body"]
    assert "河西区" in body
    assert "尚有2家未完成" in body


@pytest.mark.usefixtures("world")
def test_a_ledger_submission_meets_the_districts_deadline(make_ctx, tmp_path, clock):
    clock.set(at("2023-12-14 10:00"))
    ledger = write_ledger(tmp_path / "wq-ledger.csv", [row(i, "武清区") for i in (1, 2)])
    done = plain(reconcile_ledger(make_ctx("wq"), [ledger], campaign=CAMPAIGN))
    assert done["submitted"] == [{"district": "120114", "district_name": "武清区", "late_days": 0, "recorded": True}]
    assert deadline(make_ctx, "ledger:1:120114")["status"] == "met"
    sweep(make_ctx, clock, "2023-12-16")
    boxes = outbox(make_ctx)
    assert ("ledger:1:120103", "escalation", "bureau") in boxes
    assert not [b for b in boxes if b[0] == "ledger:1:120114"]


# --- the whole: idempotent, audited -----------------------------------------------------------------

def test_sweeping_twice_or_three_times_changes_nothing_more(make_ctx, world, tmp_path, clock):
    for code in world.all:
        assess(make_ctx, tmp_path, clock, code, DEDUCTIONS, on="2023-07-10", actor="boss")
    first = sweep(make_ctx, clock, "2023-08-14")
    after = (outbox(make_ctx), [e["hash"] for c in world.all for e in plain(timeline(make_ctx(), c))])
    for _ in range(2):
        again = sweep_deadlines(make_ctx("system"))
        assert (again.reminders, again.escalations, again.deadlines) == (0, 0, 0)
    assert (outbox(make_ctx), [e["hash"] for c in world.all for e in plain(timeline(make_ctx(), c))]) == after
    assert first.escalations == 4
    assert verify_audit(make_ctx()).ok


def test_an_enterprises_escalations_of_one_day_are_judged_together_even_across_batches(make_ctx, world, tmp_path,
                                                                                      clock):
    """A finding and a major hazard overdue the same day: the major hazard's revocation is proposed, not an
    interview first — also when the batch would cut between the two deadlines."""
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, [*DEDUCTIONS, *MAJOR], on="2023-07-10")
    clock.set(at("2023-07-11 10:00"))
    fire_event(make_ctx("wq"), code, "hold_interview", reason="约谈", data={"attendees": "法人", "record": "限期整改"})
    clock.set(at("2023-08-14 08:00"))  # both escalations are due: the finding's (08-14), the hazard's (07-25)
    with make_ctx().store.write() as session:  # the finding's deadline is claimed first, alone in its batch
        session.execute(DEADLINE.update().where(DEADLINE.c.kind == "finding").values(next_on=date(2023, 7, 1)))
    report = sweep_deadlines(make_ctx("system", source="flow"), batch_size=1)
    assert report.escalations == 1
    assert report.skipped == 1
    events = [e["event"] for e in plain(timeline(make_ctx(), code))]
    assert events.count("propose_revocation") == 1
    assert "escalate" not in events
    assert plain(show_enterprise(make_ctx(), code))["revocation_reason"] == "major_hazard_overdue"
