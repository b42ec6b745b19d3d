"""The reviewer's closed-loop report (整改闭环核查): for one enterprise, or every member of a campaign,
each finding with its deadline, the evidence submitted (file names and SHA-256, from the evidence
table and the trail's `finding_submitted` events), who verified it and when, days to close, days
overdue, the reminders queued and sent and the escalations — read from the audit trail, whose hash
chain is verified first, so a reviewer knows whether what follows can be trusted.

Where the tables and the trail disagree (evidence the trail never recorded, a verifier the trail
does not name, an escalation note naming no event) the finding lists the problem in Chinese.

Enterprises are read 500 at a time, a fixed handful of queries per batch (safegrade.services.reporting.loop_trail).
Days to close count from the assessment date (when the finding was registered) to the verification
date; days overdue count past the due date up to the verification, or up to today while not verified.
In a campaign's report the findings are those of its assessments, and reminders and escalations
those since the campaign was opened.

The report answers as of the context's now (services.asof): the enterprise, its findings, deadlines and
reminders as they stood then, the evidence submitted and the audit events recorded up to then, "today"
the day of that instant. A campaign opened (or an enterprise registered) after it is not known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safegrade.audit.chain import ChainEvent
from safegrade.domain.creditcode import normalize
from safegrade.errors import InvalidInput, NotFound
from safegrade.models import (
    Assessment,
    Campaign,
    CampaignMember,
    Deadline,
    Enterprise,
    Evidence,
    Finding,
    Reminder,
    table,
)
from safegrade.services.asof import AsOf, as_of
from safegrade.services.campaign import CampaignRecord, CampaignWindow, find_campaign
from safegrade.services.context import Context
from safegrade.services.reporting.loop_findings import (
    DeadlineRecord,
    FindingRecord,
    ReminderRecord,
    finding_record,
    kind_label,
    labels_of_deadline,
    noted_event,
    reminder_record,
)
from safegrade.services.reporting.loop_trail import ChainCheck, EventRef, Trail, instant, load_trails, verification
from safegrade.services.scope import READ_DISTRICT_REPORTS, Scope, unknown_enterprise

ENTERPRISE, FINDING, EVIDENCE, ASSESSMENT = table(Enterprise), table(Finding), table(Evidence), table(Assessment)
CAMPAIGN, MEMBER, DEADLINE, REMINDER = table(Campaign), table(CampaignMember), table(Deadline), table(Reminder)
CHUNK = 500


@dataclass(frozen=True, slots=True)
class EscalationRecord(EventRef):
    """An escalation event of the trail, with the deadline whose escalation note names it (if any)."""

    event_label: str
    from_state: str | None
    from_label: str
    to_state: str
    to_label: str
    actor: str
    role: str
    source: str
    reason: str
    automatic: bool  # fired by the system's scheduled sweep
    deadline: str | None
    deadline_label: str | None


@dataclass(frozen=True, slots=True)
class LoopSummary:
    """One enterprise's counts; days to close over its verified findings (None: none verified)."""

    findings: int
    major: int
    verified: int
    submitted: int
    open: int
    overdue: int
    closed_late: int
    evidence_files: int
    rejections: int
    reminders: int
    reminders_sent: int
    reminders_failed: int
    escalations: int
    max_days_to_close: int | None
    mean_days_to_close: float | None
    problems: int


@dataclass(frozen=True, slots=True)
class LoopTotals:
    """The enterprises' counts summed."""

    findings: int
    major: int
    verified: int
    submitted: int
    open: int
    overdue: int
    closed_late: int
    evidence_files: int
    rejections: int
    reminders: int
    reminders_sent: int
    reminders_failed: int
    escalations: int
    problems: int
    enterprises: int
    broken_chains: int
    max_days_to_close: int | None
    mean_days_to_close: float | None


@dataclass(frozen=True, slots=True)
class EnterpriseLoop:
    """One enterprise in the report: its chain re-verified, findings, escalations, reminders, a summary."""

    credit_code: str
    name: str
    district: str
    district_name: str
    state: str
    state_label: str
    version: int
    chain: ChainCheck
    findings: list[FindingRecord]
    escalations: list[EscalationRecord]
    other_escalations: list[DeadlineRecord]  # deadlines whose escalation names no event of the chain
    reminders: list[ReminderRecord]
    summary: LoopSummary


@dataclass(frozen=True, slots=True)
class BrokenChain:
    """An enterprise whose chain is broken, and its first break."""

    credit_code: str
    name: str
    seq: int
    kind: str
    kind_label: str
    detail: str
    event_id: int | None
    hash: str | None
    event: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class LoopReport:
    title: str
    scope: str  # campaign | enterprise
    campaign: CampaignWindow | None
    credit_code: str | None  # the enterprise's, for one enterprise's report
    district: str | None
    district_name: str | None
    as_of: date
    generated_at: datetime
    chain_ok: bool
    broken: list[BrokenChain]
    enterprises: list[EnterpriseLoop]
    totals: LoopTotals


def loop_report(ctx: Context, credit_code: str | None = None, *, campaign: str | None = None,
                district: str | None = None) -> LoopReport:
    """The closed-loop evidence of one enterprise (`credit_code`) or of every member of `campaign`
    (of one `district` only, if given: a campaign's report for a whole city is large)."""
    if (credit_code is None) == (campaign is None):
        raise InvalidInput("report loop: give either one enterprise's credit code or {campaign} NAME",
                           code="choose_one", field="campaign", value=campaign, allowed=["credit_code", "campaign"])
    code = None
    if district is not None:
        found = ctx.rules.district(district)
        if campaign is None or found is None:
            raise InvalidInput(f"{{district}} {district!r}: " + ("goes with {campaign}" if campaign is None else
                               f"unknown district; known: {', '.join(d.name for d in ctx.rules.districts.values())}"),
                               code="not_applicable" if campaign is None else "unknown_district", field="district",
                               value=district, others=["campaign"],
                               allowed="a campaign's report" if campaign is None
                               else [d.name for d in ctx.rules.districts.values()])
        code = found.code
    scope = ctx.reader(READ_DISTRICT_REPORTS)
    if campaign is not None and code is None and scope.kind == "district":
        code = scope.district  # a district officer's report of a campaign is of its district
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        camp = find_campaign(session, campaign, then) if campaign is not None else None
        ids = _targets(session, then, credit_code, camp, code, scope)
        if not ids:
            raise NotFound(f"campaign {campaign} has no member in {ctx.rules.district_name(code or '')}",
                           code="no_member", field="district", value=district)
        enterprises: list[EnterpriseLoop] = []
        for i in range(0, len(ids), CHUNK):
            enterprises.extend(_batch(ctx, session, then, ids[i:i + CHUNK], camp))
    broken = [BrokenChain(credit_code=e.credit_code, name=e.name, **asdict(e.chain.first_break))
              for e in enterprises if not e.chain.ok and e.chain.first_break is not None]
    return LoopReport(
        title="整改闭环核查报告", scope="campaign" if camp else "enterprise",
        campaign=_campaign_info(camp), credit_code=enterprises[0].credit_code if not camp else None,
        district=code, district_name=ctx.rules.district_name(code) if code else None,
        as_of=then.day, generated_at=then.at, chain_ok=not broken, broken=broken,
        enterprises=enterprises, totals=_totals(enterprises),
    )


def _campaign_info(camp: CampaignRecord | None) -> CampaignWindow | None:
    if camp is None:
        return None
    return CampaignWindow(name=camp.name, starts_on=camp.starts_on, ends_on=camp.ends_on)


def _targets(session: Session, then: AsOf, credit_code: str | None, camp: CampaignRecord | None,
             district: str | None, scope: Scope) -> list[int]:
    """Enterprise ids to report on, in district and credit-code order, among those in the reader's scope (an
    enterprise outside it is not found, as a missing one)."""
    enterprise, member = then.table(ENTERPRISE), then.table(MEMBER)
    if camp is not None:
        query = (select(member.c.enterprise_id).join(enterprise, enterprise.c.id == member.c.enterprise_id)
                 .where(member.c.campaign_id == camp.id).order_by(member.c.district, enterprise.c.credit_code))
        if district is not None:
            query = query.where(member.c.district == district)
        return [r[0] for r in session.execute(scope.filter(query, enterprise))]
    code = normalize(credit_code or "")
    found = session.execute(scope.filter(select(enterprise.c.id).where(enterprise.c.credit_code == code),
                                         enterprise)).scalar()
    if found is None:
        raise unknown_enterprise(code)
    return [found]


def _batch(ctx: Context, session: Session, then: AsOf, ids: Sequence[int],
           camp: CampaignRecord | None) -> list[EnterpriseLoop]:
    """The report's records of one batch of enterprises: a fixed number of queries for the batch."""
    enterprise, finding, evidence_t = then.table(ENTERPRISE), then.table(FINDING), then.table(EVIDENCE)
    deadline, reminder = then.table(DEADLINE), then.table(REMINDER)
    rows = {r["id"]: dict(r) for r in session.execute(select(enterprise).where(enterprise.c.id.in_(ids))).mappings()}
    trails = load_trails(session, list(rows.values()), then)
    since: datetime | None = camp.created_at if camp else None
    findings = _findings(session, then, ids, camp)
    of_findings = select(finding.c.id).where(finding.c.enterprise_id.in_(ids))
    evidence = _by(session.execute(select(evidence_t).where(evidence_t.c.finding_id.in_(of_findings))
                                   .order_by(evidence_t.c.id)).mappings(), "finding_id")
    deadlines = [dict(r) for r in session.execute(select(deadline).where(or_(
        deadline.c.enterprise_id.in_(ids), deadline.c.finding_id.in_(of_findings))).order_by(deadline.c.id)).mappings()]
    reminders = [dict(r) for r in session.execute(select(reminder).where(or_(
        reminder.c.enterprise_id.in_(ids),
        reminder.c.deadline_id.in_(select(deadline.c.id).where(deadline.c.finding_id.in_(of_findings)))))
        .order_by(reminder.c.due_on, reminder.c.id)).mappings()]
    out = []
    for ent_id in ids:
        row = rows[ent_id]
        mine = {f"finding:{f['id']}" for f in findings.get(ent_id, [])}
        ent_deadlines = [d for d in deadlines if d["enterprise_id"] == ent_id or f"finding:{d['finding_id']}" in mine]
        dl_ids = {d["id"] for d in ent_deadlines}
        ent_reminders = [r for r in reminders if (r["enterprise_id"] == ent_id or r["deadline_id"] in dl_ids)
                         and (r["subject"] in mine or since is None or r["queued_at"] >= since)]
        out.append(_enterprise(ctx, row, trails[ent_id], findings.get(ent_id, []), evidence, ent_deadlines,
                               ent_reminders, since, then.day))
    return out


def _by(rows: Any, key: str) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(dict(r))
    return out


def _findings(session: Session, then: AsOf, ids: Sequence[int],
              camp: CampaignRecord | None) -> dict[int, list[dict[str, Any]]]:
    """The findings of these enterprises (of the campaign's assessments, for a campaign), with the
    assessment date and campaign name."""
    finding, assessment, campaign = then.table(FINDING), then.table(ASSESSMENT), then.table(CAMPAIGN)
    query = (select(finding, assessment.c.assessed_on, campaign.c.name.label("campaign"))
             .outerjoin(assessment, assessment.c.id == finding.c.assessment_id)
             .outerjoin(campaign, campaign.c.id == assessment.c.campaign_id)
             .where(finding.c.enterprise_id.in_(ids)).order_by(finding.c.enterprise_id, finding.c.id))
    if camp is not None:
        query = query.where(assessment.c.campaign_id == camp.id)
    return _by(session.execute(query).mappings(), "enterprise_id")


def _enterprise(ctx: Context, row: Mapping[str, Any], trail: Trail, findings: list[dict[str, Any]],
                evidence: Mapping[int, list[dict[str, Any]]], deadlines: list[dict[str, Any]],
                reminders: list[dict[str, Any]], since: datetime | None, today: date) -> EnterpriseLoop:
    """One enterprise: its chain's verification, its findings, reminders and escalations, a summary."""
    local = _local(ctx)
    by_hash, per_finding = trail.by_hash(), trail.finding_events()
    deadline_of = {d["finding_id"]: d for d in deadlines if d["finding_id"] is not None}
    records = [finding_record(ctx, f, trail, per_finding.get(f["id"], []), evidence.get(f["id"], []),
                              deadline_of.get(f["id"]), by_hash, reminders, today) for f in findings]
    noted = {d["id"]: noted_event(d["escalation_note"], by_hash) for d in deadlines if d["escalation"] == "fired"}
    escalations = [_escalation(ctx, e, [d for d in deadlines if noted.get(d["id"]) is e], local)
                   for e in trail.escalations() if since is None or instant(e) >= since]
    unmatched = [labels_of_deadline(ctx, d, by_hash, local) for d in deadlines
                 if d["escalation"] and noted.get(d["id"]) is None and (since is None or d["updated_at"] >= since)]
    reminder_rows = [reminder_record(ctx, r, local) for r in reminders]
    return EnterpriseLoop(
        credit_code=row["credit_code"], name=row["name"], district=row["district"],
        district_name=ctx.rules.district_name(row["district"]), state=row["state"],
        state_label=ctx.rules.state_label(row["state"]), version=row["version"],
        chain=verification(trail, local), findings=records, escalations=escalations,
        other_escalations=unmatched, reminders=reminder_rows,
        summary=_summary(records, reminder_rows, escalations),
    )


def _local(ctx: Context) -> Any:
    zone = ctx.settings.zone

    def local(at: datetime | None) -> datetime | None:
        return at.astimezone(zone) if at is not None else None

    return local


def _escalation(ctx: Context, e: ChainEvent, deadlines: list[dict[str, Any]], local: Any) -> EscalationRecord:
    """An escalation event, with the deadline whose escalation note names it (if any)."""
    deadline = deadlines[0] if deadlines else None
    return EscalationRecord(
        id=e.id, enterprise=e.enterprise, seq=e.seq, hash=e.hash, event=e.event, at=local(instant(e)),
        event_label=ctx.rules.lifecycle.event_label(e.event), from_state=e.from_state,
        from_label=ctx.rules.state_label(e.from_state) if e.from_state else "", to_state=e.to_state,
        to_label=ctx.rules.state_label(e.to_state), actor=e.actor, role=e.role, source=e.source, reason=e.reason,
        automatic=e.actor == "system" and e.source == "flow", deadline=deadline["subject"] if deadline else None,
        deadline_label=kind_label(ctx, deadline["kind"]) if deadline else None)


def _days_to_close(findings: Sequence[FindingRecord]) -> tuple[int | None, float | None]:
    """The longest and the mean days to close, over the findings verified (None, None without any)."""
    closed = [f.days_to_close for f in findings if f.days_to_close is not None]
    return (max(closed), round(sum(closed) / len(closed), 1)) if closed else (None, None)


def _summary(findings: list[FindingRecord], reminders: list[ReminderRecord],
             escalations: list[EscalationRecord]) -> LoopSummary:
    longest, mean = _days_to_close(findings)
    return LoopSummary(
        findings=len(findings), major=sum(f.major for f in findings),
        verified=sum(f.status == "verified" for f in findings),
        submitted=sum(f.status == "submitted" for f in findings),
        open=sum(f.status == "open" for f in findings),
        overdue=sum(f.overdue_days > 0 and f.status != "verified" for f in findings),
        closed_late=sum(bool(f.closed_late) for f in findings),
        evidence_files=sum(len(f.evidence) for f in findings),
        rejections=sum(len(f.rejections) for f in findings),
        reminders=len(reminders), reminders_sent=sum(r.status == "sent" for r in reminders),
        reminders_failed=sum(r.status == "failed" for r in reminders),
        escalations=len(escalations), max_days_to_close=longest, mean_days_to_close=mean,
        problems=sum(len(f.problems) for f in findings),
    )


def _totals(enterprises: list[EnterpriseLoop]) -> LoopTotals:
    keys = ("findings", "major", "verified", "submitted", "open", "overdue", "closed_late", "evidence_files",
            "rejections", "reminders", "reminders_sent", "reminders_failed", "escalations", "problems")
    longest, mean = _days_to_close([f for e in enterprises for f in e.findings])
    return LoopTotals(**{k: sum(getattr(e.summary, k) for e in enterprises) for k in keys},
                      enterprises=len(enterprises), broken_chains=sum(not e.chain.ok for e in enterprises),
                      max_days_to_close=longest, mean_days_to_close=mean)
