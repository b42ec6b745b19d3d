"""What a due deadline is about and what is due for it: the facts of a batch (its enterprises, findings,
campaigns and what each district still has to assess), the judgement (the reminder step or escalation due
today), who and what a reminder is about, and the outbox row. The sweep acts on these; `deadlines plan`
plays them forward on copies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from safegrade.models import Campaign, CampaignMember, Enterprise, Finding, table
from safegrade.notify import wording
from safegrade.services.asof import AsOf
from safegrade.services.context import Context
from safegrade.services.deadlines import CANCELLED, FOLLOWUP, MET, PAUSED
from states.names import State

ENTERPRISE, FINDING, CAMPAIGN, MEMBER = table(Enterprise), table(Finding), table(Campaign), table(CampaignMember)


@dataclass
class Facts:
    enterprises: dict[int, dict[str, Any]]
    findings: dict[int, dict[str, Any]]
    campaigns: dict[int, dict[str, Any]]
    outstanding: dict[tuple[int, str], tuple[int, int]]  # (campaign, district) → (selected, still to assess)
    # enterprise → (due date, status) of each finding not yet verified, for the enterprises with a follow-up
    unverified: dict[int, list[tuple[date, str]]] = field(default_factory=dict)

    def overdue(self, enterprise_id: int, today: date) -> tuple[int, int]:
        """The enterprise's findings past their due date on `today` and not verified: (open, awaiting checks)."""
        late = [status for due_on, status in self.unverified.get(enterprise_id, []) if due_on < today]
        return sum(s != "submitted" for s in late), sum(s == "submitted" for s in late)


def _ids(rows: Sequence[Mapping[str, Any]], key: str) -> list[int]:
    return sorted({r[key] for r in rows if r[key] is not None})


def gather(session: Session, rows: Sequence[Mapping[str, Any]], *, lock: bool = False,
           then: AsOf | None = None) -> Facts:
    """What the deadlines of a batch are about, a few queries for the whole batch. With `lock` (the sweep),
    the enterprises are read FOR UPDATE, in id order: on PostgreSQL a second sweeper then waits for the first
    to commit and judges the state it left (escalated already), instead of escalating again from it. With
    `then` (a plan read as of an instant), the tables as they stood then."""
    e_ids, f_ids, c_ids = _ids(rows, "enterprise_id"), _ids(rows, "finding_id"), _ids(rows, "campaign_id")
    e, f, c = (then.table(t) for t in (ENTERPRISE, FINDING, CAMPAIGN)) if then else (ENTERPRISE, FINDING, CAMPAIGN)
    query = (select(e.c.id, e.c.credit_code, e.c.name, e.c.district, e.c.state, e.c.valid_until,
                    e.c.publicity_ends_on, e.c.level, e.c.revocation_reason, e.c.contact)
             .where(e.c.id.in_(bindparam("ids", expanding=True))))
    if lock:
        query = query.order_by(e.c.id).with_for_update()
    enterprises = {r["id"]: dict(r) for r in session.execute(query, {"ids": e_ids}).mappings()} if e_ids else {}
    findings = {r["id"]: dict(r) for r in session.execute(
        select(f.c.id, f.c.status, f.c.item, f.c.content, f.c.major)
        .where(f.c.id.in_(bindparam("ids", expanding=True))), {"ids": f_ids}).mappings()} if f_ids else {}
    campaigns = {r["id"]: dict(r) for r in session.execute(
        select(c.c.id, c.c.name, c.c.ends_on)
        .where(c.c.id.in_(bindparam("ids", expanding=True))), {"ids": c_ids}).mappings()} if c_ids else {}
    followed = sorted({r["enterprise_id"] for r in rows if r["kind"] == FOLLOWUP})
    unverified: dict[int, list[tuple[date, str]]] = {e: [] for e in followed}
    if followed:
        for e_id, due_on, status in session.execute(
                select(f.c.enterprise_id, f.c.due_on, f.c.status)
                .where(f.c.enterprise_id.in_(bindparam("ids", expanding=True)), f.c.status != "verified"),
                {"ids": followed}):
            unverified[e_id].append((due_on, status))
    return Facts(enterprises, findings, campaigns, outstanding(session, c_ids, then), unverified)


def outstanding(session: Session, campaign_ids: Sequence[int],
                then: AsOf | None = None) -> dict[tuple[int, str], tuple[int, int]]:
    """Per (campaign, district): enterprises to assess (not excluded) and how many are not yet assessed."""
    if not campaign_ids:
        return {}
    m = then.table(MEMBER) if then else MEMBER
    rows = session.execute(
        select(m.c.campaign_id, m.c.district, func.count(), func.count().filter(m.c.assessed_on.is_(None)))
        .where(m.c.campaign_id.in_(bindparam("ids", expanding=True)), m.c.excluded_reason.is_(None))
        .group_by(m.c.campaign_id, m.c.district), {"ids": list(campaign_ids)})
    return {(c, d): (total, left) for c, d, total, left in rows}


def judge(ctx: Context, d: Mapping[str, Any], facts: Facts, today: date) -> tuple[str, str] | None:
    """None while the deadline still runs on `today`; else (status, why) once it is met, no longer applies, or
    is paused (a finding's or a follow-up's evidence awaiting checks)."""
    kind, e = d["kind"], facts.enterprises.get(d["enterprise_id"] or -1)
    if e is not None and e["state"] in ctx.rules.ended_states:
        return CANCELLED, f"企业{ctx.rules.state_label(e['state'])}"
    if kind in ("finding", "major_finding"):
        f = facts.findings.get(d["finding_id"] or -1)
        if f is None or f["status"] == "verified":
            return MET, "整改已验收"
        if f["status"] == "submitted":
            return PAUSED, "整改材料待验收"
    elif kind == "campaign_window":
        _, left = facts.outstanding.get((d["campaign_id"], d["district"]), (0, 0))
        if left == 0:
            return MET, "本区评估已全部完成"
    elif kind == "interview" and (e is None or e["state"] != State.INTERVIEW):
        return MET, f"已离开约谈状态（{ctx.rules.state_label(e['state']) if e else '?'}）"
    elif kind == "publicity" and (e is None or e["state"] != State.REVOCATION_PENDING
                                  or e["publicity_ends_on"] != d["due_on"]):
        return CANCELLED, "已不在该公示期内"
    elif kind == "validity" and (e is None or e["valid_until"] != d["due_on"]):
        return CANCELLED, "定级有效期已变更"
    elif kind == FOLLOWUP:
        return _followup(facts, d, today)
    return None


def _followup(facts: Facts, d: Mapping[str, Any], today: date) -> tuple[str, str] | None:
    """A follow-up runs while a finding of the enterprise is overdue and open; it waits while the overdue ones
    left await verification of their evidence; it is met once none is left."""
    still_open, awaiting = facts.overdue(d["enterprise_id"], today)
    if still_open:
        return None
    if awaiting:
        return PAUSED, "逾期问题的整改材料待验收"
    return MET, "逾期问题已全部整改验收"


def subject(ctx: Context, d: Mapping[str, Any], facts: Facts) -> wording.Subject:
    """What a deadline is about, in words."""
    kind, district_name = d["kind"], ctx.rules.district_name(d["district"])
    e = facts.enterprises.get(d["enterprise_id"] or -1)
    if kind in ("finding", "major_finding"):
        f = facts.findings[d["finding_id"]]
        label = "重大事故隐患" if kind == "major_finding" else "整改问题"
        what = f"{label}#{f['id']}（{f['item']} {f['content']}）"
    elif kind in ("campaign_window", "ledger_submission"):
        c = facts.campaigns[d["campaign_id"]]
        total, left = facts.outstanding.get((d["campaign_id"], d["district"]), (0, 0))
        what = (f"{c['name']}：本区应评估{total}家，尚有{left}家未完成" if kind == "campaign_window"
                else f"{c['name']}：本区定级企业台账报送")
    elif kind == "publicity":
        what = f"撤销公示（事由：{ctx.rules.revocation_reasons.get(e['revocation_reason'] or '', '—') if e else '—'}）"
    elif kind == "validity":
        what = f"安全生产标准化{e['level'] if e else ''}定级有效期届满"
    elif kind == FOLLOWUP:
        what = "约谈后逾期问题整改复查"
    else:
        what = "约谈"
    if e is None:
        return wording.Subject(what, district_name)
    return wording.Subject(what, district_name, e["name"], e["credit_code"], e["contact"] or None)


def reminder_row(d: Mapping[str, Any], step: str, audience: str, title: str, body: str, now: datetime,
                 status: str = "pending") -> dict[str, Any]:
    """A row of the reminder outbox for deadline `d` (a superseded one says why it was not sent)."""
    return {"deadline_id": d["id"], "kind": d["kind"], "subject": d["subject"], "due_on": d["due_on"], "step": step,
            "audience": audience, "enterprise_id": d["enterprise_id"], "district": d["district"], "title": title,
            "body": body, "queued_at": now, "updated_at": now, "status": status, "attempts": 0, "next_attempt_at": now,
            "delivered_to": [], "last_error": "superseded: a later step of the same deadline was due the same day"
            if status == "superseded" else None}
