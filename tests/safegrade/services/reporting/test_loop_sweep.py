"""The closed-loop report over what the real deadline sweep leaves behind: the same loop as loop_world,
but reminders, the escalation and its note written by `sweep_deadlines` and delivered by
`send_reminders`, day by day. The report must show exactly the outbox rows and name the event the
sweep fired."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from safegrade.models import Reminder, table
from safegrade.services.actors import add_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import timeline
from safegrade.services.finding import reject_finding, submit_finding, verify_finding
from safegrade.services.lifecycle import fire_event
from safegrade.services.reminders import send_reminders
from safegrade.services.reporting.loop import loop_report
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import build_world, plain
from tests.safegrade.services.reporting.loop_world import (
    CAMPAIGN,
    DEDUCTIONS,
    assessment_file,
    doc,
    enterprise_id,
    evidence_file,
    finding_ids,
)

REMINDER = table(Reminder)


def test_the_report_shows_what_the_sweep_did(make_ctx, tmp_path, clock):
    world = build_world(make_ctx, tmp_path, per_district=1)
    boss = make_ctx("boss")
    add_actor(boss, "wq2", "district", district="武清区")
    code = world.wuqing[0]
    add_actor(boss, "企业甲", "enterprise", enterprise_code=code)
    open_campaign(boss, CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    enterprise, wq, wq2, system = make_ctx("企业甲"), make_ctx("wq"), make_ctx("wq2"), make_ctx("system", source="flow")
    clock.set(at("2023-07-10 16:00"))
    import_assessments(wq, [assessment_file(tmp_path, [doc(code, DEDUCTIONS, "2023-07-10")])])
    first, second = finding_ids(wq, enterprise_id(wq, code))
    proof = evidence_file(tmp_path, "自评报告.pdf", b"%PDF report")
    signed = evidence_file(tmp_path, "自评报告-签字.pdf", b"%PDF report, signed")  # new after the rejection
    actions = {  # what people do on a day, after that morning's sweep
        date(2023, 7, 11): lambda: submit_finding(enterprise, first, [proof]),
        date(2023, 7, 12): lambda: reject_finding(wq, first, "未签字"),
        date(2023, 7, 13): lambda: submit_finding(enterprise, first, [signed]),
        date(2023, 7, 14): lambda: verify_finding(wq2, first),
        date(2023, 8, 16): lambda: fire_event(wq, code, "hold_interview", reason="逾期约谈",
                                              data={"attendees": "法定代表人", "record": "限期整改"}),
        date(2023, 8, 21): lambda: submit_finding(enterprise, second, [evidence_file(tmp_path, "平台.png", b"png")]),
        date(2023, 8, 22): lambda: verify_finding(wq2, second),
        date(2023, 8, 23): lambda: fire_event(wq, code, "close", reason="全部销号"),
    }
    day = date(2023, 7, 11)
    while day <= date(2023, 9, 1):
        clock.set(at(f"{day} 08:00"))
        sweep_deadlines(system)
        send_reminders(system)
        if day in actions:
            clock.set(at(f"{day} 10:00"))
            actions[day]()
        day += timedelta(days=1)

    report = plain(loop_report(make_ctx(), code))
    assert report["chain_ok"]
    (e,) = report["enterprises"]
    f1, f2 = e["findings"]
    with wq.store.read() as session:
        outbox = {s: [dict(r) for r in session.execute(select(REMINDER).where(REMINDER.c.subject == s)
                                                        .order_by(REMINDER.c.due_on, REMINDER.c.id)).mappings()]
                  for s in (f"finding:{first}", f"finding:{second}")}
    assert f1["reminders"] == [] == outbox[f"finding:{first}"]  # verified before its first reminder (-7)
    assert [(r["id"], r["step"], r["audience"], r["status"]) for r in f2["reminders"]] == \
        [(r["id"], r["step"], r["audience"], r["status"]) for r in outbox[f"finding:{second}"]]
    steps = {r["step"] for r in f2["reminders"]}
    assert {"-7", "-3", "0", "+3", "escalation"} <= steps
    assert f2["reminders_sent"] == sum(r["status"] == "sent" for r in outbox[f"finding:{second}"]) > 0
    (escalated,) = [x for x in plain(timeline(make_ctx(), code)) if x["event"] == "escalate"]
    assert escalated["actor"] == "system"
    assert escalated["source"] == "flow"
    deadline = f2["deadline"]
    # the sweep writes a sentence holding the hash's first 16 digits; the report finds the event it names
    assert deadline["escalation"] == "fired"
    assert escalated["hash"][:16] in deadline["escalation_note"]
    assert deadline["escalation_event"]["hash"] == escalated["hash"]
    assert deadline["escalated_on"] == date(2023, 8, 14)
    assert deadline["status"] == "met"
    (x,) = e["escalations"]
    assert (x["hash"], x["automatic"], x["deadline"], x["to_state"]) == (escalated["hash"], True,
                                                                          f"finding:{second}", "interview")
    assert e["other_escalations"] == []
    assert f1["problems"] == f2["problems"] == []
    assert (f1["days_to_close"], f2["days_to_close"], f2["overdue_days"]) == (4, 43, 15)
