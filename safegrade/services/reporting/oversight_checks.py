"""The data-quality checks of district oversight, each over a whole campaign in a fixed number of
queries (aggregated in SQL where SQL can say it; deductions streamed once where a multiset or a score
has to be computed). Each check returns pending flags: what was found, and selectors naming the
audit events behind it, which safegrade.services.reporting.oversight looks up together afterwards.

Legacy or tampered data can hold what the services refuse today (a verifier who submitted, a score
that the deductions do not give, a deduction without its content): the checks read the tables and
the audit trail as they are, and trust neither the services nor each other.

Every check reads as of the scope's instant (services.asof): each table as it stood then and the audit
events up to then, so a flag that depends on something recorded later (evidence submitted, a
verification, a later campaign's finding) is not raised as of an earlier date.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import FromClause, Table, distinct, func, select
from sqlalchemy.orm import Session

from safegrade.domain.scoring import Deduction as Scored
from safegrade.domain.scoring import score
from safegrade.models import (
    Actor,
    Assessment,
    AuditEvent,
    Campaign,
    CampaignMember,
    Deadline,
    Deduction,
    Enterprise,
    Evidence,
    Finding,
    table,
)
from safegrade.services.asof import AsOf
from safegrade.services.campaign import CampaignRecord
from safegrade.services.context import Context
from states.names import Event, RecordEvent

MEMBER, ENTERPRISE, CAMPAIGN = table(CampaignMember), table(Enterprise), table(Campaign)
ASSESSMENT, DEDUCTION, FINDING, EVIDENCE = table(Assessment), table(Deduction), table(Finding), table(Evidence)
ACTOR, EVENT, DEADLINE = table(Actor), table(AuditEvent), table(Deadline)
BLANK = " \t\r\n\u3000"  # a content of nothing but these says nothing (full-width space too)
MIN_COPIED = 2  # one identical deduction is a common problem in common words; two or more identical is a copy
WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Selector:
    """Audit events of one enterprise behind a flag: the record_assessment of an assessment, or the
    finding events of a finding (optionally only those naming a file hash, or by one actor)."""

    enterprise_id: int
    assessment: int | None = None
    campaign: str | None = None
    finding: int | None = None
    events: tuple[str, ...] = (Event.RECORD_ASSESSMENT,)
    sha256: str | None = None
    actor: str | None = None


@dataclass
class Pending:
    kind: str
    district: str
    enterprises: list[dict[str, str]]  # credit_code, name
    detail: str
    selectors: list[Selector]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scope:
    campaign: CampaignRecord
    then: AsOf  # the instant the checks answer for
    members: dict[int, dict[str, str]]  # enterprise id -> district, credit_code, name
    assessments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> the campaign's assessment row

    def who(self, enterprise_id: int) -> dict[str, str]:
        m = self.members[enterprise_id]
        return {"credit_code": m["credit_code"], "name": m["name"]}

    def t(self, *tables: Table) -> list[FromClause]:
        """The tables as they stood at the scope's instant."""
        return [self.then.table(t) for t in tables]


def load_scope(session: Session, campaign: CampaignRecord, then: AsOf) -> Scope:
    """The campaign's members and assessments as they stood at `then.at`."""
    scope = Scope(campaign, then, {})
    member, enterprise, assessment = scope.t(MEMBER, ENTERPRISE, ASSESSMENT)
    for eid, district, code, name in session.execute(
            select(member.c.enterprise_id, member.c.district, enterprise.c.credit_code, enterprise.c.name)
            .join(enterprise, enterprise.c.id == member.c.enterprise_id).where(member.c.campaign_id == campaign.id)):
        scope.members[eid] = {"district": district, "credit_code": code, "name": name}
    for r in session.execute(select(assessment.c.id, assessment.c.enterprise_id, assessment.c.assessed_on,
                                    assessment.c.score, assessment.c.result, assessment.c.not_applicable,
                                    assessment.c.rules_version)
                             .where(assessment.c.campaign_id == campaign.id)).mappings():
        if r["enterprise_id"] in scope.members:
            scope.assessments[r["id"]] = dict(r)
    return scope


def _assessed(scope: Scope, a: Mapping[str, Any]) -> Selector:
    return Selector(a["enterprise_id"], assessment=a["id"], campaign=scope.campaign.name)


# --- dates ---------------------------------------------------------------------------------------------

def _rest_day_name(ctx: Context, d: date) -> str:
    holiday = ctx.rules.calendar.holiday_name(d)
    return f"{holiday}假期" if holiday else "周末休息日"


def dates(ctx: Context, scope: Scope) -> list[Pending]:
    """Assessments dated outside the campaign's window, or on a rest day (the State Council's schedule, from
    the rules' calendar: a make-up working Saturday is a working day)."""
    starts, ends = scope.campaign.starts_on, scope.campaign.ends_on
    working = {d: ctx.rules.calendar.is_working_day(d) for d in {a["assessed_on"] for a in scope.assessments.values()}}
    out = []
    for a in scope.assessments.values():
        day, eid = a["assessed_on"], a["enterprise_id"]
        district = scope.members[eid]["district"]
        if day < starts or day > ends:
            when = (f"早于评估期开始 {(starts - day).days} 天" if day < starts
                    else f"晚于评估期截止 {(day - ends).days} 天")
            out.append(Pending("assessed_outside_window", district, [scope.who(eid)],
                               f"评估日期 {day}，不在评估期（{starts} 至 {ends}）内，{when}", [_assessed(scope, a)],
                               {"assessed_on": day}))
        if not working[day]:
            out.append(Pending("assessed_on_rest_day", district, [scope.who(eid)],
                               f"评估日期 {day}（星期{WEEKDAYS[day.weekday()]}）为{_rest_day_name(ctx, day)}，非工作日",
                               [_assessed(scope, a)], {"assessed_on": day}))
    return out


# --- deductions: copies, scores, missing content ----------------------------------------------------

def _deductions(session: Session, scope: Scope) -> Iterator[tuple[int, list[tuple[str, float, str]]]]:
    """Each of the campaign's assessments with its deductions (item, points, content), streamed once."""
    deduction, assessment = scope.t(DEDUCTION, ASSESSMENT)
    query = (select(deduction.c.assessment_id, deduction.c.item, deduction.c.points, deduction.c.content)
             .join(assessment, assessment.c.id == deduction.c.assessment_id)
             .where(assessment.c.campaign_id == scope.campaign.id)
             .order_by(deduction.c.assessment_id, deduction.c.id).execution_options(yield_per=20_000))
    seen: set[int] = set()
    current: int | None = None
    rows: list[tuple[str, float, str]] = []
    for assessment_id, item, points, content in session.execute(query):
        if assessment_id != current:
            if current is not None:
                yield current, rows
            seen.add(assessment_id)
            current, rows = assessment_id, []
        rows.append((item, points, content or ""))
    if current is not None:
        yield current, rows
    for assessment_id in scope.assessments.keys() - seen:  # no deduction at all: scored 100 all the same
        yield assessment_id, []


def _fingerprint(rows: list[tuple[str, float, str]]) -> tuple[tuple[str, float, str], ...]:
    """The multiset of (item, points, content), whatever the order they were written in (5 and 5.0 alike)."""
    return tuple(sorted((item, float(points), content.strip(BLANK)) for item, points, content in rows))


def deductions(ctx: Context, session: Session, scope: Scope) -> list[Pending]:
    """Identical deduction sets at different enterprises, scores the deductions do not give, and
    deductions without content — from one pass over the campaign's deductions."""
    rules, out = ctx.rules.assessment, []
    copies: dict[tuple[tuple[str, float, str], ...], list[int]] = defaultdict(list)
    scored: dict[Any, Any] = {}  # a score depends on (item, points) and not-applicable items only: few distinct
    for assessment_id, rows in _deductions(session, scope):
        a = scope.assessments.get(assessment_id)
        if a is None:
            continue
        eid = a["enterprise_id"]
        district = scope.members[eid]["district"]
        if len(rows) >= MIN_COPIED:
            copies[_fingerprint(rows)].append(assessment_id)
        empty = [item for item, _, content in rows if not content.strip(BLANK)]
        if empty:
            out.append(Pending("deduction_without_content", district, [scope.who(eid)],
                               f"{len(empty)} 项扣分未记录扣分内容（扣分项 {'、'.join(empty)}）",
                               [_assessed(scope, a)]))
        mismatch = _score_mismatch(rules, a, rows, ctx.rules.assessment.version, scored)
        if mismatch:
            out.append(Pending("score_mismatch", district, [scope.who(eid)], mismatch, [_assessed(scope, a)],
                               {"assessment": assessment_id}))
    for group in copies.values():
        if len({scope.assessments[i]["enterprise_id"] for i in group}) > 1:
            out.extend(_copied(scope, group))
    return out


def _score_mismatch(rules: Any, a: Mapping[str, Any], rows: list[tuple[str, float, str]], version: str,
                    scored: dict[Any, Any]) -> str | None:
    """Why the stored score or result is not what the deductions give (recomputed by safegrade.domain.scoring)."""
    key = (tuple(sorted((item, float(points)) for item, points, _ in rows)), tuple(sorted(a["not_applicable"] or [])))
    if key not in scored:
        try:
            scored[key] = score(rules, [Scored(item, points, "", True) for item, points in key[0]], list(key[1]))
        except (KeyError, ValueError) as exc:
            scored[key] = exc
    got = scored[key]
    if isinstance(got, Exception):
        return f"按扣分记录无法计分（{got}），记录的得分为 {a['score']}、结果为 {a['result']}"
    if abs(got.score - float(a["score"])) < 0.05 and got.result == a["result"]:
        return None
    note = "" if a["rules_version"] == version else f"（该评估记录的规则版本为 {a['rules_version']}，按现行规则重算）"
    return (f"记录的得分 {float(a['score']):.1f}、结果 {a['result']}；按扣分记录重算为 {got.score:.1f}、"
            f"{got.result}（扣 {got.deducted:g} 分，适用分值 {got.applicable_points:g}）{note}")


def _copied(scope: Scope, group: list[int]) -> list[Pending]:
    """One flag per district among the enterprises whose deduction sets are identical."""
    eids = sorted({scope.assessments[i]["enterprise_id"] for i in group},
                  key=lambda e: scope.members[e]["credit_code"])
    everyone = [scope.who(e) for e in eids]
    names = "、".join(f"{w['name']}（{scope.members[e]['credit_code']}）" for e, w in zip(eids, everyone, strict=True))
    selectors = [_assessed(scope, scope.assessments[i]) for i in group]
    return [Pending("copied_deductions", district, everyone,
                    f"{len(eids)} 家企业的扣分项、分值与扣分内容完全相同：{names}", selectors)
            for district in sorted({scope.members[e]["district"] for e in eids})]


# --- evidence and verification ------------------------------------------------------------------------

def _campaign_findings(scope: Scope) -> Any:
    finding, assessment = scope.t(FINDING, ASSESSMENT)
    return select(finding.c.id).join(assessment, assessment.c.id == finding.c.assessment_id).where(
        assessment.c.campaign_id == scope.campaign.id)


def shared_evidence(session: Session, scope: Scope) -> list[Pending]:
    """A file (by SHA-256) of the campaign's evidence that was also submitted for another enterprise."""
    evidence, finding, enterprise = scope.t(EVIDENCE, FINDING, ENTERPRISE)
    mine = select(evidence.c.sha256).where(evidence.c.finding_id.in_(_campaign_findings(scope)))
    shared = (select(evidence.c.sha256).join(finding, finding.c.id == evidence.c.finding_id)
              .where(evidence.c.sha256.in_(mine)).group_by(evidence.c.sha256)
              .having(func.count(distinct(finding.c.enterprise_id)) > 1))
    uses: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in session.execute(
            select(evidence.c.sha256, evidence.c.file_name, evidence.c.finding_id, finding.c.enterprise_id,
                   enterprise.c.credit_code, enterprise.c.name, enterprise.c.district)
            .join(finding, finding.c.id == evidence.c.finding_id)
            .join(enterprise, enterprise.c.id == finding.c.enterprise_id)
            .where(evidence.c.sha256.in_(shared)).order_by(evidence.c.sha256, enterprise.c.credit_code)).mappings():
        uses[r["sha256"]].append(dict(r))
    out = []
    for sha, rows in uses.items():
        codes = sorted({(r["credit_code"], r["name"], r["enterprise_id"]) for r in rows})
        everyone = [{"credit_code": c, "name": n} for c, n, _ in codes]
        files = "、".join(sorted({r["file_name"] for r in rows}))
        per = {c: "、#".join(str(r["finding_id"]) for r in rows if r["credit_code"] == c) for c, _, _ in codes}
        detail = (f"同一文件（SHA-256 {sha}，文件名 {files}）作为 {len(codes)} 家企业的整改材料提交："
                  + "、".join(f"{n}（{c}）问题 #{per[c]}" for c, n, _ in codes))
        selectors = sorted({Selector(r["enterprise_id"], finding=r["finding_id"],
                                     events=(RecordEvent.FINDING_SUBMITTED,), sha256=sha) for r in rows},
                           key=lambda s: (s.enterprise_id, s.finding or 0))
        districts = {scope.members[r["enterprise_id"]]["district"] for r in rows if r["enterprise_id"] in scope.members}
        out += [Pending("shared_evidence", d, everyone, detail, selectors, {"sha256": sha}) for d in sorted(districts)]
    return out


def reused_evidence(session: Session, scope: Scope) -> list[Pending]:
    """A file (by SHA-256) of the campaign's evidence that one enterprise submitted for two or more of its
    findings (of this campaign or another): one flag per enterprise and file, listing the findings. The
    same file at different enterprises is `shared_evidence`'s; a finding resubmitted with one of its own
    files is one finding (and a resubmission of nothing but files sent back is refused)."""
    campaign_findings = set(session.execute(_campaign_findings(scope)).scalars())
    evidence, finding, assessment, campaign = scope.t(EVIDENCE, FINDING, ASSESSMENT, CAMPAIGN)
    mine = select(evidence.c.sha256).where(evidence.c.finding_id.in_(_campaign_findings(scope)))
    reused = (select(evidence.c.sha256, finding.c.enterprise_id).join(finding, finding.c.id == evidence.c.finding_id)
              .where(evidence.c.sha256.in_(mine)).group_by(evidence.c.sha256, finding.c.enterprise_id)
              .having(func.count(distinct(evidence.c.finding_id)) > 1)).subquery()
    uses: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in session.execute(
            select(evidence.c.sha256, evidence.c.file_name, evidence.c.finding_id, finding.c.enterprise_id,
                   finding.c.item, campaign.c.name.label("campaign"))
            .join(finding, finding.c.id == evidence.c.finding_id)
            .join(reused, (reused.c.sha256 == evidence.c.sha256) & (reused.c.enterprise_id == finding.c.enterprise_id))
            .outerjoin(assessment, assessment.c.id == finding.c.assessment_id)
            .outerjoin(campaign, campaign.c.id == assessment.c.campaign_id)
            .order_by(finding.c.enterprise_id, evidence.c.sha256, evidence.c.finding_id, evidence.c.id)).mappings():
        uses[(r["enterprise_id"], r["sha256"])].append(dict(r))
    out = []
    for (eid, sha), rows in uses.items():
        findings = sorted({r["finding_id"] for r in rows})
        if eid not in scope.members or not campaign_findings & set(findings):
            continue  # reused at an enterprise only in findings of other campaigns
        first = {f: next(r for r in rows if r["finding_id"] == f) for f in findings}
        files = "、".join(dict.fromkeys(r["file_name"] for r in rows))
        listed = "、".join(f"问题 #{f}（{r['item']}" + ("" if f in campaign_findings or not r["campaign"]
                                                       else f"，{r['campaign']}") + "）" for f, r in first.items())
        detail = f"同一文件（SHA-256 {sha}，文件名 {files}）作为该企业 {len(findings)} 个问题的整改材料提交：{listed}"
        selectors = [Selector(eid, finding=f, events=(RecordEvent.FINDING_SUBMITTED,), sha256=sha) for f in findings]
        out.append(Pending("reused_evidence", scope.members[eid]["district"], [scope.who(eid)], detail, selectors,
                           {"sha256": sha, "findings": findings}))
    return out


def _finding_events(session: Session, scope: Scope) -> dict[int, list[tuple[str, str, str]]]:
    """(event, actor, role) of the finding events in the members' chains, per finding id."""
    out: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    audit, member = scope.t(EVENT, MEMBER)
    for event, actor, role, payload in session.execute(
            select(audit.c.event, audit.c.actor, audit.c.role, audit.c.payload)
            .join(member, member.c.enterprise_id == audit.c.enterprise_id)
            .where(member.c.campaign_id == scope.campaign.id,
                   audit.c.event.in_((RecordEvent.FINDING_SUBMITTED, RecordEvent.FINDING_VERIFIED)))
            .execution_options(yield_per=20_000)):
        try:
            finding = json.loads(payload).get("data", {}).get("finding")
        except (ValueError, AttributeError):
            continue  # an unreadable payload: the chain's verification names it
        if isinstance(finding, int):
            out[finding].append((event, actor, role))
    return out


def verifiers(session: Session, scope: Scope) -> list[Pending]:
    """A finding verified by someone who also submitted its evidence, or by an enterprise user (or one
    belonging to the enterprise) — by the finding row, the evidence rows and the audit events."""
    actor, evidence, finding_t = scope.t(ACTOR, EVIDENCE, FINDING)
    actors = {n: (r, c) for n, r, c in session.execute(select(actor.c.name, actor.c.role, actor.c.enterprise_code))}
    submitted_by: dict[int, set[str]] = defaultdict(set)
    for finding, who in session.execute(
            select(evidence.c.finding_id, evidence.c.submitted_by).distinct()
            .where(evidence.c.finding_id.in_(_campaign_findings(scope)))):
        submitted_by[finding].add(who)
    trail = _finding_events(session, scope)
    out = []
    for row in session.execute(
            select(finding_t.c.id, finding_t.c.enterprise_id, finding_t.c.item, finding_t.c.submitted_by,
                   finding_t.c.verified_by)
            .where(finding_t.c.id.in_(_campaign_findings(scope)))).mappings():
        f = dict(row)
        events = trail.get(f["id"], [])
        verifying = {f["verified_by"]} - {None} | {a for e, a, _ in events if e == RecordEvent.FINDING_VERIFIED}
        if not verifying or f["enterprise_id"] not in scope.members:
            continue
        submitters = {f["submitted_by"]} - {None} | submitted_by[f["id"]] | {a for e, a, _ in events
                                                                           if e == RecordEvent.FINDING_SUBMITTED}
        code = scope.members[f["enterprise_id"]]["credit_code"]
        as_enterprise = {a for e, a, role in events if e == RecordEvent.FINDING_VERIFIED and role == "enterprise"}
        as_enterprise |= {v for v in verifying if actors.get(v, ("", None))[0] == "enterprise"
                          or actors.get(v, ("", None))[1] == code}
        for name in sorted(verifying & submitters):
            out.append(_verifier(scope, f, "verified_by_submitter", name,
                                 f"问题 #{f['id']}（{f['item']}）由 {name} 验收，而整改材料也是 {name} 提交的"))
        for name in sorted(as_enterprise):
            out.append(_verifier(scope, f, "verified_by_enterprise", name,
                                 f"问题 #{f['id']}（{f['item']}）由企业人员 {name} 验收，应由监管部门验收"))
    return out


def _verifier(scope: Scope, f: Mapping[str, Any], kind: str, name: str, detail: str) -> Pending:
    eid = f["enterprise_id"]
    return Pending(kind, scope.members[eid]["district"], [scope.who(eid)], detail,
                   [Selector(eid, finding=f["id"], events=(RecordEvent.FINDING_VERIFIED,)),
                    Selector(eid, finding=f["id"], events=(RecordEvent.FINDING_SUBMITTED,), actor=name)],
                   {"finding": f["id"], "actor": name})


# --- repeat problems ----------------------------------------------------------------------------------

def repeats(ctx: Context, session: Session, scope: Scope) -> list[Pending]:
    """A finding of this campaign whose element (or item) was found at the same enterprise in an
    earlier campaign, linked to the earlier finding(s): same item first, else same element."""
    camp = scope.campaign
    found, assessment, campaign = scope.t(FINDING, ASSESSMENT, CAMPAIGN)
    earlier, before, prior = found.alias("earlier"), assessment.alias("before"), campaign.alias("prior")
    rows = session.execute(
        select(found.c.id, found.c.enterprise_id, found.c.item, found.c.element, found.c.assessment_id,
               earlier.c.id.label("earlier_id"), earlier.c.item.label("earlier_item"),
               earlier.c.status.label("earlier_status"), earlier.c.content.label("earlier_content"),
               before.c.id.label("earlier_assessment"), before.c.assessed_on.label("earlier_on"),
               prior.c.name.label("earlier_campaign"))
        .join(assessment, assessment.c.id == found.c.assessment_id)
        .join(earlier, (earlier.c.enterprise_id == found.c.enterprise_id) & (earlier.c.element == found.c.element))
        .join(before, before.c.id == earlier.c.assessment_id).join(prior, prior.c.id == before.c.campaign_id)
        .where(assessment.c.campaign_id == camp.id,
               (prior.c.starts_on < camp.starts_on) | ((prior.c.starts_on == camp.starts_on)
                                                          & (prior.c.id < camp.id)))
        .order_by(found.c.id, earlier.c.id)).mappings().all()
    grouped: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        grouped[r["id"]].append(r)
    out = []
    for finding, matches in grouped.items():
        same_item = [m for m in matches if m["earlier_item"] == m["item"]]
        chosen, how = (same_item, "同一扣分项") if same_item else (matches, "同一要素")
        first = chosen[0]
        eid = first["enterprise_id"]
        if eid not in scope.members:
            continue
        element = ctx.rules.assessment.elements.get(first["element"])
        label = f"{first['item']}" if same_item else (element.label if element else first["element"])
        links = "；".join(f"{m['earlier_campaign']} 问题 #{m['earlier_id']}（{m['earlier_item']}，"
                         f"{m['earlier_content']}，{'已验收销号' if m['earlier_status'] == 'verified' else '未销号'}）"
                         for m in chosen)
        selectors = [Selector(eid, assessment=first["assessment_id"], campaign=camp.name)]
        for m in chosen:
            selectors += [Selector(eid, assessment=m["earlier_assessment"], campaign=m["earlier_campaign"]),
                          Selector(eid, finding=m["earlier_id"], events=(RecordEvent.FINDING_VERIFIED,))]
        out.append(Pending("repeat_problem", scope.members[eid]["district"], [scope.who(eid)],
                           f"问题 #{finding}（{first['item']}）在以往评估中已发现（{how} {label}）：{links}", selectors,
                           {"finding": finding, "earlier": [m["earlier_id"] for m in chosen]}))
    return out


# --- deadlines counted Monday–Friday ---------------------------------------------------------------------

def weekday_fallback(ctx: Context, session: Session, scope: Scope) -> list[Pending]:
    """The members' live deadlines counted Monday–Friday in a year no holiday schedule covered (marked
    `fallback_years`): due dates that may fall on a holiday, to recount once the schedule is in the rules.
    Behind each: the record_assessment of the member's assessment in this campaign, where there is one."""
    deadline, member = scope.t(DEADLINE, MEMBER)
    members = select(member.c.enterprise_id).where(member.c.campaign_id == scope.campaign.id)
    assessed = {a["enterprise_id"]: a for a in scope.assessments.values()}
    out = []
    for d in session.execute(select(deadline).where(
            deadline.c.fallback_years.is_not(None), deadline.c.status.in_(("open", "paused", "lapsed")),
            deadline.c.enterprise_id.in_(members)).order_by(deadline.c.enterprise_id, deadline.c.id)
            ).mappings():
        eid = d["enterprise_id"]
        if eid not in scope.members:
            continue
        label = ctx.rules.deadlines.kind(d["kind"]).label
        out.append(Pending("counted_on_weekday_fallback", scope.members[eid]["district"], [scope.who(eid)],
                           f"{label}（{d['subject']}）到期日 {d['due_on']} 按周一至周五计算（{d['fallback_years']}年"
                           "尚无国务院节假日安排），安排公布后须重算（deadlines recount）",
                           [_assessed(scope, assessed[eid])] if eid in assessed else [],
                           {"due_on": d["due_on"]}))
    return out
