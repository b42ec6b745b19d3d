"""The circular (通报) of a campaign: every figure the bureau writes in it, gathered from the database.

One read transaction, so that every figure comes from the same snapshot; the counts are aggregated in
SQL (grouped per district, per element, per item), so the cost follows the number of districts and
items, not of enterprises and findings. The per-district counts of selection, exclusion, assessment,
lateness, interviews (家次) and revocations are `campaign_status`'s, run inside this same transaction.

Every figure is as of the context's now (safegrade.services.asof): the rows as they stood then and the
events recorded up to then; the circular is dated that day. Interviews and revocations are those of the
members' cases in the campaign (services.campaign.case_spans: in each member's audit chain, from the
campaign's open_assessment to the next campaign's); the other revocations of the campaign's period
(from its opening to the opening of the next campaign whose window starts after its window ends, up to
now) are listed apart (`other_revocations`: a non-工贸 enterprise revoked under 工作要求 4, a non-member),
so that the bureau chooses what to publish of them.

The figures are a contract (`CircularFigures`, frozen dataclasses of plain data: dates, ints, floats,
strings) whose field names are stable keys, in a stable order: the json format prints them as they are
(safegrade.output.jsonable turns a contract into the dict of its fields), and the md, html and docx
renderers (safegrade.reports) lay out the same figures. Mappings keyed by data (results per grade, copies
per kind of material, flags per kind) stay dicts.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Integer, Text, case, cast, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from safegrade.models import Assessment, AuditEvent, Campaign, CampaignMember, Deduction, Enterprise, Finding, table
from safegrade.services.asof import AsOf, as_of
from safegrade.services.campaign import (
    CampaignRecord,
    DistrictStatus,
    case_spans,
    find_campaign,
    seq_in_case,
    status_in,
)
from safegrade.services.context import Context
from safegrade.services.reporting.oversight import flag_counts_in
from safegrade.services.scope import READ_REPORTS
from states.names import Event

MEMBER, ASSESSMENT, DEDUCTION, FINDING = table(CampaignMember), table(Assessment), table(Deduction), table(Finding)
CAMPAIGN, ENTERPRISE, EVENT = table(Campaign), table(Enterprise), table(AuditEvent)
BLANK = " \t\r\n\u3000"  # what a deduction's content may hold and still say nothing (full-width space too)
DECIMALS = 1  # percentages to one decimal


@dataclass(frozen=True, slots=True)
class CampaignHeading:
    name: str
    starts_on: date
    ends_on: date
    ledger_due_on: date | None


@dataclass(frozen=True, slots=True)
class ExclusionCount:
    """Enterprises excluded for one reason, with the rules' label of it."""

    reason: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Rounding:
    """How the percentages were rounded, in words too (the circular prints `text`)."""

    method: str
    decimals: int
    base: str
    text: str


@dataclass(frozen=True, slots=True)
class MethodCount:
    method: str
    assessments: int


@dataclass(frozen=True, slots=True)
class PrintedMaterials:
    """Copies printed per kind (the rules' kinds first) and in total."""

    by_kind: dict[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class DistrictRow:
    """One district's row of the circular's table."""

    district: str
    district_name: str
    selected: int
    excluded: int
    assessed: int
    outstanding: int
    late: int
    interviews: int
    revocations: int
    excluded_by_reason: list[ExclusionCount]
    results: dict[str, int]
    deductions: int
    findings: int
    major_hazards: int
    major_hazard_enterprises: int
    materials: dict[str, int]


@dataclass(frozen=True, slots=True)
class ProblemItem:
    item: str
    label: str
    enterprises: int


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem type (an element of the assessment), with its items, most enterprises first."""

    element: str
    label: str
    enterprises: int
    deductions: int
    items: list[ProblemItem]


@dataclass(frozen=True, slots=True)
class DistrictFailings:
    """What the circular holds against a district."""

    district: str
    district_name: str
    late: bool
    late_assessments: int
    outstanding_after_window: int
    deductions_without_content: int
    rejected_findings: int
    flags: int
    flags_by_kind: dict[str, int]


@dataclass(frozen=True, slots=True)
class OtherRevocation:
    """A revocation of the campaign's period outside its members' cases (其他撤销): not counted in the
    circular's figures, listed for the bureau to choose whether to publish it."""

    credit_code: str
    name: str
    district: str
    district_name: str
    reason: str | None  # the revocation_reason the enterprise carried when it was revoked
    reason_label: str
    revoked_on: date


@dataclass(frozen=True, slots=True)
class CircularDeadlines:
    ledger_due_on: date | None
    finding_working_days: int
    major_finding_working_days: int
    publicity_working_days: int


@dataclass(frozen=True, slots=True)
class CircularFigures:
    """Every figure of the circular; the field names are the json format's stable keys, in its order."""

    campaign: CampaignHeading
    as_of: date
    issuer: str
    addressees: str
    selected: int
    excluded: int
    assessed: int
    outstanding: int
    late_assessments: int
    excluded_by_reason: list[ExclusionCount]
    results: dict[str, int]
    percent: dict[str, float]
    rounding: Rounding
    methods: list[MethodCount]
    elements: list[str]
    deductions: int
    findings: int
    major_hazards: int
    major_hazard_enterprises: int
    materials_printed: PrintedMaterials
    interviews: int
    revocations: int
    by_district: list[DistrictRow]
    top_problems: list[Problem]
    late_districts: list[str]
    district_failings: list[DistrictFailings]
    deadlines: CircularDeadlines
    other_revocations: list[OtherRevocation]  # 其他撤销: listed apart, not counted (added last: the keys' order holds)


ROUNDING = Rounding(method="largest_remainder", decimals=DECIMALS, base="assessed",
                    text="占比以实际评估企业数为基数，保留一位小数，按最大余数法修约，各项合计为100%")


def largest_remainder(counts: Sequence[int], decimals: int = 1) -> list[Decimal]:
    """Percentages of the counts' total with `decimals` decimals that add up to exactly 100.

    Each share is first rounded down; the units still missing go to the shares with the largest
    remainders (ties: the earlier share). Every share is then less than one unit from its exact value.
    With a total of 0 every share is 0 (there is nothing to divide)."""
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must not be negative: {list(counts)}")
    total = sum(counts)
    if total == 0:
        return [Decimal(0).scaleb(-decimals) for _ in counts]
    units = 100 * 10 ** decimals
    exact = [Fraction(c * units, total) for c in counts]
    floors = [int(e) for e in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:units - sum(floors)]:
        floors[i] += 1
    return [Decimal(f).scaleb(-decimals) for f in floors]


def circular_figures(ctx: Context, campaign_name: str) -> CircularFigures:
    """Every figure of the campaign's circular (see the module docstring); NotFound for an unknown campaign.
    The circular is of the whole city: the bureau, the reviewer and the system actor read it (read_reports)."""
    ctx.reader(READ_REPORTS)
    rules = ctx.rules
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        campaign = find_campaign(session, campaign_name, then)
        status = status_in(ctx, session, campaign, then)
        methods = _methods(session, then, campaign.id)
        printed = _materials(session, then, campaign.id)
        findings = _findings(session, then, campaign.id)
        deductions = _deductions(session, then, campaign.id)
        elements, items = _problems(session, then, campaign.id)
        others = _other_revocations(ctx, session, then, campaign)
        flags = flag_counts_in(ctx, session, campaign, then)
    results = tuple(r for r, _ in rules.assessment.thresholds)
    total = status.total
    counts = [total.results[r] for r in results]
    labels = {k: e.label for k, e in rules.campaign_exclusions.items()}
    materials = {d.district: _every_kind(printed.get(d.district, {}), rules.assessment.materials)
                 for d in status.districts}
    by_district = [_district(d, findings, deductions, materials, labels) for d in status.districts]
    issuer, addressees = _addressing(ctx)
    return CircularFigures(
        campaign=CampaignHeading(name=campaign.name, starts_on=campaign.starts_on, ends_on=campaign.ends_on,
                                 ledger_due_on=campaign.ledger_due_on),
        as_of=then.day,  # the day the circular is dated: the day it answers for
        issuer=issuer, addressees=addressees,
        selected=total.selected, excluded=total.excluded, assessed=total.assessed,
        outstanding=total.outstanding, late_assessments=total.late,
        excluded_by_reason=_reasons(_summed(d.excluded_by_reason for d in status.districts), labels),
        results=dict(zip(results, counts, strict=True)),
        percent=dict(zip(results, map(float, largest_remainder(counts, DECIMALS)), strict=True)),
        rounding=ROUNDING,
        methods=[MethodCount(method=m, assessments=methods[m]) for m in _ordered(methods, rules.assessment.methods)],
        elements=[e.label for e in rules.assessment.elements.values()],
        deductions=sum(d.deductions for d in by_district), findings=sum(d.findings for d in by_district),
        major_hazards=sum(d.major_hazards for d in by_district),
        major_hazard_enterprises=sum(d.major_hazard_enterprises for d in by_district),
        materials_printed=_printed(by_district, rules.assessment.materials),
        interviews=total.interviews, revocations=total.revocations,
        by_district=by_district,
        top_problems=_top_problems(ctx, elements, items),
        late_districts=list(status.late_districts),
        district_failings=[_failings(d, findings, deductions, flags, campaign.ends_on, status.as_of)
                           for d in status.districts],
        deadlines=CircularDeadlines(ledger_due_on=campaign.ledger_due_on,
                                    finding_working_days=rules.deadlines.finding_working_days,
                                    major_finding_working_days=rules.deadlines.major_finding_working_days,
                                    publicity_working_days=rules.deadlines.publicity_working_days),
        other_revocations=others,
    )


def _addressing(ctx: Context) -> tuple[str, str]:
    """Who issues the circular and to whom, by the rules' labels of the roles (市应急管理局, 区应急管理局)."""
    roles = ctx.rules.lifecycle.roles
    bureau = roles["bureau"].label if "bureau" in roles else "市应急管理局"
    district = roles["district"].label if "district" in roles else "区应急管理局"
    return bureau, f"各{district}"


def _summed(counts: Iterable[Mapping[str, int]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for c in counts:
        out.update(c)
    return out


def _printed(by_district: Sequence[DistrictRow], kinds: Sequence[str]) -> PrintedMaterials:
    """Copies printed per kind (the rules' kinds first) and in total."""
    per_kind = _every_kind(_summed(d.materials for d in by_district), kinds)
    return PrintedMaterials(by_kind=per_kind, total=sum(per_kind.values()))


def _ordered(found: Mapping[str, int], known: Sequence[str]) -> list[str]:
    """The rules' names first, in their order, then any other name found (legacy data), sorted."""
    return [k for k in known if found.get(k)] + sorted(k for k in found if k not in known and found[k])


def _every_kind(found: Mapping[str, int], known: Sequence[str]) -> dict[str, int]:
    """Copies per material: every kind of the rules (0 when none), then any other kind found (legacy data)."""
    return {k: found.get(k, 0) for k in (*known, *sorted(k for k in found if k not in known))}


def _assessed(then: AsOf, campaign_id: int) -> tuple[Any, Any, Any, Any]:
    """The campaign's assessments joined to their members (for the district responsible), as of `then`:
    (the join, the condition, the assessment table and the member table it reads)."""
    assessment, member = then.table(ASSESSMENT), then.table(MEMBER)
    joined = assessment.join(member, (member.c.campaign_id == assessment.c.campaign_id)
                             & (member.c.enterprise_id == assessment.c.enterprise_id))
    return joined, assessment.c.campaign_id == campaign_id, assessment, member


def _methods(session: Session, then: AsOf, campaign_id: int) -> Counter[str]:
    """Assessments per method. Grouped on the JSON text of the list: a handful of distinct lists."""
    assessment = then.table(ASSESSMENT)
    text = cast(assessment.c.methods, Text)
    out: Counter[str] = Counter()
    for listed, n in session.execute(select(text, func.count()).where(assessment.c.campaign_id == campaign_id)
                                     .group_by(text)):
        for method in set(json.loads(listed) if listed else []):
            out[method] += n
    return out


def _materials(session: Session, then: AsOf, campaign_id: int) -> dict[str, dict[str, int]]:
    """Printed materials per district and kind, summed in SQL over the JSON objects' members
    (json_each on SQLite, json_each_text on PostgreSQL: both decode the keys, as stored escaped)."""
    joined, where, assessment, member = _assessed(then, campaign_id)
    each = func.json_each if session.get_bind().dialect.name == "sqlite" else func.json_each_text
    material = each(assessment.c.materials).table_valued("key", "value").alias("material")
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for district, kind, copies in session.execute(
            select(member.c.district, material.c.key, func.sum(cast(material.c.value, Integer)))
            .select_from(joined.join(material, true())).where(where).group_by(member.c.district, material.c.key)):
        out[district][kind] = int(copies or 0)
    return out


def _findings(session: Session, then: AsOf, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per district: findings, major hazards and the enterprises with one, findings whose evidence was rejected."""
    joined, where, assessment, member = _assessed(then, campaign_id)
    finding = then.table(FINDING)
    rows = session.execute(
        select(member.c.district, func.count(finding.c.id),
               func.coalesce(func.sum(case((finding.c.major, 1), else_=0)), 0),
               func.count(distinct(case((finding.c.major, finding.c.enterprise_id)))),
               func.coalesce(func.sum(case((finding.c.rejections > 0, 1), else_=0)), 0))
        .select_from(joined.join(finding, finding.c.assessment_id == assessment.c.id)).where(where)
        .group_by(member.c.district))
    return {d: {"findings": n, "major_hazards": int(major), "major_hazard_enterprises": with_major,
                "rejected_findings": int(rejected)} for d, n, major, with_major, rejected in rows}


def _deductions(session: Session, then: AsOf, campaign_id: int) -> dict[str, dict[str, int]]:
    """Per district: deductions, and those without content (legacy rows: the importer refuses them)."""
    joined, where, assessment, member = _assessed(then, campaign_id)
    deduction = then.table(DEDUCTION)
    blank = or_(deduction.c.content.is_(None), func.trim(deduction.c.content, BLANK) == "")
    rows = session.execute(
        select(member.c.district, func.count(deduction.c.id), func.coalesce(func.sum(case((blank, 1), else_=0)), 0))
        .select_from(joined.join(deduction, deduction.c.assessment_id == assessment.c.id)).where(where)
        .group_by(member.c.district))
    return {d: {"deductions": n, "deductions_without_content": int(empty)} for d, n, empty in rows}


def _problems(session: Session, then: AsOf, campaign_id: int
              ) -> tuple[dict[str, tuple[int, int]], dict[str, list[Any]]]:
    """Enterprises (and deductions) per element, and enterprises per item within each element.
    One assessment per enterprise and campaign: distinct assessments are distinct enterprises."""
    assessment, deduction = then.table(ASSESSMENT), then.table(DEDUCTION)
    where = assessment.c.campaign_id == campaign_id
    joined = deduction.join(assessment, assessment.c.id == deduction.c.assessment_id)
    elements = {e: (n, k) for e, n, k in session.execute(
        select(deduction.c.element, func.count(distinct(deduction.c.assessment_id)), func.count())
        .select_from(joined).where(where).group_by(deduction.c.element))}
    items: dict[str, list[Any]] = defaultdict(list)
    for element, item, n in session.execute(
            select(deduction.c.element, deduction.c.item, func.count(distinct(deduction.c.assessment_id)))
            .select_from(joined).where(where).group_by(deduction.c.element, deduction.c.item)):
        items[element].append((item, n))
    return elements, items


def _period_end(session: Session, then: AsOf, campaign: CampaignRecord) -> datetime | None:
    """When the campaign's period ends: the opening of the next campaign whose window starts after this
    one's ends (campaigns whose windows overlap, e.g. one per district, share their period)."""
    campaigns = then.table(CAMPAIGN)
    ended: datetime | None = session.execute(
        select(func.min(campaigns.c.created_at))
        .where(campaigns.c.starts_on > campaign.ends_on, campaigns.c.created_at > campaign.created_at)).scalar()
    return ended


def _other_revocations(ctx: Context, session: Session, then: AsOf, campaign: CampaignRecord
                       ) -> list[OtherRevocation]:
    """The revocations of the campaign's period that are in none of its members' cases, in order."""
    event, enterprise = then.table(EVENT), then.table(ENTERPRISE)
    query = (select(event.c.enterprise_id, event.c.seq, event.c.occurred_at, enterprise.c.credit_code,
                    enterprise.c.name, enterprise.c.district)
             .join(enterprise, enterprise.c.id == event.c.enterprise_id)
             .where(event.c.event == Event.REVOKE, event.c.occurred_at >= campaign.created_at)
             .order_by(event.c.occurred_at, enterprise.c.credit_code))
    ended = _period_end(session, then, campaign)
    if ended is not None:
        query = query.where(event.c.occurred_at < ended)
    revoked = session.execute(query).all()
    ids = sorted({r.enterprise_id for r in revoked})
    spans: dict[int, tuple[int, int | None]] = {}
    for i in range(0, len(ids), 500):
        span = case_spans(session, then, campaign, among=ids[i:i + 500])
        spans.update((e, (opened, closed)) for e, opened, closed in session.execute(select(span)))
    revoked = [r for r in revoked if r.enterprise_id not in spans or not seq_in_case(r.seq, *spans[r.enterprise_id])]
    reasons = _reasons_when_revoked(session, then, {(r.enterprise_id, r.seq) for r in revoked})
    zone = then.at.tzinfo
    return [OtherRevocation(
        credit_code=r.credit_code, name=r.name, district=r.district, district_name=ctx.rules.district_name(r.district),
        reason=reasons.get((r.enterprise_id, r.seq)),
        reason_label=_reason_label(ctx, reasons.get((r.enterprise_id, r.seq))),
        revoked_on=r.occurred_at.astimezone(zone).date()) for r in revoked]


def _reason_label(ctx: Context, reason: str | None) -> str:
    return ctx.rules.revocation_reasons.get(reason, reason) if reason else "—"


def _reasons_when_revoked(session: Session, then: AsOf, revocations: set[tuple[int, int]]
                          ) -> dict[tuple[int, int], str | None]:
    """The revocation_reason each enterprise carried at each of these revocations (enterprise id, seq),
    replayed from its audit chain (a payload that is not JSON was tampered with: `audit verify` says so)."""
    event = then.table(EVENT)
    ids = sorted({e for e, _ in revocations})
    out: dict[tuple[int, int], str | None] = {}
    for i in range(0, len(ids), 500):
        reason: str | None = None
        current = None
        for enterprise_id, seq, payload in session.execute(
                select(event.c.enterprise_id, event.c.seq, event.c.payload)
                .where(event.c.enterprise_id.in_(ids[i:i + 500])).order_by(event.c.enterprise_id, event.c.seq)):
            if enterprise_id != current:
                reason, current = None, enterprise_id
            reason = _after(payload).get("revocation_reason", reason)
            if (enterprise_id, seq) in revocations:
                out[enterprise_id, seq] = reason
    return out


def _after(payload: str) -> dict[str, Any]:
    try:
        after = json.loads(payload).get("after", {})
    except (ValueError, AttributeError):
        return {}
    return after if isinstance(after, dict) else {}


def _top_problems(ctx: Context, elements: Mapping[str, tuple[int, int]], items: Mapping[str, list[Any]]
                  ) -> list[Problem]:
    """Problem types by element, most enterprises first (ties: the rules' order), each with its items."""
    rules = ctx.rules.assessment
    order = {key: i for i, key in enumerate(rules.elements)}
    out = []
    for key in sorted(elements, key=lambda k: (-elements[k][0], order.get(k, len(order)), k)):
        known = rules.elements.get(key)
        listed = sorted(items.get(key, []), key=lambda pair: (-pair[1], pair[0]))
        out.append(Problem(element=key, label=known.label if known else key, enterprises=elements[key][0],
                           deductions=elements[key][1],
                           items=[ProblemItem(item=code, label=rules.items[code].label if code in rules.items else code,
                                              enterprises=n) for code, n in listed]))
    return out


def _reasons(counts: Mapping[str, int], labels: Mapping[str, str]) -> list[ExclusionCount]:
    """Exclusions per reason with the rules' label, in the rules' order (a reason they no longer list: last)."""
    return [ExclusionCount(reason=k, label=labels.get(k, k), count=counts[k])
            for k in _ordered(counts, tuple(labels))]


def _district(status: DistrictStatus, findings: Mapping[str, Mapping[str, int]],
              deductions: Mapping[str, Mapping[str, int]], materials: Mapping[str, dict[str, int]],
              labels: Mapping[str, str]) -> DistrictRow:
    """One district's row of the circular's table."""
    code = status.district
    f = findings.get(code, {})
    return DistrictRow(
        district=code, district_name=status.district_name,
        selected=status.selected, excluded=status.excluded, assessed=status.assessed,
        outstanding=status.outstanding, late=status.late, interviews=status.interviews,
        revocations=status.revocations,
        excluded_by_reason=_reasons(status.excluded_by_reason, labels),
        results=dict(status.results),
        deductions=deductions.get(code, {}).get("deductions", 0),
        findings=f.get("findings", 0), major_hazards=f.get("major_hazards", 0),
        major_hazard_enterprises=f.get("major_hazard_enterprises", 0),
        materials=materials[code],
    )


def _failings(status: DistrictStatus, findings: Mapping[str, Mapping[str, int]],
              deductions: Mapping[str, Mapping[str, int]], flags: Mapping[str, Mapping[str, int]], ends_on: date,
              as_of: date) -> DistrictFailings:
    """What the circular holds against a district; `flags` counts the data-quality flags of
    safegrade.services.reporting.oversight (`report districts` lists each with its audit events), less the
    deductions without content, which are counted on their own."""
    code = status.district
    kinds = {k: n for k, n in flags.get(code, {}).items() if n and k != "deduction_without_content"}
    return DistrictFailings(
        district=code, district_name=status.district_name,
        late=bool(status.district_late),
        late_assessments=status.late,
        outstanding_after_window=status.outstanding if as_of > ends_on else 0,
        deductions_without_content=deductions.get(code, {}).get("deductions_without_content", 0),
        rejected_findings=findings.get(code, {}).get("rejected_findings", 0),
        flags=sum(kinds.values()),
        flags_by_kind=kinds,
    )
