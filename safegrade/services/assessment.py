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

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from safegrade.assessment_input import AssessmentInput, read_assessments
from safegrade.cells import RowProblem
from safegrade.errors import InputErrors
from safegrade.models import Assessment, Campaign, CampaignMember, Deduction, Enterprise, Finding, table
from safegrade.scoring import Score, score
from safegrade.services.campaign import members
from safegrade.services.context import Context
from safegrade.services.finding import open_counts
from safegrade.services.ledger import FLAG_CHECK_OVERRIDE
from safegrade.services.lifecycle import FireRequest, fire_in
from safegrade.workday import add_working_days

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


def _problem(a: AssessmentInput, column: str, value: str, reason: str) -> RowProblem:
    return RowProblem(a.file, a.row, column, value, reason)


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
        report.problems = [str(p) for p in sorted(problems, key=lambda p: (p.file, p.row, p.column))]
        if problems and not dry_run:
            raise InputErrors(f"assessment import of {', '.join(report.files)}", report.problems)
        for a, member, campaign in plan:
            scored = score(ctx.rules.assessment, a.deductions, a.not_applicable)
            report.assessments += 1
            report.results[scored.result] += 1
            report.deductions += len(a.deductions)
            report.late += a.assessed_on > campaign["ends_on"]
            report.materials.update(a.materials)
            if not dry_run:
                moved = _record(ctx, session, a, scored, member, campaign)
                report.moved[moved["state"]] += 1
                report.findings += moved["findings"]
                report.major_hazards += moved["major_hazards"]
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
            problems.extend(_problem(a, "评估批次", name, "no such campaign; see `safegrade campaign list`")
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
            elif states[a.credit_code] != "assessing":
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


def _record(ctx: Context, session: Session, a: AssessmentInput, scored: Score, member: dict[str, Any],
            campaign: dict[str, Any]) -> dict[str, Any]:
    """Write one assessment, its deductions and findings, mark the member, and fire record_assessment."""
    now = ctx.now()
    rules = ctx.rules.assessment
    assessment_id = session.execute(insert(ASSESSMENT).returning(ASSESSMENT.c.id), [{
        "campaign_id": campaign["id"], "enterprise_id": member["enterprise_id"], "assessed_on": a.assessed_on,
        "assessors": list(a.assessors), "methods": list(a.methods), "not_applicable": list(a.not_applicable),
        "materials": dict(a.materials), "score": scored.score, "result": scored.result, "veto": scored.veto,
        "deducted": scored.deducted, "applicable_points": scored.applicable_points, "rules_version": rules.version,
        "source": f"{Path(a.file).name}:{a.row}", "remarks": a.remarks, "recorded_by": ctx.actor().name,
        "recorded_at": now}]).scalar_one()
    findings, major = 0, 0
    for d in a.deductions:
        item = rules.items[d.item]
        deduction_id = session.execute(insert(DEDUCTION).returning(DEDUCTION.c.id), [{
            "assessment_id": assessment_id, "element": item.element, "item": d.item, "points": d.points,
            "content": d.content, "rectify": d.rectify}]).scalar_one()
        if not d.rectify:
            continue
        days = ctx.rules.deadlines.major_finding_working_days if item.veto else ctx.rules.deadlines.finding_working_days
        session.execute(insert(FINDING), [{
            "enterprise_id": member["enterprise_id"], "assessment_id": assessment_id, "deduction_id": deduction_id,
            "element": item.element, "item": d.item, "content": d.content, "major": item.veto,
            "due_on": add_working_days(a.assessed_on, days), "status": "open", "created_at": now}])
        major += item.veto
        findings += not item.veto
    session.execute(update(MEMBER).where(MEMBER.c.id == member["id"]).values(
        assessed_on=a.assessed_on, late=a.assessed_on > campaign["ends_on"]))
    still_open = open_counts(session, member["enterprise_id"])  # this assessment's and any earlier ones
    reason = f"{campaign['name']}：{'、'.join(a.methods)}（{Path(a.file).name} 第{a.row}行）"
    fired = fire_in(ctx, session, [FireRequest(a.credit_code, "record_assessment", reason, {
        "result": scored.result, "findings": still_open["open_findings"],
        "major_hazards": still_open["open_major_hazards"], "campaign": campaign["name"],
        "score": f"{scored.score:.1f}", "assessment": assessment_id})], strict=True, via_service=True).fired[0]
    return {"state": fired.to_state, "findings": findings, "major_hazards": major}
