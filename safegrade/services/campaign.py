"""Assessment campaigns (运行质量评估): the bureau selects enterprises and gives a window; districts
assess; deregistered or relocated enterprises are excluded with a reason and counted apart; a
district that finishes after the window is recorded as late."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Integer, Select, cast, exists, func, insert, null, or_, select
from sqlalchemy.orm import Session

from safegrade.domain.creditcode import normalize
from safegrade.errors import InputErrors, InvalidInput, NotFound, Problem
from safegrade.models import Assessment, AuditEvent, Campaign, CampaignMember, Enterprise, table
from safegrade.services import deadlines
from safegrade.services.asof import AsOf, as_of
from safegrade.services.context import Context, district_code, scope_check
from safegrade.services.lifecycle import FireRequest, fire_in
from safegrade.services.scope import EVERYTHING, READ_CAMPAIGNS, Scope
from states.names import Event

CAMPAIGN, MEMBER, ENTERPRISE, ASSESSMENT = table(Campaign), table(CampaignMember), table(Enterprise), table(Assessment)
EVENT = table(AuditEvent)
RESULTS = ("优", "良", "差")


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A campaign as stored (the columns of `campaign`, in their order)."""

    id: int
    name: str
    starts_on: date
    ends_on: date
    ledger_due_on: date | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignWindow:
    """A campaign as reports head it: its name and window."""

    name: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class OpenedCampaign:
    campaign: str
    starts_on: date
    ends_on: date
    ledger_due_on: date | None
    selected: int
    skipped: dict[str, int]  # enterprises not eligible, per state label


@dataclass(frozen=True, slots=True)
class ExcludedMember:
    campaign: str
    credit_code: str
    reason: str
    label: str
    event: str
    to_state: str


@dataclass(frozen=True, slots=True)
class DistrictStatus:
    """One district's progress in a campaign."""

    district: str
    district_name: str
    selected: int
    excluded: int
    assessed: int
    outstanding: int
    late: int
    interviews: int
    revocations: int
    district_late: bool
    results: dict[str, int]
    excluded_by_reason: dict[str, int]


@dataclass(frozen=True, slots=True)
class StatusTotal:
    """The districts' counts summed."""

    selected: int
    excluded: int
    assessed: int
    outstanding: int
    late: int
    interviews: int
    revocations: int
    results: dict[str, int]


@dataclass(frozen=True, slots=True)
class CampaignStatus:
    campaign: str
    starts_on: date
    ends_on: date
    as_of: date
    districts: list[DistrictStatus]
    total: StatusTotal
    late_districts: list[str]


def read_codes(path: Path) -> list[tuple[int, str]]:
    """Credit codes from a text or csv file: the first cell of each non-empty line, with its line number."""
    if not path.is_file():
        raise InvalidInput(f"{{codes_file}}: no such file {path}", code="no_such_file", field="codes_file",
                           value=str(path))
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        cell = line.split(",")[0].strip()
        if cell and not cell.startswith("#") and cell not in ("统一社会信用代码", "credit_code"):
            out.append((number, normalize(cell)))
    return out


def _record(row: Any) -> CampaignRecord:
    return CampaignRecord(id=row["id"], name=row["name"], starts_on=row["starts_on"], ends_on=row["ends_on"],
                          ledger_due_on=row["ledger_due_on"], created_by=row["created_by"],
                          created_at=row["created_at"])


def find_campaign(session: Session, name: str, then: AsOf | None = None) -> CampaignRecord:
    """The campaign named `name`; with `then`, only if it had been opened by then.at (a read as of that instant)."""
    campaigns = CAMPAIGN if then is None else then.table(CAMPAIGN)
    row = session.execute(select(campaigns).where(campaigns.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no campaign named {name!r}", code="unknown_campaign", field="campaign", value=name,
                       hint="list_campaigns")
    return _record(row)


def open_campaign(ctx: Context, name: str, starts_on: date, ends_on: date, *, all_: bool = False,
                  district: str | None = None, codes_file: Path | None = None,
                  ledger_due_on: date | None = None) -> OpenedCampaign:
    """Select enterprises and move them to 评估中, in one transaction with the campaign's records.
    `ledger_due_on` is when each district's 台账 is due to the bureau (a deadline of its own)."""
    ctx.require("open_campaign")
    name = name.strip()
    _check_opening(name, starts_on, ends_on, all_=all_, district=district, codes_file=codes_file,
                   ledger_due_on=ledger_due_on)
    eligible = set(ctx.rules.lifecycle.events[Event.OPEN_ASSESSMENT].sources)
    now = ctx.now()
    with ctx.store.write() as session:
        if session.execute(select(CAMPAIGN.c.id).where(CAMPAIGN.c.name == name)).first():
            raise InvalidInput(f"a campaign named {name!r} already exists", code="already_exists", field="name",
                               value=name)
        rows = {r["credit_code"]: dict(r) for r in session.execute(select(ENTERPRISE)).mappings()}
        skipped: Counter[str] = Counter()
        if codes_file is not None:
            chosen = _chosen_from_file(ctx, name, codes_file, rows, eligible)
        else:
            chosen = _chosen_in(ctx, district, rows, eligible, skipped)
        if not chosen:
            raise InvalidInput(f"campaign {name}: no enterprise to assess among those chosen", code="none_chosen",
                               field="district" if district is not None else "codes_file" if codes_file else "all",
                               value=district if district is not None else str(codes_file) if codes_file else all_)
        chosen.sort(key=lambda r: (r["district"], r["credit_code"]))
        campaign_id = session.execute(insert(Campaign).returning(CAMPAIGN.c.id), [{
            "name": name, "starts_on": starts_on, "ends_on": ends_on, "ledger_due_on": ledger_due_on,
            "created_by": ctx.actor().name,
            "created_at": now}]).scalar_one()
        session.execute(insert(MEMBER), [{
            "campaign_id": campaign_id, "enterprise_id": r["id"], "district": r["district"], "due_on": ends_on,
            "selected_at": now, "updated_at": now} for r in chosen])
        fire_in(ctx, session, [FireRequest(r["credit_code"], Event.OPEN_ASSESSMENT, f"{name}：纳入运行质量评估",
                                           {"campaign": name}) for r in chosen], strict=True, via_service=True)
        districts = sorted({r["district"] for r in chosen})
        deadlines.set_deadlines(ctx, session, [
            deadlines.DeadlineSpec("campaign_window", deadlines.campaign_subject(campaign_id, d), ends_on, d,
                                   campaign_id=campaign_id) for d in districts] + [
            deadlines.DeadlineSpec("ledger_submission", deadlines.ledger_subject(campaign_id, d), ledger_due_on, d,
                                   campaign_id=campaign_id) for d in districts if ledger_due_on is not None], new=True)
    return OpenedCampaign(campaign=name, starts_on=starts_on, ends_on=ends_on, ledger_due_on=ledger_due_on,
                          selected=len(chosen),
                          skipped={ctx.rules.state_label(s): n for s, n in sorted(skipped.items())})


def _check_opening(name: str, starts_on: date, ends_on: date, *, all_: bool, district: str | None,
                   codes_file: Path | None, ledger_due_on: date | None) -> None:
    """The campaign's name, dates and way of choosing, checked before the database is opened."""
    if not name:
        raise InvalidInput("campaign {name} must not be empty", code="required", field="name", value=name)
    if ends_on < starts_on:
        raise InvalidInput(f"{{ends_on}} {ends_on} is before {{starts_on}} {starts_on}", code="before_start",
                           field="ends_on", value=ends_on, allowed=f"on or after {starts_on}", others=["starts_on"])
    if ledger_due_on is not None and ledger_due_on < starts_on:
        raise InvalidInput(f"{{ledger_due_on}} {ledger_due_on} is before {{starts_on}} {starts_on}",
                           code="before_start", field="ledger_due_on", value=ledger_due_on,
                           allowed=f"on or after {starts_on}", others=["starts_on"])
    if sum((all_, district is not None, codes_file is not None)) != 1:
        raise InvalidInput("choose the enterprises with exactly one of {all}, {district} X, {codes_file} FILE",
                           code="choose_one", field="all", allowed=["all", "district", "codes_file"],
                           value=[k for k, v in (("all", all_), ("district", district), ("codes_file", codes_file))
                                  if v not in (None, False)],
                           others=["district", "codes_file"])


def _chosen_from_file(ctx: Context, name: str, codes_file: Path, rows: Mapping[str, dict[str, Any]],
                      eligible: set[str]) -> list[dict[str, Any]]:
    """The enterprises a codes file names; every code unknown or not eligible is reported at once."""
    chosen, problems = [], []
    for number, code in read_codes(codes_file):
        row = rows.get(code)
        if row is None:
            problems.append(Problem(str(codes_file), number, "", code, "no such enterprise"))
        elif row["state"] not in eligible:
            problems.append(Problem(str(codes_file), number, "", code,
                                    f"is {ctx.rules.state_label(row['state'])}; only "
                                    f"{', '.join(ctx.rules.state_label(s) for s in eligible)} can be assessed"))
        else:
            chosen.append(row)
    if problems:
        raise InputErrors(f"campaign {name}: {{codes_file}} {codes_file}", problems, field="codes_file",
                          value=str(codes_file))
    return chosen


def _chosen_in(ctx: Context, district: str | None, rows: Mapping[str, dict[str, Any]], eligible: set[str],
               skipped: Counter[str]) -> list[dict[str, Any]]:
    """The eligible enterprises of `district` (or all); the others are counted by state in `skipped`."""
    code = district_code(ctx.rules, district)
    chosen = []
    for row in rows.values():
        if code is not None and row["district"] != code:
            continue
        if row["state"] in eligible:
            chosen.append(row)
        else:
            skipped[row["state"]] += 1
    return chosen


def exclude_member(ctx: Context, name: str, credit_code: str, reason: str, note: str = "") -> ExcludedMember:
    """Exclude a selected enterprise (注销, 迁址 …): counted apart, and its lifecycle event fired."""
    ctx.require("exclude_from_campaign")
    exclusion = ctx.rules.campaign_exclusions.get(reason)
    if exclusion is None:
        raise InvalidInput(f"{{reason}}: {reason!r} is not a campaign exclusion; choose one of "
                           + ", ".join(f"{k} ({e.label})" for k, e in ctx.rules.campaign_exclusions.items()),
                           code="unknown_exclusion", field="reason", value=reason,
                           allowed=list(ctx.rules.campaign_exclusions))
    code = normalize(credit_code)
    with ctx.store.write() as session:
        campaign = find_campaign(session, name)
        member = session.execute(
            select(MEMBER, ENTERPRISE.c.credit_code).join(ENTERPRISE, ENTERPRISE.c.id == MEMBER.c.enterprise_id)
            .where(MEMBER.c.campaign_id == campaign.id, ENTERPRISE.c.credit_code == code)).mappings().first()
        def not_selected() -> NotFound:
            return NotFound(f"{code} was not selected for campaign {name}", code="not_selected",
                            field="credit_code", value=code)

        if member is None:
            raise not_selected()
        scope_check(ctx.actor(), ctx.rules, member["district"], code, f"exclude it from {name}",
                    missing=not_selected)
        if member["excluded_reason"] or member["assessed_on"]:
            what = "excluded" if member["excluded_reason"] else f"assessed on {member['assessed_on']}"
            raise InvalidInput(f"{code} is already {what} in campaign {name}", code="already_decided",
                               field="credit_code", value=code)
        text = f"{name}：{exclusion.label}" + (f"（{note.strip()}）" if note.strip() else "")
        fired = fire_in(ctx, session, [FireRequest(code, exclusion.event, text, exclusion.data)], strict=True).fired[0]
        session.execute(MEMBER.update().where(MEMBER.c.id == member["id"]).values(
            excluded_reason=reason, excluded_note=note.strip() or None, updated_at=ctx.now()))
    return ExcludedMember(campaign=name, credit_code=code, reason=reason, label=exclusion.label,
                          event=fired.event, to_state=fired.to_state)


def campaign_status(ctx: Context, name: str) -> CampaignStatus:
    """Per district: selected, excluded, assessed, outstanding, late, and results; with totals; as of the
    context's now (a campaign opened later is unknown then). A district officer reads the rows of its district
    (and totals over them)."""
    scope = ctx.reader(READ_CAMPAIGNS)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        return status_in(ctx, session, find_campaign(session, name, then), then, scope=scope)


def case_spans(session: Session, then: AsOf, campaign: CampaignRecord, among: Sequence[int] | None = None
               ) -> FromClause:
    """Each member's case in the campaign: (enterprise_id, opened, closed), the seq of the campaign's
    open_assessment in the enterprise's audit chain and of the next open_assessment after it (another
    campaign's; NULL while there is none). The events strictly between the two belong to the campaign
    (`in_case`). `among`: only these enterprises' cases.

    The campaign's own open_assessment is the member's first one at or after the campaign's creation:
    open_campaign records the campaign and fires them in one transaction, and an enterprise being assessed
    cannot be opened again before that. Events and campaigns are read as of `then`; while no campaign was
    opened after this one, no case has ended (and the next openings are not looked for)."""
    member, event, campaigns = then.table(MEMBER), then.table(EVENT), then.table(CAMPAIGN)
    members = select(member.c.enterprise_id).where(member.c.campaign_id == campaign.id)
    if among is not None:
        members = members.where(member.c.enterprise_id.in_(among))
    opens = select(event.c.enterprise_id, event.c.seq).where(
        event.c.event == Event.OPEN_ASSESSMENT, event.c.occurred_at >= campaign.created_at,
        event.c.enterprise_id.in_(members))
    later = session.execute(select(exists().where(campaigns.c.created_at >= campaign.created_at,
                                                  campaigns.c.id != campaign.id))).scalar()
    if not later:
        found = opens.subquery("case_opens")
        return (select(found.c.enterprise_id, func.min(found.c.seq).label("opened"),
                       cast(null(), Integer).label("closed")).group_by(found.c.enterprise_id).subquery("case_span"))
    cte = opens.cte("case_opens")
    first = (select(cte.c.enterprise_id, func.min(cte.c.seq).label("opened"))
             .group_by(cte.c.enterprise_id).subquery("first_open"))
    after = cte.alias("later_open")
    following = (select(first.c.enterprise_id, func.min(after.c.seq).label("closed"))
                 .join(after, (after.c.enterprise_id == first.c.enterprise_id) & (after.c.seq > first.c.opened))
                 .group_by(first.c.enterprise_id).subquery("next_open"))
    return (select(first.c.enterprise_id, first.c.opened, following.c.closed)
            .outerjoin(following, following.c.enterprise_id == first.c.enterprise_id).subquery("case_span"))


def in_case(event: FromClause, span: FromClause) -> ColumnElement[bool]:
    """The join condition of an event (a row of audit_event) with the case span it falls in."""
    return ((event.c.enterprise_id == span.c.enterprise_id) & (event.c.seq > span.c.opened)
            & or_(span.c.closed.is_(None), event.c.seq < span.c.closed))


def seq_in_case(seq: int, opened: int, closed: int | None) -> bool:
    """`in_case` for one event of a chain whose span is known (opened, closed)."""
    return opened < seq and (closed is None or seq < closed)


def _acts(session: Session, then: AsOf, campaign: CampaignRecord, scope: Scope = EVERYTHING) -> Select[Any]:
    """Interviews held (家次: each one counts) and revocations in the members' cases, per district."""
    member, event, span = then.table(MEMBER), then.table(EVENT), case_spans(session, then, campaign)
    condition = scope.where_district(member.c.district)
    return (select(member.c.district, event.c.event, func.count())
            .where(*([] if condition is None else [condition]))
            .select_from(span.join(member, (member.c.enterprise_id == span.c.enterprise_id)
                                   & (member.c.campaign_id == campaign.id))
                         .join(event, in_case(event, span)))
            .where(event.c.event.in_((Event.HOLD_INTERVIEW, Event.REVOKE)))
            .group_by(member.c.district, event.c.event))


def status_in(ctx: Context, session: Session, campaign: CampaignRecord, then: AsOf | None = None, *,
              scope: Scope = EVERYTHING) -> CampaignStatus:
    """`campaign_status` inside the caller's read transaction (a report reads one snapshot), as of `then`
    (the context's now when not given). Interviews and revocations are those of the members' cases in the
    campaign (case_spans): from the campaign's opening in each chain to the next campaign's, up to then.
    `scope`: only the districts it covers."""
    then = then or as_of(ctx, session)
    today = then.day
    name = campaign.name
    member, assessment = then.table(MEMBER), then.table(ASSESSMENT)
    in_scope = scope.where_district(member.c.district)
    rows = session.execute(
        select(member.c.district, member.c.excluded_reason, member.c.assessed_on, member.c.late,
               assessment.c.result)
        .outerjoin(assessment, (assessment.c.campaign_id == member.c.campaign_id)
                   & (assessment.c.enterprise_id == member.c.enterprise_id))
        .where(member.c.campaign_id == campaign.id, *([] if in_scope is None else [in_scope]))).all()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for district, event, count in session.execute(_acts(session, then, campaign, scope)):
        per[district]["interviews" if event == Event.HOLD_INTERVIEW else "revocations"] += count
    for district, excluded, assessed_on, late, result in rows:
        c = per[district]
        c["selected"] += 1
        if excluded:
            c["excluded"] += 1
            c[f"excluded:{excluded}"] += 1
        elif assessed_on:
            c["assessed"] += 1
            c[f"result:{result}"] += 1
            c["late"] += bool(late)
        else:
            c["outstanding"] += 1
    districts: list[DistrictStatus] = []
    for code in sorted(per):
        c = per[code]
        overdue = today > campaign.ends_on and c["outstanding"] > 0
        districts.append(DistrictStatus(
            district=code, district_name=ctx.rules.district_name(code), selected=c["selected"],
            excluded=c["excluded"], assessed=c["assessed"], outstanding=c["outstanding"], late=c["late"],
            interviews=c["interviews"], revocations=c["revocations"],
            district_late=bool(c["late"]) or overdue, results={r: c[f"result:{r}"] for r in RESULTS},
            excluded_by_reason={k: c[f"excluded:{k}"] for k in ctx.rules.campaign_exclusions if c[f"excluded:{k}"]},
        ))
    total = StatusTotal(
        selected=sum(d.selected for d in districts), excluded=sum(d.excluded for d in districts),
        assessed=sum(d.assessed for d in districts), outstanding=sum(d.outstanding for d in districts),
        late=sum(d.late for d in districts), interviews=sum(d.interviews for d in districts),
        revocations=sum(d.revocations for d in districts),
        results={r: sum(d.results[r] for d in districts) for r in RESULTS})
    return CampaignStatus(campaign=name, starts_on=campaign.starts_on, ends_on=campaign.ends_on, as_of=today,
                          districts=districts, total=total,
                          late_districts=[d.district_name for d in districts if d.district_late])


def list_campaigns(ctx: Context) -> list[CampaignRecord]:
    """The campaigns opened by the context's now, by window (city-wide records: every reader of campaigns sees
    them all)."""
    ctx.reader(READ_CAMPAIGNS)
    with ctx.store.read() as session:
        campaigns = as_of(ctx, session).table(CAMPAIGN)
        return [_record(r) for r in session.execute(
            select(campaigns).order_by(campaigns.c.starts_on, campaigns.c.id)).mappings()]


def members(session: Session, campaign_id: int, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The campaign members among these credit codes, keyed by code."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(codes), 500):
        for r in session.execute(
            select(MEMBER, ENTERPRISE.c.credit_code).join(ENTERPRISE, ENTERPRISE.c.id == MEMBER.c.enterprise_id)
            .where(MEMBER.c.campaign_id == campaign_id, ENTERPRISE.c.credit_code.in_(codes[i:i + 500]))).mappings():
            out[r["credit_code"]] = dict(r)
    return out
