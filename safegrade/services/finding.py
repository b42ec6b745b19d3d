"""The closed loop of a finding (整改闭环): the enterprise submits evidence, a regulator who is not the
submitter verifies it or sends it back. Each step is a record event in the enterprise's audit chain,
and the enterprise's counts of open findings follow, so that `close` is allowed exactly when every
finding is verified. Overdue is derived from the due date and the clock, never stored.

Evidence after a rejection must be new: a resubmission whose every file (by SHA-256, whatever its name)
was sent back by a rejection of the same finding is refused and changes nothing. One new file is enough
(the earlier files may stand beside it); the files it reuses are named in its audit event (`reused`).
The same file for different findings is not refused here: the district oversight report flags it."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from safegrade.errors import Forbidden, InvalidInput, NotFound
from safegrade.models import AuditEvent, Enterprise, Evidence, Finding, table
from safegrade.services import deadlines
from safegrade.services.asof import as_of
from safegrade.services.context import Context, district_code, scope_check
from safegrade.services.lifecycle import record_in
from safegrade.services.scope import READ_ENTERPRISES, unknown_finding
from states.names import RecordEvent

FINDING, EVIDENCE, ENTERPRISE, AUDIT = table(Finding), table(Evidence), table(Enterprise), table(AuditEvent)
REJECTED = "整改验收不通过"  # the reason of a finding_rejected event starts with it
OPEN, SUBMITTED, VERIFIED = "open", "submitted", "verified"
STATUS_LABELS = {OPEN: "待整改", SUBMITTED: "待验收", VERIFIED: "已验收销号"}


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A file of rectification evidence, by name and SHA-256."""

    file: str
    sha256: str


@dataclass(frozen=True, slots=True)
class SubmittedFile:
    file: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class EvidenceContent:
    """A kept evidence file of a finding: its name as submitted, SHA-256, size and where the store keeps it."""

    finding: int
    file: str
    sha256: str
    size: int
    path: str


@dataclass(frozen=True, slots=True)
class FindingSubmitted:
    finding: int
    status: str
    evidence: list[SubmittedFile]
    audit: str  # the hash of the audit event


@dataclass(frozen=True, slots=True)
class FindingVerified:
    finding: int
    status: str
    changes: dict[str, Any]  # the enterprise's fields the verification changed (open findings, hazards)
    audit: str


@dataclass(frozen=True, slots=True)
class FindingRejected:
    finding: int
    status: str
    audit: str


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A finding as listed: its stored columns (models.Finding, the same order), its enterprise, the labels,
    the days it is overdue today (derived, never stored) and its evidence."""

    id: int
    enterprise_id: int
    assessment_id: int | None
    deduction_id: int | None
    element: str
    item: str
    content: str
    major: bool
    due_on: date
    status: str
    submitted_by: str | None
    submitted_at: datetime | None
    verified_by: str | None
    verified_at: datetime | None
    rejections: int
    created_at: datetime
    updated_at: datetime
    credit_code: str
    name: str
    district: str
    status_label: str
    district_name: str
    overdue_days: int
    evidence: list[EvidenceFile]


def _finding(ctx: Context, session: Session, finding_id: int, what: str, status: str, only: str) -> dict[str, Any]:
    """The finding, if the actor's scope covers it and it is in `status` (else why `only` that status may)."""
    row = session.execute(
        select(FINDING, ENTERPRISE.c.credit_code, ENTERPRISE.c.district)
        .join(ENTERPRISE, ENTERPRISE.c.id == FINDING.c.enterprise_id).where(FINDING.c.id == finding_id)
    ).mappings().first()
    if row is None:
        raise unknown_finding(finding_id)
    scope_check(ctx.actor(), ctx.rules, row["district"], row["credit_code"], what,
                missing=lambda: unknown_finding(finding_id))
    if row["status"] != status:
        raise InvalidInput(f"finding #{finding_id} is {STATUS_LABELS[row['status']]} ({row['status']}); {only}",
                           code="wrong_status", field="finding_id", value=finding_id, allowed=[status])
    return dict(row)


def open_counts_of(session: Session, enterprise_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Each enterprise's open (not yet verified) findings and major hazards, as the table says."""
    out: dict[int, dict[str, int]] = {e: {"open_findings": 0, "open_major_hazards": 0} for e in enterprise_ids}
    for i in range(0, len(enterprise_ids), 500):
        for enterprise_id, major, n in session.execute(
            select(FINDING.c.enterprise_id, FINDING.c.major, func.count())
            .where(FINDING.c.enterprise_id.in_(enterprise_ids[i:i + 500]), FINDING.c.status != VERIFIED)
            .group_by(FINDING.c.enterprise_id, FINDING.c.major)):
            out[enterprise_id]["open_major_hazards" if major else "open_findings"] = n
    return out


def open_counts(session: Session, enterprise_id: int) -> dict[str, int]:
    return open_counts_of(session, [enterprise_id])[enterprise_id]


def _digest(path: Path) -> tuple[str, int]:
    """An evidence file's SHA-256 and size, read once; the file must exist and hold something."""
    if not path.is_file():
        raise InvalidInput(f"{{evidence}}: no such file {path}", code="no_such_file", field="evidence",
                           value=str(path))
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    if size == 0:
        raise InvalidInput(f"{{evidence}}: {path} is empty", code="empty_file", field="evidence", value=str(path),
                           allowed="a file of 1 byte or more")
    return digest.hexdigest(), size


def _keep(ctx: Context, path: Path, sha: str) -> str:
    """Copy an evidence file into the evidence folder under its SHA-256 (once); its stored path."""
    folder = ctx.settings.evidence_path / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sha
    if not target.exists():
        tmp = target.with_suffix(".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return str(target)


def _sent_back(session: Session, f: dict[str, Any]) -> dict[str, str]:
    """SHA-256 → file name of the evidence a rejection sent back. An open finding holds evidence only
    after a rejection (verified is final), so every evidence row it has was sent back."""
    return {sha: name for name, sha in session.execute(
        select(EVIDENCE.c.file_name, EVIDENCE.c.sha256).where(EVIDENCE.c.finding_id == f["id"])
        .order_by(EVIDENCE.c.id))}


def _last_rejection(ctx: Context, session: Session, f: dict[str, Any]) -> str:
    """'YYYY-MM-DD 第 n 次整改验收不通过：reason', from the finding's newest finding_rejected event."""
    nth = f"第 {f['rejections']} 次" if f["rejections"] else ""
    rows = session.execute(
        select(AUDIT.c.occurred_at, AUDIT.c.reason, AUDIT.c.payload)
        .where(AUDIT.c.enterprise_id == f["enterprise_id"], AUDIT.c.event == RecordEvent.FINDING_REJECTED)
        .order_by(AUDIT.c.seq.desc()))
    for occurred_at, reason, payload in rows:
        try:
            finding = json.loads(payload).get("data", {}).get("finding")
        except (ValueError, AttributeError):
            continue
        if finding == f["id"]:
            why = reason.removeprefix(f"{REJECTED}：")
            return f"{occurred_at.astimezone(ctx.settings.zone).date()} {nth}{REJECTED}：{why}"
    return f"{nth}{REJECTED}"  # legacy data without the event


def _require_new(ctx: Context, session: Session, f: dict[str, Any], files: Sequence[tuple[Path, str, int]]
                 ) -> list[dict[str, str]]:
    """Refuse a resubmission whose every file was sent back by a rejection of this finding; else the files
    it reuses (file, sha256), which its audit event names. One new file is enough: a rejection asks for
    what was missing, and the rest of the earlier evidence may stand."""
    sent_back = _sent_back(session, f)
    reused = [(p, sha) for p, sha, _ in files if sha in sent_back]
    if reused and len(reused) == len(files):
        listed = "、".join(p.name if p.name == sent_back[sha] else f"{p.name}（即 {sent_back[sha]}）"
                          for p, sha in reused)
        rejection = _last_rejection(ctx, session, f)
        raise InvalidInput(
            f"整改材料未更新：{{evidence}} {listed} 与退回的材料相同（SHA-256 一致），{rejection}；"
            "请提交新的整改材料 (evidence not new: every file is one a rejection sent back; "
            "submit at least one new file)",
            code="evidence_not_new", field="evidence", value=[p.name for p, _, _ in files],
            allowed="at least one file not sent back before")
    return [{"file": p.name, "sha256": sha} for p, sha in reused]


def submit_finding(ctx: Context, finding_id: int, evidence: Sequence[Path], note: str = "") -> FindingSubmitted:
    """The enterprise submits rectification evidence (files kept with their SHA-256)."""
    ctx.require("submit_finding")
    if not evidence:
        raise InvalidInput("finding submit needs at least one {evidence} FILE", code="required", field="evidence",
                           value=[], allowed="one or more files")
    hashed = [(p, *_digest(p)) for p in evidence]
    actor, now = ctx.actor(), ctx.now()
    with ctx.store.write() as session:
        f = _finding(ctx, session, finding_id, f"submit evidence for finding #{finding_id} of", OPEN,
                     "only an open finding takes evidence")
        reused = _require_new(ctx, session, f, hashed)
        stored = [(p, sha, size, _keep(ctx, p, sha)) for p, sha, size in hashed]  # refused: nothing was kept
        session.execute(insert(Evidence), [{"finding_id": finding_id, "file_name": p.name, "sha256": sha, "size": size,
                                            "stored_path": where, "submitted_by": actor.name, "submitted_at": now}
                                           for p, sha, size, where in stored])
        session.execute(update(FINDING).where(FINDING.c.id == finding_id).values(
            status=SUBMITTED, submitted_by=actor.name, submitted_at=now, updated_at=now))
        files = [{"file": p.name, "sha256": sha, "size": size} for p, sha, size, _ in stored]
        deadlines.pause(ctx, session, deadlines.finding_subject(finding_id))
        data = {"finding": finding_id, "item": f["item"], "evidence": files, **({"reused": reused} if reused else {})}
        fired = record_in(ctx, session, f["credit_code"], RecordEvent.FINDING_SUBMITTED,
                          f"提交整改材料：{f['item']} {note}".strip(), data, {})
    return FindingSubmitted(finding=finding_id, status=SUBMITTED,
                            evidence=[SubmittedFile(file=p.name, sha256=sha, size=size) for p, sha, size, _ in stored],
                            audit=fired.hash)


def verify_finding(ctx: Context, finding_id: int, note: str = "") -> FindingVerified:
    """A regulator who is not the submitter accepts the rectification (验收销号)."""
    ctx.require("verify_finding")
    actor, now = ctx.actor(), ctx.now()
    with ctx.store.write() as session:
        f = _finding(ctx, session, finding_id, f"verify finding #{finding_id} of", SUBMITTED,
                     "only a submitted finding can be verified")
        if f["submitted_by"] == actor.name:
            raise Forbidden(f"{actor.name} submitted the evidence of finding #{finding_id}; "
                            "it must be verified by another regulator", code="own_evidence", field="finding_id",
                            value=finding_id)
        session.execute(update(FINDING).where(FINDING.c.id == finding_id).values(
            status=VERIFIED, verified_by=actor.name, verified_at=now, updated_at=now))
        deadlines.meet(ctx, session, ("finding", "major_finding"), deadlines.finding_subject(finding_id),
                       f"{now.date()}验收通过（{actor.name}）")
        fired = record_in(ctx, session, f["credit_code"], RecordEvent.FINDING_VERIFIED,
                          f"整改验收通过：{f['item']} {note}".strip(), {"finding": finding_id, "item": f["item"]},
                          open_counts(session, f["enterprise_id"]))
    return FindingVerified(finding=finding_id, status=VERIFIED, changes=dict(fired.changes), audit=fired.hash)


def reject_finding(ctx: Context, finding_id: int, reason: str) -> FindingRejected:
    """The rectification is not accepted: the finding goes back to open, with why."""
    ctx.require("verify_finding")
    if not reason.strip():
        raise InvalidInput("finding reject needs {reason}: say what is still wrong", code="required", field="reason",
                           value=reason)
    with ctx.store.write() as session:
        f = _finding(ctx, session, finding_id, f"reject finding #{finding_id} of", SUBMITTED,
                     "only a submitted finding can be rejected")
        session.execute(update(FINDING).where(FINDING.c.id == finding_id).values(
            status=OPEN, rejections=FINDING.c.rejections + 1, updated_at=ctx.now()))
        deadlines.resume(ctx, session, deadlines.finding_subject(finding_id))
        fired = record_in(ctx, session, f["credit_code"], RecordEvent.FINDING_REJECTED,
                          f"{REJECTED}：{reason.strip()}", {"finding": finding_id, "item": f["item"]}, {})
    return FindingRejected(finding=finding_id, status=OPEN, audit=fired.hash)


def list_findings(ctx: Context, *, credit_code: str | None = None, status: str | None = None,
                  overdue: bool = False, district: str | None = None) -> list[FindingRow]:
    """Findings as they stood at the context's now, with their enterprise and evidence then, their deadline
    and how many days overdue they were that day (derived, never stored)."""
    if status and status not in STATUS_LABELS:
        raise InvalidInput(f"{{status}}: {status!r}; choose one of {', '.join(STATUS_LABELS)}",
                           code="unknown_choice", field="status", value=status, allowed=list(STATUS_LABELS))
    code = district_code(ctx.rules, district or None)
    scope = ctx.reader(READ_ENTERPRISES)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        today = then.day
        f, e, ev = then.table(FINDING), then.table(ENTERPRISE), then.table(EVIDENCE)
        query = scope.filter(select(f, e.c.credit_code, e.c.name, e.c.district)
                             .join(e, e.c.id == f.c.enterprise_id).order_by(f.c.due_on, f.c.id), e)
        if credit_code:
            query = query.where(e.c.credit_code == credit_code.strip().upper())
        if status:
            query = query.where(f.c.status == status)
        if code is not None:
            query = query.where(e.c.district == code)
        if overdue:
            query = query.where(f.c.status != VERIFIED, f.c.due_on < today)
        rows = [dict(r) for r in session.execute(query).mappings()]
        evidence: dict[int, list[EvidenceFile]] = {}
        ids = [r["id"] for r in rows]
        for i in range(0, len(ids), 500):
            for x in session.execute(select(ev).where(ev.c.finding_id.in_(ids[i:i + 500])).order_by(ev.c.id)
                                     ).mappings():
                evidence.setdefault(x["finding_id"], []).append(
                    EvidenceFile(file=x["file_name"], sha256=x["sha256"]))

    def overdue_days(r: dict[str, Any]) -> int:
        return (today - r["due_on"]).days if r["status"] != VERIFIED and today > r["due_on"] else 0

    return [FindingRow(**r, status_label=STATUS_LABELS[r["status"]],
                       district_name=ctx.rules.district_name(r["district"]), overdue_days=overdue_days(r),
                       evidence=evidence.get(r["id"], [])) for r in rows]


def show_finding(ctx: Context, finding_id: int) -> FindingRow:
    """One finding as `list_findings` lists it (the same reading and scope): NotFound for one that does not
    exist then or that the reader may not see, alike."""
    with ctx.store.read() as session:
        code = session.execute(select(ENTERPRISE.c.credit_code).join(FINDING, FINDING.c.enterprise_id
                                                                     == ENTERPRISE.c.id)
                               .where(FINDING.c.id == finding_id)).scalar_one_or_none()
    found = [r for r in list_findings(ctx, credit_code=code) if r.id == finding_id] if code else []
    if not found:
        raise unknown_finding(finding_id)
    return found[0]


def evidence_content(ctx: Context, finding_id: int, sha256: str) -> EvidenceContent:
    """An evidence file of a finding the reader may see (as `show_finding`), by its SHA-256; NotFound for a
    file the finding does not hold (or no longer in the evidence folder)."""
    shown = show_finding(ctx, finding_id)
    sha = sha256.strip().lower()
    row = None
    if sha in {e.sha256 for e in shown.evidence}:
        with ctx.store.read() as session:
            row = session.execute(select(EVIDENCE.c.file_name, EVIDENCE.c.size, EVIDENCE.c.stored_path)
                                  .where(EVIDENCE.c.finding_id == shown.id, EVIDENCE.c.sha256 == sha)
                                  .order_by(EVIDENCE.c.id.desc())).first()
    kept = Path(row.stored_path) if row is not None else None
    if row is None or kept is None or not kept.is_file():
        raise NotFound(f"finding #{finding_id} holds no evidence file with SHA-256 {sha256}", code="unknown_evidence",
                       field="sha256", value=sha256, hint="list_findings")
    return EvidenceContent(finding=shown.id, file=row.file_name, sha256=sha, size=row.size, path=str(kept))
