"""District oversight: the data-quality flags the 2023 circular complains about, found in a campaign's
records, each linked to the audit events behind it (event id, enterprise credit code, seq and hash),
so that the bureau can check every flag against the hash-chained trail.

Kinds (stable keys; labels in Chinese):
  assessed_outside_window   an assessment dated before the campaign's window or after it
  assessed_on_rest_day      an assessment dated on a weekend or holiday (make-up working days count as work)
  copied_deductions         the same multiset of (item, points, content), at least two, at different enterprises
  shared_evidence           the same evidence file (SHA-256) submitted for different enterprises
  reused_evidence           the same evidence file (SHA-256) submitted for two or more findings of one enterprise
  verified_by_submitter     a finding verified by someone who also submitted its evidence
  verified_by_enterprise    a finding verified by an enterprise user, or a user of that enterprise
  score_mismatch            a stored score or result that the stored deductions do not give (safegrade.domain.scoring)
  deduction_without_content a deduction with no content (the circular's first complaint)
  repeat_problem            an element or item found again at an enterprise in a later campaign

The checks (safegrade.services.reporting.oversight_checks) run over the whole campaign in a fixed number of
queries; the audit events of every flag are then looked up together, 500 enterprises a query.

Flags answer as of the context's now (services.asof): the records as they stood then and the audit events
recorded up to then; a flag that depends on something recorded later is not raised for an earlier date.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegrade.models import AuditEvent, Enterprise, table
from safegrade.services.asof import AsOf, as_of
from safegrade.services.campaign import CampaignRecord, find_campaign
from safegrade.services.context import Context
from safegrade.services.reporting import oversight_checks as checks
from safegrade.services.reporting.oversight_checks import Pending, Scope, Selector
from safegrade.services.scope import EVERYTHING, READ_DISTRICT_REPORTS, READ_REPORTS
from safegrade.services.scope import Scope as ReadScope

EVENT, ENTERPRISE = table(AuditEvent), table(Enterprise)
KINDS: dict[str, str] = {
    "assessed_outside_window": "评估日期不在评估期内",
    "assessed_on_rest_day": "评估日期为休息日",
    "copied_deductions": "不同企业扣分记录雷同（疑似复制）",
    "shared_evidence": "同一整改材料用于不同企业",
    "reused_evidence": "同一整改材料用于同一企业的多个问题",
    "verified_by_submitter": "验收人即整改材料提交人",
    "verified_by_enterprise": "企业人员验收整改",
    "score_mismatch": "得分与扣分记录不符",
    "deduction_without_content": "只扣分未记录扣分内容",
    "repeat_problem": "同一问题再次出现",
}
CHUNK = 500


def oversight_flags(ctx: Context, campaign_name: str) -> list[dict[str, Any]]:
    """Every data-quality flag of the campaign: district, kind, label, enterprises, detail, and the
    audit events behind it; ordered by district, kind (in KINDS order) and enterprise. A district officer
    reads the flags of its district."""
    scope = ctx.reader(READ_DISTRICT_REPORTS)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        return flags_in(ctx, session, find_campaign(session, campaign_name, then), then, scope=scope)


def flag_counts_by_district(ctx: Context, campaign_name: str) -> dict[str, dict[str, int]]:
    """district code → kind → number of flags, for every district with members in the campaign and
    every kind (0 where none was raised). Of the whole city, as the circular (read_reports)."""
    ctx.reader(READ_REPORTS)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        return flag_counts_in(ctx, session, find_campaign(session, campaign_name, then), then)


def flag_counts_in(ctx: Context, session: Session, campaign: CampaignRecord,
                   then: AsOf | None = None) -> dict[str, dict[str, int]]:
    """`flag_counts_by_district` inside the caller's read transaction (a report that takes all its
    figures from one snapshot); `campaign` is the campaign's row (services.campaign.find_campaign);
    `then`: the caller's instant (services.asof; default: the context's now, read in this session)."""
    scope = checks.load_scope(session, campaign, then or as_of(ctx, session))
    member = scope.then.table(checks.MEMBER)
    districts = session.execute(select(member.c.district).distinct()
                                .where(member.c.campaign_id == campaign.id)).scalars().all()
    # counting needs neither the audit events behind each flag nor its wording
    return counts(({"district": p.district, "kind": p.kind} for p in _pending(ctx, session, scope)), districts)


def counts(flags: Iterable[Mapping[str, Any]], districts: Iterable[str]) -> dict[str, dict[str, int]]:
    out = {d: dict.fromkeys(KINDS, 0) for d in sorted(districts)}
    for f in flags:
        out.setdefault(f["district"], dict.fromkeys(KINDS, 0))[f["kind"]] += 1
    return out


def flags_in(ctx: Context, session: Session, campaign: CampaignRecord,
             then: AsOf | None = None, *, scope: ReadScope = EVERYTHING) -> list[dict[str, Any]]:
    """`oversight_flags` inside the caller's read transaction, for the campaign's row; `then`: the
    caller's instant (services.asof; default: the context's now, read in this session). `scope`: only the
    flags of the districts it covers. The checks read the whole campaign (a flag such as copied deductions or
    shared evidence is about enterprises of several districts, and names them all: that is its evidence);
    the flags raised are then kept for the reader's districts."""
    checked = checks.load_scope(session, campaign, then or as_of(ctx, session))
    pending = [p for p in _pending(ctx, session, checked) if scope.sees_district(p.district)]
    refs = _resolve(ctx, session, checked.then, pending)
    order = {k: i for i, k in enumerate(KINDS)}
    pending.sort(key=lambda p: (p.district, order[p.kind], [e["credit_code"] for e in p.enterprises], p.detail))
    return [_public(ctx, checked, p, refs) for p in pending]


def _pending(ctx: Context, session: Session, scope: Scope) -> list[Pending]:
    """Every flag raised, before its audit events are looked up."""
    return [*checks.dates(scope), *checks.deductions(ctx, session, scope), *checks.shared_evidence(session, scope),
            *checks.reused_evidence(session, scope),
            *checks.verifiers(session, scope), *checks.repeats(ctx, session, scope)]


def _public(ctx: Context, scope: Scope, p: Pending, refs: Mapping[Selector, list[dict[str, Any]]]) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    for s in p.selectors:
        for ref in refs.get(s, []):
            if ref not in events:
                events.append(ref)
    events.sort(key=lambda r: (r["enterprise"], r["seq"]))
    return {"district": p.district, "district_name": ctx.rules.district_name(p.district), "kind": p.kind,
            "label": KINDS[p.kind], "campaign": scope.campaign.name, "enterprises": p.enterprises,
            "detail": p.detail, "events": events, "events_missing": not events, **p.extra}


def _resolve(ctx: Context, session: Session, then: AsOf,
             pending: list[Pending]) -> dict[Selector, list[dict[str, Any]]]:
    """The audit events each selector names (recorded up to `then.at`), read once per batch of enterprises."""
    selectors: dict[int, list[Selector]] = defaultdict(list)
    for p in pending:
        for s in p.selectors:
            selectors[s.enterprise_id].append(s)
    names = sorted({n for group in selectors.values() for s in group for n in s.events})
    ids = sorted(selectors)
    zone = ctx.settings.zone
    out: dict[Selector, list[dict[str, Any]]] = {}
    event, enterprise = then.table(EVENT), then.table(ENTERPRISE)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in session.execute(
                select(event.c.id, event.c.enterprise_id, enterprise.c.credit_code, event.c.seq, event.c.hash,
                       event.c.event, event.c.actor, event.c.occurred_at, event.c.payload)
                .join(enterprise, enterprise.c.id == event.c.enterprise_id)
                .where(event.c.enterprise_id.in_(chunk), event.c.event.in_(names))
                .order_by(event.c.enterprise_id, event.c.seq)).mappings():
            events[r["enterprise_id"]].append({**r, "data": _data(r["payload"])})
        for eid in chunk:
            for s in selectors[eid]:
                out[s] = [{"id": e["id"], "enterprise": e["credit_code"], "seq": e["seq"], "hash": e["hash"],
                           "event": e["event"], "actor": e["actor"], "at": e["occurred_at"].astimezone(zone)}
                          for e in events[eid] if _matches(s, e)]
    return out


def _data(payload: str) -> dict[str, Any]:
    try:
        data = json.loads(payload).get("data", {})
    except (ValueError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


def _matches(s: Selector, e: Mapping[str, Any]) -> bool:
    if e["event"] not in s.events:
        return False
    data = e["data"]
    if s.assessment is not None:
        if "assessment" in data:
            return bool(data["assessment"] == s.assessment)
        return bool(data.get("campaign") == s.campaign)  # recorded before assessments were numbered
    if data.get("finding") != s.finding or (s.actor is not None and e["actor"] != s.actor):
        return False
    return s.sha256 is None or any(isinstance(f, dict) and f.get("sha256") == s.sha256
                                   for f in data.get("evidence") or [])
