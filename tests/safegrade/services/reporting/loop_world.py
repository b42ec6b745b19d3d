"""A closed loop built through the real services, for the reviewer's report tests.

武清 enterprise 0 is assessed on Monday 2023-07-10 with two findings, both due 2023-08-07 (20 working
days). Finding 1 is submitted by the enterprise, rejected, submitted again with two files and verified
by a second officer on 07-14. Finding 2 is left overdue: reminders go out (one fails), the system
escalates it on 08-14 (5 working days after the due date) to an interview, the interview is held,
evidence comes on 08-21 and is verified on 08-22; the loop is closed on 08-23. The deadline sweep's
rows (Deadline, Reminder) are written with Core inserts that follow its semantics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert, select, update

from safegrade.clock import FixedClock
from safegrade.models import Deadline, Finding, Reminder, table
from safegrade.services.actors import add_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.finding import reject_finding, submit_finding, verify_finding
from safegrade.services.lifecycle import fire_event
from tests.conftest import at
from tests.factories import World, build_world, plain

CAMPAIGN = "2023年运行质量评估"
DEADLINE, REMINDER, FINDING = table(Deadline), table(Reminder), table(Finding)
DEDUCTIONS = [
    {"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"},
    {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化管理平台"},
]


@dataclass
class LoopWorld:
    world: World
    code: str
    first: int  # the finding rejected once, verified on time
    second: int  # the finding escalated, verified late
    files: dict[str, Path]
    escalation_hash: str


def assessment_file(tmp_path: Path, docs: list[dict[str, Any]], name: str = "assess.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(docs, allow_unicode=True), encoding="utf-8")
    return path


def doc(code: str, deductions: list[dict[str, Any]], assessed_on: str, campaign: str = CAMPAIGN,
        **extra: Any) -> dict[str, Any]:
    return {"credit_code": code, "campaign": campaign, "assessed_on": assessed_on, "assessors": ["王工", "李工"],
            "methods": ["资料审查", "现场检查"], "deductions": deductions, "materials": {"口袋书": 50}, **extra}


def evidence_file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def past(ctx: Any, when: str) -> Any:
    """The context asked as of `when` ('YYYY-MM-DD HH:MM', what `--as-of` gives a command), on the same
    database and with the same actor."""
    return replace(ctx, clock=FixedClock(at(when)))


def put_deadline(ctx: Any, kind: str, subject: str, **values: Any) -> None:
    """A Deadline row as the sweep keeps it (one per kind and subject): the given columns updated if the
    row exists (the use cases may have opened it), else inserted with the sweep's defaults."""
    now = ctx.now()
    with ctx.store.write() as session:
        found = session.execute(select(DEADLINE.c.id).where(DEADLINE.c.kind == kind,
                                                            DEADLINE.c.subject == subject)).scalar()
        if found is None:
            session.execute(insert(DEADLINE), [{
                "kind": kind, "subject": subject, "status": "open", "escalation": None, "escalated_on": None,
                "escalation_note": None, "closed_note": None, "next_on": None, "done_through": values["due_on"],
                "created_at": now, "updated_at": now, **values}])
        else:
            session.execute(update(DEADLINE).where(DEADLINE.c.id == found).values(updated_at=now, **values))


def put_reminder(ctx: Any, *, subject: str, due_on: date, step: str, audience: str, enterprise_id: int,
                 district: str, status: str = "sent", attempts: int = 1, last_error: str | None = None,
                 kind: str = "finding") -> None:
    """A Reminder (outbox) row queued now and, when sent, sent a minute later."""
    now = ctx.now()
    with ctx.store.write() as session:
        deadline_id = session.execute(select(DEADLINE.c.id).where(DEADLINE.c.subject == subject)).scalar()
        session.execute(insert(REMINDER), [{
            "deadline_id": deadline_id, "kind": kind, "subject": subject, "due_on": due_on, "step": step,
            "audience": audience, "enterprise_id": enterprise_id, "district": district,
            "title": f"问题整改期限提醒（{step}）", "body": "请按期完成整改", "queued_at": now, "status": status,
            "attempts": attempts, "next_attempt_at": now + timedelta(minutes=5), "last_error": last_error,
            "sent_at": now + timedelta(minutes=1) if status == "sent" else None,
            "delivered_to": ["mailto"] if status == "sent" else [], "updated_at": now}])


def finding_ids(ctx: Any, enterprise_id: int) -> list[int]:
    with ctx.store.read() as session:
        return list(session.execute(select(FINDING.c.id).where(FINDING.c.enterprise_id == enterprise_id)
                                    .order_by(FINDING.c.id)).scalars())


def enterprise_id(ctx: Any, code: str) -> int:
    from safegrade.models import Enterprise
    with ctx.store.read() as session:
        return int(session.execute(select(table(Enterprise).c.id).where(
            table(Enterprise).c.credit_code == code)).scalar_one())


def build_loop(make_ctx: Any, tmp_path: Path, clock: Any, url: str | None = None) -> LoopWorld:
    world = build_world(make_ctx, tmp_path, per_district=2, url=url)
    boss = make_ctx("boss", url=url)
    add_actor(boss, "wq2", "district", district="武清区")
    code = world.wuqing[0]
    add_actor(boss, "企业甲", "enterprise", enterprise_code=code)
    open_campaign(boss, CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    enterprise, wq, wq2 = make_ctx("企业甲", url=url), make_ctx("wq", url=url), make_ctx("wq2", url=url)
    system = make_ctx("system", url=url, source="flow")

    def on(when: str) -> None:
        clock.set(at(when))

    on("2023-07-10 16:00")
    import_assessments(wq, [assessment_file(tmp_path, [doc(code, DEDUCTIONS, "2023-07-10")])])
    ent_id = enterprise_id(wq, code)
    first, second = finding_ids(wq, ent_id)
    files = {"report": evidence_file(tmp_path, "自评报告.pdf", b"%PDF-1.4 self-assessment, unsigned"),
             "signed": evidence_file(tmp_path, "自评报告-签字版.pdf", b"%PDF-1.4 self-assessment, signed"),
             "photo": evidence_file(tmp_path, "现场照片.jpg", b"\xff\xd8\xff photo of the signed report"),
             "platform": evidence_file(tmp_path, "平台截图.png", b"\x89PNG informatization platform")}
    for sub, due in ((first, date(2023, 8, 7)), (second, date(2023, 8, 7))):
        put_deadline(wq, "finding", f"finding:{sub}", enterprise_id=ent_id, finding_id=sub,
                     district="120114", due_on=due, done_through=date(2023, 7, 9), next_on=date(2023, 7, 31))

    on("2023-07-11 10:00")
    plain(submit_finding(enterprise, first, [files["report"]], "已开展自评"))
    on("2023-07-12 10:00")
    plain(reject_finding(wq, first, "自评报告未经主要负责人签字"))
    on("2023-07-13 10:00")
    plain(submit_finding(enterprise, first, [files["signed"], files["photo"]]))
    on("2023-07-14 15:00")
    plain(verify_finding(wq2, first))
    put_deadline(wq, "finding", f"finding:{first}", status="met", next_on=None, closed_note="2023-07-14 验收销号")

    subject = f"finding:{second}"
    for when, step, audiences in (("2023-08-04 08:00", "-3", ["enterprise"]),
                                  ("2023-08-07 08:00", "0", ["enterprise", "district"]),
                                  ("2023-08-10 08:00", "+3", ["enterprise", "district"])):
        on(when)
        for audience in audiences:
            failed = step == "+3" and audience == "district"
            put_reminder(wq, subject=subject, due_on=date(2023, 8, 7), step=step, audience=audience,
                         enterprise_id=ent_id, district="120114", status="failed" if failed else "sent",
                         attempts=3 if failed else 1, last_error="SMTP timeout" if failed else None)
    on("2023-08-14 08:00")
    fired = fire_event(system, code, "escalate", reason="问题整改逾期5个工作日：未建立安全生产信息化管理平台",
                       data={})
    put_deadline(wq, "finding", subject, status="open", escalation="fired", escalated_on=date(2023, 8, 14),
                 escalation_note=fired.hash, done_through=date(2023, 8, 14), next_on=date(2023, 8, 16))
    for audience in ("district", "bureau"):
        put_reminder(wq, subject=subject, due_on=date(2023, 8, 7), step="escalation", audience=audience,
                     enterprise_id=ent_id, district="120114")
    on("2023-08-16 09:30")
    fire_event(wq, code, "hold_interview", reason="逾期未整改约谈",
               data={"attendees": "法定代表人、安全负责人", "record": "责令8月25日前完成"})
    on("2023-08-21 10:00")
    plain(submit_finding(enterprise, second, [files["platform"]]))
    on("2023-08-22 11:00")
    plain(verify_finding(wq2, second))
    put_deadline(wq, "finding", subject, status="met", next_on=None, closed_note="2023-08-22 验收销号")
    on("2023-08-23 09:00")
    fire_event(wq, code, "close", reason="全部问题验收销号")
    on("2023-09-01 09:00")
    return LoopWorld(world, code, first, second, files, fired.hash)
