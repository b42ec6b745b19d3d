"""When each reminder and escalation of a deadline falls (pure), the Chinese wording, and every way
rules/deadlines.yaml `kinds` can be wrong, each reported with file, key and what is allowed."""

from __future__ import annotations

from datetime import date

import pytest

from safegrade.domain.timetable import actions, days_text, due_actions, next_on
from safegrade.notify.wording import Subject, escalation, progress, reminder
from safegrade.rules import Rules
from tests.factories import edit, problems

D = date


@pytest.mark.parametrize(("kind", "due", "expected"), [
    # finding: 7, 3, 1, 0 before; +3 … +15 after; escalation 5 working days after (National Day skipped,
    # the make-up Saturday and Sunday 10-07/10-08 counted)
    ("finding", D(2023, 9, 28), [(D(2023, 9, 21), "-7"), (D(2023, 9, 25), "-3"), (D(2023, 9, 27), "-1"),
                                 (D(2023, 9, 28), "0"), (D(2023, 10, 1), "+3"), (D(2023, 10, 4), "+6"),
                                 (D(2023, 10, 7), "+9"), (D(2023, 10, 10), "+12"), (D(2023, 10, 11), "escalation"),
                                 (D(2023, 10, 13), "+15")]),
    # a major hazard: escalated the next working day (Friday → Monday)
    ("major_finding", D(2023, 7, 21), [(D(2023, 7, 16), "-5"), (D(2023, 7, 18), "-3"), (D(2023, 7, 20), "-1"),
                                       (D(2023, 7, 21), "0"), (D(2023, 7, 22), "+1"), (D(2023, 7, 23), "+2"),
                                       (D(2023, 7, 24), "+3"), (D(2023, 7, 24), "escalation"),
                                       (D(2023, 7, 25), "+4"), (D(2023, 7, 26), "+5")]),
    # validity: no overdue reminders; expire the day after
    ("validity", D(2024, 12, 31), [(D(2024, 10, 2), "-90"), (D(2024, 12, 1), "-30"), (D(2024, 12, 24), "-7"),
                                   (D(2024, 12, 31), "0"), (D(2025, 1, 1), "escalation")]),
    ("publicity", D(2023, 6, 12), [(D(2023, 6, 11), "-1"), (D(2023, 6, 13), "escalation"), (D(2023, 6, 19), "+7"),
                                   (D(2023, 6, 26), "+14")]),
])
def test_actions_of_each_kind(real: Rules, kind: str, due: date, expected: list[tuple[date, str]]) -> None:
    assert [(a.on, a.step) for a in actions(real.deadlines.kind(kind), due)] == expected


def test_every_kind_has_reminders_and_an_escalation(real: Rules) -> None:
    for key, kind in real.deadlines.kinds.items():
        assert kind.remind, key
        assert kind.escalate is not None, key
        assert set(kind.remind) <= set(kind.todo), key


def test_due_actions_take_each_step_once_and_a_late_escalation_still(real: Rules) -> None:
    kind = real.deadlines.kind("validity")
    due = D(2024, 12, 31)
    # watched from 2024-12-05: the −90 and −30 reminders are the past's; a sweep on 12-24 takes −7
    assert [a.step for a in due_actions(kind, due, D(2024, 12, 4), D(2024, 12, 24), escalated=False)] == ["-7"]
    assert due_actions(kind, due, D(2024, 12, 24), D(2024, 12, 24), escalated=False) == []  # the same day again
    # set long after it passed (a ledger with an expired grade): no old reminder, but the escalation
    assert [a.step for a in due_actions(kind, due, D(2025, 3, 1), D(2025, 3, 2), escalated=False)] == ["escalation"]
    assert due_actions(kind, due, D(2025, 3, 1), D(2025, 3, 2), escalated=True) == []
    assert next_on(kind, due, D(2025, 3, 1), escalated=False) == D(2025, 1, 1)
    assert next_on(kind, due, D(2025, 3, 1), escalated=True) is None


@pytest.mark.parametrize(("days", "text"), [(3, "距期限还有3天"), (0, "今天到期"), (-2, "已逾期2天")])
def test_days_text(days: int, text: str) -> None:
    assert days_text(days) == text


def test_messages_name_the_enterprise_the_deadline_the_days_left_and_what_to_do(real: Rules) -> None:
    s = Subject("整改问题#7（ZP01 未开展年度自评）", "武清区", "天津市测试机械有限公司", "91120114MA00000017", "张三")
    kind = real.deadlines.kind("finding")
    title, body = reminder(kind, "district", s, D(2023, 8, 7), D(2023, 8, 4))
    assert title == "【问题整改期限提醒】天津市测试机械有限公司：距期限还有3天"
    assert body.splitlines() == [
        "区应急管理局：", "事项：整改问题#7（ZP01 未开展年度自评）",
        "企业：天津市测试机械有限公司（91120114MA00000017），武清区，联系人 张三",
        "期限：2023年08月07日（距期限还有3天）", "请：请督促企业按期整改，收到整改材料后及时组织验收"]
    _, to_enterprise = reminder(kind, "enterprise", s, D(2023, 8, 7), D(2023, 8, 4))
    assert "联系人" not in to_enterprise  # the enterprise is not told its own contact
    outcome = "已逾期7天，系统已逾期升级：整改中 → 约谈"
    title, body = escalation(kind, "bureau", s, D(2023, 8, 7), D(2023, 8, 14), outcome)
    assert title.startswith("【问题整改期限逾期】天津市测试机械有限公司")
    assert "处理：已逾期7天" in body
    title, body = progress("2023年运行质量评估", "河西区", 10, 7, D(2023, 8, 31), D(2023, 8, 21))
    assert title == "【运行质量评估进度】河西区：尚有3家未完成"
    assert "应评估10家，已完成7家" in body


# --- bad rules ----------------------------------------------------------------------------------------

BAD = [
    (lambda d: d["kinds"].pop("validity"), "deadlines.yaml: kinds.validity: missing"),
    (lambda d: d["kinds"].update(holiday={"label": "x"}), "deadlines.yaml: kinds.holiday: unknown kind"),
    (lambda d: d["kinds"]["finding"].update(remind=["mayor"]),
     "deadlines.yaml: kinds.finding.remind: unknown audience(s) mayor; allowed: enterprise, district, bureau"),
    (lambda d: d["kinds"]["finding"].update(before=[7, -1]), "deadlines.yaml: kinds.finding.before: -1 must be"),
    (lambda d: d["kinds"]["finding"].update(before="7"), "deadlines.yaml: kinds.finding.before: must be a list"),
    (lambda d: d["kinds"]["finding"].update(colour="red"), "deadlines.yaml: kinds.finding: unknown key(s) colour"),
    (lambda d: d["kinds"]["finding"]["escalate"].update(event="revoke"),
     "deadlines.yaml: kinds.finding.escalate.event: the system actor may not fire 'revoke'"),
    (lambda d: d["kinds"]["finding"]["escalate"].update(event="explode"),
     "deadlines.yaml: kinds.finding.escalate.event: unknown event 'explode'"),
    (lambda d: d["kinds"]["finding"]["escalate"].update({"from": ["revoked"]}),
     "deadlines.yaml: kinds.finding.escalate.from: 'escalate' does not leave revoked"),
    (lambda d: d["kinds"]["finding"]["escalate"].update(after_days=3),
     "deadlines.yaml: kinds.finding.escalate: give exactly one of after_days, after_working_days"),
    (lambda d: d["kinds"]["major_finding"]["escalate"].update(data={"revocation_reason": "boredom"}),
     "deadlines.yaml: kinds.major_finding.escalate.data:"),
    (lambda d: d["kinds"]["interview"]["todo"].pop("bureau"),
     "deadlines.yaml: kinds.interview.todo: says nothing to bureau"),
    (lambda d: d.update(interview_working_days=0), "deadlines.yaml: interview_working_days: 0 must be"),
]


@pytest.mark.parametrize(("breaks", "expected"), BAD)
def test_each_mistake_in_the_deadline_kinds_is_reported(rules_dir, breaks, expected) -> None:
    edit(rules_dir, "deadlines.yaml", breaks)
    found = problems(rules_dir)
    assert any(p.startswith(expected) for p in found), found
