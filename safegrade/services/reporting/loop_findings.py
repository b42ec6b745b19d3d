"""One finding's closed loop as the reviewer's report shows it: submissions, rejections and the
verification from the audit trail, the evidence table beside them, the deadline with its escalation
and reminders, the derived days, and every disagreement between the tables and the trail."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from safegrade.audit.chain import ChainEvent
from safegrade.services.context import Context
from safegrade.services.deadlines import STATUS_LABELS as DEADLINE_STATUS
from safegrade.services.finding import STATUS_LABELS
from safegrade.services.reminders import STATUS_LABELS as REMINDER_STATUS
from safegrade.services.reminders import step_label
from safegrade.services.reporting.loop_trail import EventRef, Trail, TrailFile, event_ref, files_of, instant
from states.names import RecordEvent

ESCALATION_LABELS = {"fired": "已升级", "noticed": "已通报", "skipped": "未升级（已跳过）"}
AUDIENCE_LABELS = {"enterprise": "企业", "district": "区应急管理局", "bureau": "市应急管理局"}
_HEX = re.compile(r"[0-9a-f]{16,64}")


@dataclass(frozen=True, slots=True)
class ActedEvent(EventRef):
    """A finding's audit event (submitted, rejected, verified): how it is named, when, by whom, why."""

    actor: str
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class Submission(ActedEvent):
    """A finding_submitted event, with the evidence files it names."""

    files: list[TrailFile]


@dataclass(frozen=True, slots=True)
class EventId:
    id: int
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """An evidence row, with the submission event of the trail that names the same file and hash."""

    file: str
    sha256: str
    size: int
    submitted_by: str
    submitted_at: datetime | None
    in_trail: bool
    event: EventId | None


@dataclass(frozen=True, slots=True)
class DeadlineRecord:
    """A deadline with its labels and, when its escalation fired, the audit event its note names."""

    subject: str
    kind: str
    kind_label: str
    due_on: date
    status: str
    status_label: str
    escalation: str | None
    escalation_label: str
    escalated_on: date | None
    escalation_note: str | None
    closed_note: str | None
    escalation_event: EventRef | None


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    id: int
    subject: str
    finding_id: int | None
    kind: str
    kind_label: str
    due_on: date
    step: str
    step_label: str
    audience: str
    audience_label: str
    title: str
    status: str
    status_label: str
    queued_at: datetime | None
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    delivered_to: list[str]


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """One finding's closed loop: the trail's events, the evidence, the deadline, the days, the problems."""

    id: int
    campaign: str | None
    assessment_id: int | None
    element: str
    element_label: str
    item: str
    item_label: str
    content: str
    major: bool
    registered_on: date
    due_on: date
    status: str
    status_label: str
    submissions: list[Submission]
    rejections: list[ActedEvent]
    verification: ActedEvent | None
    verified_by: str | None
    verified_at: datetime | None
    evidence: list[EvidenceRecord]
    days_to_close: int | None
    overdue_days: int
    closed_late: bool
    deadline: DeadlineRecord | None
    reminders: list[ReminderRecord]
    reminders_sent: int
    problems: list[str]


def kind_label(ctx: Context, kind: str) -> str:
    """The deadline kind's name from rules/deadlines.yaml, or the key when the rules do not know it."""
    found = ctx.rules.deadlines.kinds.get(kind)
    return found.label if found is not None else kind


def _step_label(step: str) -> str:
    """The outbox's step as people read it: 到期前3天, 到期当日, 逾期3天, 逾期升级, 进度通报（2023-W32）."""
    return f"进度通报（{step.split(':', 1)[1]}）" if step.startswith("progress:") else step_label(step)


def noted_event(note: str | None, by_hash: Mapping[str, ChainEvent]) -> ChainEvent | None:
    """The audit event an escalation note names: the note is the event's hash, or holds its first 16
    or more hex digits in a sentence ("…（审计 1a2b…）"); None when no event of the chain has it."""
    for token in _HEX.findall(note or ""):
        if token in by_hash:
            return by_hash[token]
        found = [e for h, e in by_hash.items() if h.startswith(token)]
        if len(found) == 1:
            return found[0]
    return None


def labels_of_deadline(ctx: Context, d: Mapping[str, Any], by_hash: Mapping[str, ChainEvent],
                       local: Any) -> DeadlineRecord:
    """A deadline row with its labels and, when its escalation fired, the audit event its note names."""
    note = d["escalation_note"]
    fired = noted_event(note, by_hash) if d["escalation"] == "fired" else None
    return DeadlineRecord(
        subject=d["subject"], kind=d["kind"], kind_label=kind_label(ctx, d["kind"]), due_on=d["due_on"],
        status=d["status"], status_label=DEADLINE_STATUS.get(d["status"], d["status"]), escalation=d["escalation"],
        escalation_label=ESCALATION_LABELS.get(d["escalation"] or "", d["escalation"] or ""),
        escalated_on=d["escalated_on"], escalation_note=note, closed_note=d.get("closed_note"),
        escalation_event=event_ref(fired, local(instant(fired))) if fired else None)


def reminder_record(ctx: Context, r: Mapping[str, Any], local: Any) -> ReminderRecord:
    subject = str(r["subject"])
    finding = int(subject.split(":", 1)[1]) if subject.startswith("finding:") and subject[8:].isdigit() else None
    return ReminderRecord(
        id=r["id"], subject=subject, finding_id=finding, kind=r["kind"], kind_label=kind_label(ctx, r["kind"]),
        due_on=r["due_on"], step=r["step"], step_label=_step_label(str(r["step"])), audience=r["audience"],
        audience_label=AUDIENCE_LABELS.get(r["audience"], r["audience"]), title=r["title"], status=r["status"],
        status_label=REMINDER_STATUS.get(r["status"], r["status"]), queued_at=local(r["queued_at"]),
        sent_at=local(r["sent_at"]), attempts=r["attempts"], last_error=r["last_error"],
        delivered_to=list(r["delivered_to"] or []))


def finding_record(ctx: Context, f: Mapping[str, Any], trail: Trail, events: Sequence[ChainEvent],
                   evidence: Sequence[Mapping[str, Any]], deadline: Mapping[str, Any] | None,
                   by_hash: Mapping[str, ChainEvent], reminders: Sequence[Mapping[str, Any]],
                   today: date) -> FindingRecord:
    """The finding's loop, with its days and the problems a reviewer must see."""
    zone = ctx.settings.zone

    def local(at: Any) -> Any:
        return at.astimezone(zone) if at is not None else None

    def ref(e: ChainEvent) -> ActedEvent:
        return ActedEvent(id=e.id, enterprise=e.enterprise, seq=e.seq, hash=e.hash, event=e.event,
                          at=local(instant(e)), actor=e.actor, role=e.role, reason=e.reason)

    submissions = [Submission(id=e.id, enterprise=e.enterprise, seq=e.seq, hash=e.hash, event=e.event,
                              at=local(instant(e)), actor=e.actor, role=e.role, reason=e.reason,
                              files=files_of(trail, [e])) for e in events if e.event == RecordEvent.FINDING_SUBMITTED]
    rejections = [ref(e) for e in events if e.event == RecordEvent.FINDING_REJECTED]
    verifications = [ref(e) for e in events if e.event == RecordEvent.FINDING_VERIFIED]
    verification = verifications[-1] if verifications else None
    verified_at = verification.at if verification else (local(f["verified_at"]) if f["status"] == "verified"
                                                            else None)
    registered_on = f["assessed_on"] or local(f["created_at"]).date()
    closed_on = verified_at.date() if verified_at is not None else None
    end = closed_on or today
    overdue = max(0, (end - f["due_on"]).days)
    item = ctx.rules.assessment.items.get(f["item"])
    element = ctx.rules.assessment.elements.get(f["element"])
    subject = f"finding:{f['id']}"
    status_label = STATUS_LABELS.get(f["status"], f["status"])
    noted = labels_of_deadline(ctx, deadline, by_hash, local) if deadline else None
    sent = [reminder_record(ctx, r, local) for r in reminders if r["subject"] == subject]
    return FindingRecord(
        id=f["id"], campaign=f["campaign"], assessment_id=f["assessment_id"],
        element=f["element"], element_label=element.label if element else f["element"],
        item=f["item"], item_label=item.label if item else f["item"], content=f["content"],
        major=bool(f["major"]), registered_on=registered_on, due_on=f["due_on"], status=f["status"],
        status_label=status_label, submissions=submissions, rejections=rejections, verification=verification,
        verified_by=f["verified_by"], verified_at=local(f["verified_at"]),
        evidence=[_evidence(e, submissions, local) for e in evidence],
        days_to_close=(closed_on - registered_on).days if closed_on else None,
        overdue_days=overdue, closed_late=bool(closed_on and overdue), deadline=noted, reminders=sent,
        reminders_sent=sum(r.status == "sent" for r in sent),
        problems=_problems(f, submissions, verification, status_label, noted, evidence, trail))


def _evidence(e: Mapping[str, Any], submissions: Sequence[Submission], local: Any) -> EvidenceRecord:
    """An evidence row, with the submission event of the trail that names the same file and hash."""
    event = next((s for s in submissions for x in s.files if (x.file, x.sha256) == (e["file_name"], e["sha256"])),
                 None)
    return EvidenceRecord(file=e["file_name"], sha256=e["sha256"], size=e["size"], submitted_by=e["submitted_by"],
                          submitted_at=local(e["submitted_at"]), in_trail=event is not None,
                          event=EventId(id=event.id, seq=event.seq, hash=event.hash) if event else None)


def _problems(f: Mapping[str, Any], submissions: Sequence[Submission], v: ActedEvent | None, status_label: str,
              d: DeadlineRecord | None, evidence: Sequence[Mapping[str, Any]], trail: Trail) -> list[str]:
    """Where the finding's tables and its audit trail disagree, or the loop broke a rule."""
    out = []
    table_files = {(e["file_name"], e["sha256"]) for e in evidence}
    trail_files = {(x.file, x.sha256) for s in submissions for x in s.files}
    out += [f"整改材料 {name}（SHA-256 {sha[:12]}…）在材料表中，审计链中无提交记录"
            for name, sha in sorted(table_files - trail_files)]
    out += [f"审计链记录提交的材料 {name}（SHA-256 {sha[:12]}…）不在材料表中"
            for name, sha in sorted(trail_files - table_files)]
    if f["status"] == "verified" and v is None:
        out.append("状态为已验收销号，但审计链中没有验收事件")
    if v is not None and f["status"] != "verified":
        out.append(f"审计链第{v.seq}号事件记录了验收，但问题状态为{status_label}")
    if v is not None and f["verified_by"] and f["verified_by"] != v.actor:
        out.append(f"验收人不一致：问题记录为 {f['verified_by']}，审计链为 {v.actor}")
    submitters = {f["submitted_by"], *(e["submitted_by"] for e in evidence), *(s.actor for s in submissions)}
    verifiers = {x for x in (f["verified_by"], v.actor if v else None) if x}
    for name in sorted(verifiers & (submitters - {None})):
        out.append(f"验收人 {name} 同时是整改材料的提交人")
    if v is not None and v.role == "enterprise":
        out.append(f"验收人 {v.actor} 是企业人员，不是监管部门")
    if d is not None:
        if d.due_on != f["due_on"]:
            out.append(f"期限表的到期日 {d.due_on} 与问题的整改期限 {f['due_on']} 不一致")
        if d.escalation == "fired" and d.escalation_event is None:
            out.append(f"期限表记录已升级，但其说明「{d.escalation_note or ''}」所指的审计事件"
                       f"不在 {trail.code} 的审计链中")
    return out
