"""District oversight report (各区评估工作监督): per district, the campaign's assessments completed on
time, the rectification loops closed on time, interviews (家次) and revocations, and the data-quality
flags with the audit events behind each.

Selection, exclusion, assessment, lateness, interviews and revocations are `campaign_status`'s (not
counted twice); the findings' loop is aggregated in SQL per district; the flags are
safegrade.services.reporting.oversight's. A finding counts as closed on time when it was verified on or
before its due date (in the deployment's time zone); as overdue when it is not verified and its
due date has passed.

The report answers as of the context's now (services.asof), from one read transaction: the campaign's
status (services.campaign.status_in), the findings as they stood then and "today" the day of that instant,
the flags as of then (oversight.flags_in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select

from safegrade.models import Assessment, CampaignMember, Finding, UTCDateTime, table
from safegrade.services.asof import AsOf, as_of
from safegrade.services.campaign import CampaignWindow, DistrictStatus, StatusTotal, find_campaign, status_in
from safegrade.services.context import Context
from safegrade.services.reporting.oversight import KINDS, counts, flags_in
from safegrade.services.scope import EVERYTHING, READ_DISTRICT_REPORTS, Scope

MEMBER, ASSESSMENT, FINDING = table(CampaignMember), table(Assessment), table(Finding)


@dataclass(frozen=True, slots=True)
class FlagKind:
    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class DistrictOversight:
    """One district's row of the report (or the 合计 row: no district code, `district_late` None)."""

    district: str
    district_name: str
    selected: int
    excluded: int
    to_assess: int
    assessed: int
    assessed_on_time: int
    late: int
    outstanding: int
    on_time_rate: float | None  # percent, None when there was nothing to assess
    district_late: bool | None
    interviews: int
    revocations: int
    results: dict[str, int]
    findings: int
    verified: int
    verified_on_time: int
    overdue_open: int
    closed_on_time_rate: float | None
    flag_counts: dict[str, int]
    flags_total: int
    flags: list[dict[str, Any]]  # oversight's flags of the district (their fields vary with the kind)


@dataclass(frozen=True, slots=True)
class DistrictReport:
    title: str
    campaign: CampaignWindow
    as_of: date
    generated_at: datetime
    kinds: list[FlagKind]
    districts: list[DistrictOversight]
    total: DistrictOversight
    flags: list[dict[str, Any]]
    late_districts: list[str]


def district_report(ctx: Context, campaign_name: str) -> DistrictReport:
    """The per-district oversight figures of a campaign, with every flag; a district officer's: its district's
    row (the total is its row) and its flags."""
    scope = ctx.reader(READ_DISTRICT_REPORTS)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        campaign = find_campaign(session, campaign_name, then)
        status = status_in(ctx, session, campaign, then, scope=scope)
        flags = flags_in(ctx, session, campaign, then, scope=scope)
        loops = _loops(ctx, session, then, campaign.id, scope)
    per_kind = counts(flags, [d.district for d in status.districts])
    districts = [_district(d.district, d.district_name, d, d.district_late, loops.get(d.district, {}),
                           per_kind.get(d.district, {}), flags) for d in status.districts]
    total = _district("", "合计", status.total, None,
                      {k: sum(loops.get(d.district, {}).get(k, 0) for d in status.districts)
                       for k in ("findings", "verified", "on_time", "overdue")},
                      {k: sum(per_kind.get(d.district, {}).get(k, 0) for d in status.districts) for k in KINDS},
                      [])
    return DistrictReport(
        title="各区运行质量评估工作监督报告",
        campaign=CampaignWindow(name=campaign.name, starts_on=campaign.starts_on, ends_on=campaign.ends_on),
        as_of=then.day, generated_at=then.at, kinds=[FlagKind(kind=k, label=v) for k, v in KINDS.items()],
        districts=districts, total=total, flags=flags, late_districts=status.late_districts)


def _rate(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def _district(code: str, name: str, s: DistrictStatus | StatusTotal, district_late: bool | None,
              loop: Mapping[str, int], flags_by_kind: Mapping[str, int], flags: list[dict[str, Any]]
              ) -> DistrictOversight:
    to_assess = s.selected - s.excluded
    on_time = s.assessed - s.late
    findings = loop.get("findings", 0)
    return DistrictOversight(
        district=code, district_name=name, selected=s.selected,
        excluded=s.excluded, to_assess=to_assess, assessed=s.assessed, assessed_on_time=on_time,
        late=s.late, outstanding=s.outstanding, on_time_rate=_rate(on_time, to_assess),
        district_late=district_late, interviews=s.interviews, revocations=s.revocations,
        results=dict(s.results), findings=findings, verified=loop.get("verified", 0),
        verified_on_time=loop.get("on_time", 0), overdue_open=loop.get("overdue", 0),
        closed_on_time_rate=_rate(loop.get("on_time", 0), findings),
        flag_counts={k: flags_by_kind.get(k, 0) for k in KINDS}, flags_total=sum(flags_by_kind.values()),
        flags=[f for f in flags if f["district"] == code],
    )


def _loops(ctx: Context, session: Any, then: AsOf, campaign_id: int, scope: Scope = EVERYTHING
           ) -> dict[str, dict[str, int]]:
    """Per district: the campaign's findings, verified, verified on time, overdue and not verified (as
    they stood at `then.at`) — one grouped query; 'on time' compares each verification with the end of its
    due date, the due dates' ends computed once per distinct due date."""
    finding, assessment, member = then.table(FINDING), then.table(ASSESSMENT), then.table(MEMBER)
    joined = (finding.join(assessment, assessment.c.id == finding.c.assessment_id)
              .join(member, (member.c.campaign_id == assessment.c.campaign_id)
                    & (member.c.enterprise_id == assessment.c.enterprise_id)))
    where = assessment.c.campaign_id == campaign_id
    in_scope = scope.where_district(member.c.district)
    if in_scope is not None:
        where = where & in_scope
    dues = session.execute(select(finding.c.due_on).distinct().select_from(joined).where(where)).scalars().all()
    if not dues:
        return {}
    zone = ctx.settings.zone
    ends = [(finding.c.due_on == d, literal(datetime.combine(d + timedelta(days=1), time(), zone), UTCDateTime()))
            for d in dues]
    end_of_due = case(*ends)
    verified = finding.c.status == "verified"
    rows = session.execute(
        select(member.c.district, func.count(),
               func.sum(case((verified, 1), else_=0)),
               func.sum(case((verified & (finding.c.verified_at < end_of_due), 1), else_=0)),
               func.sum(case((~verified & (finding.c.due_on < then.day), 1), else_=0)))
        .select_from(joined).where(where).group_by(member.c.district))
    return {d: {"findings": n, "verified": int(v or 0), "on_time": int(t or 0), "overdue": int(o or 0)}
            for d, n, v, t, o in rows}
