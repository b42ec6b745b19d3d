"""`assess import`: scored assessments recorded from the districts' files.

Score, result and findings are derived from the deductions by the assessment rules in force (their
version is stored with each assessment), never typed in. The whole import is one transaction: every
bad assessment is listed by file, row and field, and then nothing is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from safegrade.domain.scoring import Score, score
from safegrade.errors import InputErrors, in_order
from safegrade.io.assessment import AssessmentInput, read_assessments
from safegrade.io.cells import RowProblem
from safegrade.models import Assessment, Campaign, CampaignMember, Deduction, Enterprise, Finding, table
from safegrade.services import deadlines
from safegrade.services.campaign import members
from safegrade.services.context import Context
from safegrade.services.finding import open_counts_of
from safegrade.services.ledger import FLAG_CHECK_OVERRIDE
from safegrade.services.lifecycle import FireRequest, fire_in
from states.names import Event, State

CAMPAIGN, MEMBER, ENTERPRISE = table(Campaign), table(CampaignMember), table(Enterprise)
ASSESSMENT, DEDUCTION, FINDING = table(Assessment), table(Deduction), table(Finding)


@dataclass
class AssessmentReport:
    files: list[str]
    assessments: int = 0
    results: Counter[str] = field(default_factory=Counter)
    deductions: int = 0
    findings: int = 0
    major_hazards: int = 0
    late: int = 0
    materials: Counter[str] = field(default_factory=Counter)
    moved: Counter[str] = field(default_factory=Counter)  # destination state → count
    problems: list[str] = field(default_factory=list)
    dry_run: bool = False


def _problem(a: AssessmentInput, column: str, value: str, reason: str, hint: str | None = None) -> RowProblem:
    return RowProblem(a.file, a.row, column, value, reason, hint=hint)


def import_assessments(ctx: Context, paths: Sequence[Path], *, dry_run: bool = False) -> AssessmentReport:
    ctx.require("import_assessment", "import assessments")
    report = AssessmentReport([str(p) for p in paths], dry_run=dry_run)
    with ctx.store.read() as session:
        accepted = {code for code, flags in session.execute(select(ENTERPRISE.c.credit_code, ENTERPRISE.c.flags))
                    if FLAG_CHECK_OVERRIDE in (flags or [])}
    inputs: list[AssessmentInput] = []
    problems: list[RowProblem] = []
    first: dict[tuple[str, str], AssessmentInput] = {}
    for path in paths:
        found, bad = read_assessments(path, ctx.rules.assessment, accepted_codes=accepted)
        problems.extend(bad)
        for a in found:
            key = (a.credit_code, a.campaign)
            if key in first:  # duplicates inside one file are the reader's; these are across files
                problems.append(_problem(a, "统一社会信用代码", a.credit_code,
                                         f"assessed again in {first[key].file}:{first[key].row} for {a.campaign}"))
                continue
            first[key] = a
            inputs.append(a)
    transaction = ctx.store.read if dry_run else ctx.store.write
    with transaction() as session:
        plan = _check(ctx, session, inputs, problems)
        report.problems = list[str](in_order(problems))  # each a Problem: its line, and its parts
        if problems and not dry_run:
            raise InputErrors(f"assessment import of {', '.join(report.files)}", in_order(problems), field="paths",
                              value=report.files)
        scored = [(a, member, campaign, score(ctx.rules.assessment, a.deductions, a.not_applicable))
                  for a, member, campaign in plan]
        for a, _, campaign, result in scored:
            report.assessments += 1
            report.results[result.result] += 1
            report.deductions += len(a.deductions)
            report.late += a.assessed_on > campaign["ends_on"]
            report.materials.update(a.materials)
        if not dry_run and scored:
            _record(ctx, session, scored, report)
    return report


def _check(ctx: Context, session: Session, inputs: list[AssessmentInput], problems: list[RowProblem]
           ) -> list[tuple[AssessmentInput, dict[str, Any], dict[str, Any]]]:
    """What only the database can tell: campaign, membership, scope, state, an earlier assessment."""
    actor = ctx.actor()
    district_scope = ctx.rules.lifecycle.roles[actor.role].scope == "district"
    today = ctx.now().date()
    campaigns = {r["name"]: dict(r) for r in session.execute(
        select(CAMPAIGN).where(CAMPAIGN.c.name.in_({a.campaign for a in inputs}))).mappings()}
    plan = []
    for name, group in _by_campaign(inputs).items():
        campaign = campaigns.get(name)
        if campaign is None:
            problems.extend(_problem(a, "评估批次", name, "no such campaign", hint="list_campaigns")
                            for a in group)
            continue
        found = members(session, campaign["id"], [a.credit_code for a in group])
        states = dict(session.execute(select(ENTERPRISE.c.credit_code, ENTERPRISE.c.state).where(
            ENTERPRISE.c.credit_code.in_([a.credit_code for a in group]))).all())
        for a in group:
            member = found.get(a.credit_code)
            if a.credit_code not in states:
                problems.append(_problem(a, "统一社会信用代码", a.credit_code, "no such enterprise in the ledger"))
            elif member is None:
                problems.append(_problem(a, "统一社会信用代码", a.credit_code, f"was not selected for {name}"))
            elif member["excluded_reason"]:
                problems.append(_problem(a, "统一社会信用代码", a.credit_code,
                                         f"was excluded from {name} ({member['excluded_reason']}); not assessed"))
            elif member["assessed_on"]:
                problems.append(_problem(a, "统一社会信用代码", a.credit_code,
                                         f"already assessed on {member['assessed_on']} in {name}"))
            elif district_scope and member["district"] != actor.district:
                problems.append(_problem(a, "统一社会信用代码", a.credit_code,
                                         f"is in {ctx.rules.district_name(member['district'])}; {actor.name} records "
                                         f"assessments of {ctx.rules.district_name(actor.district or '')} only"))
            elif states[a.credit_code] != State.ASSESSING:
                problems.append(_problem(a, "统一社会信用代码", a.credit_code,
                                         f"is {ctx.rules.state_label(states[a.credit_code])}, not 评估中"))
            elif a.assessed_on > today:
                problems.append(_problem(a, "评估日期", a.assessed_on.isoformat(), f"is after today ({today})"))
            else:
                plan.append((a, member, campaign))
    return plan


def _by_campaign(inputs: list[AssessmentInput]) -> dict[str, list[AssessmentInput]]:
    groups: dict[str, list[AssessmentInput]] = {}
    for a in inputs:
        groups.setdefault(a.campaign, []).append(a)
    return groups


_MEMBER_DONE = update(MEMBER).where(MEMBER.c.id == bindparam("_id")).values(
    assessed_on=bindparam("assessed_on"), late=bindparam("late"), updated_at=bindparam("updated_at"))


Planned = tuple[AssessmentInput, dict[str, Any], dict[str, Any], Score]  # input, member, campaign, score


def _record(ctx: Context, session: Session, plan: Sequence[Planned], report: AssessmentReport) -> None:
    """Write the assessments, their deductions and findings, mark the members, and fire record_assessment
    for all of them: a few statements per table for the whole import, not a few per assessment."""
    now, rules, actor = ctx.now(), ctx.rules.assessment, ctx.actor().name
    session.execute(insert(ASSESSMENT), [{
        "campaign_id": campaign["id"], "enterprise_id": member["enterprise_id"], "assessed_on": a.assessed_on,
        "assessors": list(a.assessors), "methods": list(a.methods), "not_applicable": list(a.not_applicable),
        "materials": dict(a.materials), "score": result.score, "result": result.result, "veto": result.veto,
        "deducted": result.deducted, "applicable_points": result.applicable_points, "rules_version": rules.version,
        "source": f"{Path(a.file).name}:{a.row}", "remarks": a.remarks, "recorded_by": actor, "recorded_at": now}
        for a, member, campaign, result in plan])
    ids = {(c, e): i for i, c, e in session.execute(
        select(ASSESSMENT.c.id, ASSESSMENT.c.campaign_id, ASSESSMENT.c.enterprise_id).where(
            ASSESSMENT.c.enterprise_id.in_(bindparam("ids", expanding=True))),
        {"ids": [member["enterprise_id"] for _, member, _, _ in plan]})}
    assessment_of = [ids[(campaign["id"], member["enterprise_id"])] for _, member, campaign, _ in plan]
    deductions = [(n, a, d) for n, (a, _, _, _) in enumerate(plan) for d in a.deductions]
    deduction_ids: list[int] = []
    if deductions:  # an empty executemany would insert one row of defaults
        session.execute(insert(DEDUCTION), [{
            "assessment_id": assessment_of[n], "element": rules.items[d.item].element, "item": d.item,
            "points": d.points, "content": d.content, "rectify": d.rectify} for n, _, d in deductions])
        # the deductions' ids, in the order they were inserted (ids grow in insertion order)
        deduction_ids = [r[0] for r in session.execute(
            select(DEDUCTION.c.id).where(DEDUCTION.c.assessment_id.in_(bindparam("ids", expanding=True)))
            .order_by(DEDUCTION.c.id), {"ids": assessment_of})]
    findings = []
    for deduction_id, (n, a, d) in zip(deduction_ids, deductions, strict=True):
        if not d.rectify:
            continue
        item = rules.items[d.item]
        days = ctx.rules.deadlines.major_finding_working_days if item.veto else ctx.rules.deadlines.finding_working_days
        findings.append({"enterprise_id": plan[n][1]["enterprise_id"], "assessment_id": assessment_of[n],
                         "deduction_id": deduction_id, "element": item.element, "item": d.item, "content": d.content,
                         "major": item.veto, "due_on": ctx.rules.calendar.add_working_days(a.assessed_on, days),
                         "status": "open",
                         "created_at": now, "updated_at": now})
        report.major_hazards += item.veto
        report.findings += not item.veto
    if findings:
        session.execute(insert(FINDING), findings)
        assessed_on = {aid: a.assessed_on for aid, (a, _, _, _) in zip(assessment_of, plan, strict=True)}

        def days_of(major: bool) -> int:
            return ctx.rules.deadlines.major_finding_working_days if major else ctx.rules.deadlines.finding_working_days

        district_of = {member["enterprise_id"]: member["district"] for _, member, _, _ in plan}
        deadlines.set_deadlines(ctx, session, [
            deadlines.DeadlineSpec("major_finding" if major else "finding", deadlines.finding_subject(fid), due_on,
                                   district_of[eid], eid, finding_id=fid, counted_from=assessed_on[aid],
                                   working_days=days_of(major))
            for fid, eid, major, due_on, aid in session.execute(
                select(FINDING.c.id, FINDING.c.enterprise_id, FINDING.c.major, FINDING.c.due_on,
                       FINDING.c.assessment_id)
                .where(FINDING.c.assessment_id.in_(bindparam("ids", expanding=True))), {"ids": assessment_of})],
            new=True)
    session.execute(_MEMBER_DONE, [{"_id": member["id"], "assessed_on": a.assessed_on, "updated_at": now,
                                    "late": a.assessed_on > campaign["ends_on"]} for a, member, campaign, _ in plan])
    still_open = open_counts_of(session, [member["enterprise_id"] for _, member, _, _ in plan])
    requests = []
    for (a, member, campaign, result), assessment_id in zip(plan, assessment_of, strict=True):
        counts = still_open.get(member["enterprise_id"], {"open_findings": 0, "open_major_hazards": 0})
        reason = f"{campaign['name']}：{'、'.join(a.methods)}（{Path(a.file).name} 第{a.row}行）"
        requests.append(FireRequest(a.credit_code, Event.RECORD_ASSESSMENT, reason, {
            "result": result.result, "findings": counts["open_findings"],
            "major_hazards": counts["open_major_hazards"], "campaign": campaign["name"],
            "score": f"{result.score:.1f}", "assessment": assessment_id}))
    fired = fire_in(ctx, session, requests, strict=True, via_service=True)
    report.moved.update(f.to_state for f in fired.fired)
