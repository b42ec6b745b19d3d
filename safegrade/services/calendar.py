"""The working-day calendar as the bureau sees it, and the recount when a year's holiday schedule arrives.

`calendar show YEAR [--month M]`: each day of a year or month, working or not, holidays and make-up working
days (调休上班) marked, and where the schedule comes from (rules/holidays.yaml, the chinesecalendar package, or
none: Monday–Friday). `calendar check`: which years each source covers, and the live deadlines that fall in
a year without a schedule or were counted Monday–Friday.

`deadlines recount`: the deadlines counted Monday–Friday (marked `fallback_years`) counted again, from the
same day and the same number of working days, with the rules' calendar as it is now — in one transaction,
each change recorded in the enterprise's audit chain (record event `deadline_recounted`, the deadline's
before and after in its data; a publicity period also moves the enterprise's tracked `publicity_ends_on`).
Nothing already taken is taken again: the day through which the sweep has acted (`done_through`) and an
escalation already fired stay as they are; reminders queued for the old due date and not yet sent are
superseded. A second recount finds nothing to change. `deadlines plan` shows the same changes first
(`recount_preview`) and plans on the recounted dates.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safegrade.domain import timetable
from safegrade.domain.workday import PACKAGE_SOURCE
from safegrade.errors import InvalidInput
from safegrade.models import Enterprise, Finding, table
from safegrade.services.asof import as_of
from safegrade.services.context import Context
from safegrade.services.deadlines import (
    DEADLINE,
    LAPSED,
    LIVE,
    OPEN,
    PAUSED,
    REMINDER,
    STATUS_LABELS,
    fallback_years,
)
from safegrade.services.lifecycle import record_in
from safegrade.services.scope import PLAN_DEADLINES
from states.names import RecordEvent

ENTERPRISE, FINDING = table(Enterprise), table(Finding)
WEEKDAYS = "一二三四五六日"
DAY_KINDS = {"workday": "工作日", "weekend": "休息日", "holiday": "节假日", "makeup": "调休上班"}
RULES_SOURCE = "rules/holidays.yaml"


@dataclass(frozen=True, slots=True)
class CalendarDay:
    date: date
    weekday: str  # 一 … 日
    working: bool
    kind: str  # workday | weekend | holiday | makeup (DAY_KINDS)
    kind_label: str
    name: str | None  # the holiday's name: of the day off, or of the holiday a make-up day serves


@dataclass(frozen=True, slots=True)
class CalendarMonth:
    month: int
    working_days: int
    days: list[CalendarDay]


@dataclass(frozen=True, slots=True)
class CalendarYear:
    """A year (or one month of it) as the engine counts its working days, and on what authority."""

    year: int
    month: int | None
    covered_by: str | None  # rules/holidays.yaml | chinesecalendar X.Y.Z | None: no schedule
    source: str | None  # the notice (the rules' source text, or the package's), None without a schedule
    weekday_fallback: bool  # no schedule: the days below are Monday–Friday, not an official calendar
    working_days: int
    holidays: int
    makeup_days: int
    months: list[CalendarMonth]


@dataclass(frozen=True, slots=True)
class CoveredYears:
    covered_by: str  # rules/holidays.yaml | chinesecalendar X.Y.Z
    years: list[int]


@dataclass(frozen=True, slots=True)
class UncoveredDeadline:
    """A live deadline that falls in a year without a holiday schedule, or was counted Monday–Friday."""

    id: int
    kind: str
    label: str
    subject: str
    district_name: str
    due_on: date
    status: str
    status_label: str
    counted_from: date | None
    working_days: int | None
    fallback_years: str | None
    note: str


@dataclass(frozen=True, slots=True)
class CalendarCheck:
    covered: list[CoveredYears]
    weekday_fallback: bool  # config allows counting an uncovered year Monday–Friday
    uncovered_years: list[int]  # the years the listed deadlines touch that no schedule covers
    deadlines: list[UncoveredDeadline]
    to_recount: int  # marked deadlines the rules' calendar now covers: `deadlines recount` would change them


@dataclass(frozen=True, slots=True)
class RecountChange:
    """One deadline counted again: its dates and mark before and after, and the audit event recording it."""

    id: int
    kind: str
    label: str
    subject: str
    credit_code: str | None
    district_name: str
    counted_from: date | None
    working_days: int | None
    due_on_before: date
    due_on_after: date
    next_on_before: date | None
    next_on_after: date | None
    fallback_years_before: str | None
    fallback_years_after: str | None
    audit: str | None  # the hash of the deadline_recounted event (None: a dry run, or no enterprise)


@dataclass(frozen=True, slots=True)
class DeadlineRecount:
    dry_run: bool
    checked: int  # live deadlines marked as counted Monday–Friday
    changed: int
    still_fallback: int  # after the recount, still counted Monday–Friday somewhere (no schedule yet)
    changes: list[RecountChange]


# --- show ------------------------------------------------------------------------------------------------

def _day(ctx: Context, d: date) -> CalendarDay:
    cal = ctx.rules.calendar
    working = cal.is_working_day(d)
    holiday, makeup = cal.holiday_name(d), cal.makeup_name(d)
    if holiday and not working:
        kind = "holiday"
    elif makeup and working and d.weekday() >= 5:
        kind = "makeup"
    else:
        kind = "workday" if working else "weekend"
    return CalendarDay(date=d, weekday=WEEKDAYS[d.weekday()], working=working, kind=kind, kind_label=DAY_KINDS[kind],
                       name=holiday if kind == "holiday" else makeup if kind == "makeup" else None)


def show_calendar(ctx: Context, year: int, month: int | None = None) -> CalendarYear:
    """The days of `year` (or of one month of it) as the engine counts them."""
    if not 1949 <= year <= 2200:
        raise InvalidInput(f"{{year}}: {year} is out of range", code="out_of_range", field="year", value=year,
                           allowed="1949–2200")
    if month is not None and not 1 <= month <= 12:
        raise InvalidInput(f"{{month}}: {month} is not a month", code="out_of_range", field="month", value=month,
                           allowed="1–12")
    cal = ctx.rules.calendar
    months = []
    for m in [month] if month else range(1, 13):
        days = [_day(ctx, date(year, m, n)) for n in range(1, gregorian.monthrange(year, m)[1] + 1)]
        months.append(CalendarMonth(month=m, working_days=sum(d.working for d in days), days=days))
    every = [d for m in months for d in m.days]
    covered_by = (RULES_SOURCE if cal.from_rules(year) else PACKAGE_SOURCE) if cal.covers(year) else None
    return CalendarYear(
        year=year, month=month, covered_by=covered_by, source=cal.source(year), weekday_fallback=covered_by is None,
        working_days=sum(d.working for d in every), holidays=sum(d.kind == "holiday" for d in every),
        makeup_days=sum(d.kind == "makeup" for d in every), months=months)


# --- check -----------------------------------------------------------------------------------------------

def check_calendar(ctx: Context) -> CalendarCheck:
    """Which years each source covers; the live deadlines (as they stood at the context's now) due in a year
    no schedule covers, or counted Monday–Friday."""
    cal = ctx.rules.calendar
    covered = [CoveredYears(covered_by=k, years=v) for k, v in cal.covered().items() if v]
    scope = ctx.reader(PLAN_DEADLINES)
    with ctx.store.read() as session:
        d = as_of(ctx, session).table(DEADLINE)
        owned = scope.where_owned(d.c.district, d.c.enterprise_id, ENTERPRISE)  # a district officer: its own
        rows = [dict(r) for r in session.execute(select(d).where(d.c.status.in_(LIVE), *([] if owned is None else
                                                                                       [owned]))
                                                 .order_by(d.c.due_on, d.c.id)).mappings()]
    out: list[UncoveredDeadline] = []
    years: set[int] = set()
    to_recount = 0
    for r in rows:
        uncovered = cal.uncovered(r["due_on"], r["due_on"])
        if not uncovered and not r["fallback_years"]:
            continue
        now_missing = fallback_years(ctx, r["kind"], r["due_on"], r["counted_from"])
        years.update(uncovered, now_missing)
        if r["fallback_years"] and not now_missing:
            to_recount += 1
            note = f"按周一至周五计算（{r['fallback_years']}年）；现已有节假日安排，待重算（deadlines recount）"
        elif r["fallback_years"]:
            note = f"按周一至周五计算（{r['fallback_years']}年），尚无国务院节假日安排"
        else:
            note = "到期日为指定日期，不按工作日计算；所在年份尚无节假日安排"
        out.append(UncoveredDeadline(
            id=r["id"], kind=r["kind"], label=ctx.rules.deadlines.kind(r["kind"]).label, subject=r["subject"],
            district_name=ctx.rules.district_name(r["district"]), due_on=r["due_on"], status=r["status"],
            status_label=STATUS_LABELS.get(r["status"], r["status"]), counted_from=r["counted_from"],
            working_days=r["working_days"], fallback_years=r["fallback_years"], note=note))
    return CalendarCheck(covered=covered, weekday_fallback=ctx.settings.calendar.weekday_fallback,
                         uncovered_years=sorted(years), deadlines=out, to_recount=to_recount)


# --- recount ---------------------------------------------------------------------------------------------

def _recounted(ctx: Context, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A marked deadline counted again with the rules' calendar as it is now: its new due_on, next_on, status
    and mark, or None when nothing changes. What the sweep has done (done_through, escalation) stays."""
    due = row["due_on"]
    if row["counted_from"] is not None and row["working_days"]:
        due = ctx.rules.calendar.add_working_days(row["counted_from"], row["working_days"])
    mark = ",".join(map(str, fallback_years(ctx, row["kind"], due, row["counted_from"]))) or None
    status, nxt = row["status"], None
    if status != PAUSED:
        nxt = timetable.next_on(ctx.rules.deadlines.kind(row["kind"]), due, row["done_through"],
                                escalated=row["escalation"] is not None)
        status = OPEN if nxt else LAPSED
    new = {"due_on": due, "next_on": nxt, "status": status, "fallback_years": mark}
    return None if all(row[k] == v for k, v in new.items()) else new


def recount_preview(ctx: Context, session: Session, deadline: Any, where: Sequence[Any] = ()
                    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(row, recounted values) of every live marked deadline the recount would change; `deadline` is the
    deadline table as it stands at the reader's instant, `where` the reader's scope over it."""
    rows = session.execute(select(deadline).where(deadline.c.status.in_(LIVE), deadline.c.fallback_years.is_not(None),
                                                  *where)
                           .order_by(deadline.c.due_on, deadline.c.id)).mappings()
    return [(dict(r), new) for r in rows if (new := _recounted(ctx, dict(r))) is not None]


def change_of(ctx: Context, row: Mapping[str, Any], new: Mapping[str, Any], credit_code: str | None = None,
              audit: str | None = None) -> RecountChange:
    return RecountChange(
        id=row["id"], kind=row["kind"], label=ctx.rules.deadlines.kind(row["kind"]).label, subject=row["subject"],
        credit_code=credit_code, district_name=ctx.rules.district_name(row["district"]),
        counted_from=row["counted_from"], working_days=row["working_days"], due_on_before=row["due_on"],
        due_on_after=new["due_on"], next_on_before=row["next_on"], next_on_after=new["next_on"],
        fallback_years_before=row["fallback_years"], fallback_years_after=new["fallback_years"], audit=audit)


def recount_deadlines(ctx: Context, *, dry_run: bool = False) -> DeadlineRecount:
    """Count again every live deadline counted Monday–Friday, with the schedule the rules give now: one
    transaction, each change recorded with its before and after."""
    ctx.require("recount_deadlines", "recount deadlines")
    with ctx.store.read() if dry_run else ctx.store.write() as session:
        checked = len(session.execute(select(DEADLINE.c.id).where(
            DEADLINE.c.status.in_(LIVE), DEADLINE.c.fallback_years.is_not(None))).all())
        preview = recount_preview(ctx, session, DEADLINE)
        codes = _credit_codes(session, [r["enterprise_id"] for r, _ in preview])
        changes = [change_of(ctx, r, new, codes.get(r["enterprise_id"]),
                             None if dry_run else _apply(ctx, session, r, new, codes.get(r["enterprise_id"])))
                   for r, new in preview]
    still = checked - len(changes) + sum(c.fallback_years_after is not None for c in changes)
    return DeadlineRecount(dry_run=dry_run, checked=checked, changed=len(changes), still_fallback=still,
                           changes=changes)


def _credit_codes(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {i: code for i, code in session.execute(select(ENTERPRISE.c.id, ENTERPRISE.c.credit_code)
                                                   .where(ENTERPRISE.c.id.in_(wanted)))}


def _apply(ctx: Context, session: Session, row: Mapping[str, Any], new: Mapping[str, Any],
           credit_code: str | None) -> str | None:
    """Write one recounted deadline (and its finding's due date), supersede the reminders queued for the old
    due date, and record the change in the enterprise's chain; the audit hash, or None without an enterprise
    (its change is kept by deadline_version, the row before and after, dated)."""
    now = ctx.now()
    session.execute(update(DEADLINE).where(DEADLINE.c.id == row["id"]).values(**new, updated_at=now))
    moved = new["due_on"] != row["due_on"]
    if moved and row["finding_id"] is not None:
        session.execute(update(FINDING).where(FINDING.c.id == row["finding_id"])
                        .values(due_on=new["due_on"], updated_at=now))
    if moved:
        session.execute(update(REMINDER).where(
            REMINDER.c.deadline_id == row["id"], REMINDER.c.due_on == row["due_on"], REMINDER.c.status == "pending")
            .values(status="superseded", last_error=f"期限已按节假日安排重算为{new['due_on']}", updated_at=now))
    if credit_code is None:
        return None
    label = ctx.rules.deadlines.kind(row["kind"]).label
    data = {"deadline": row["subject"], "kind": row["kind"],
            "counted_from": row["counted_from"].isoformat() if row["counted_from"] else None,
            "working_days": row["working_days"],
            "deadline_before": _dated({k: row[k] for k in new}), "deadline_after": _dated(new)}
    changes = {"publicity_ends_on": new["due_on"]} if row["kind"] == "publicity" and moved else {}
    reason = (f"按节假日安排重算{label}：{row['due_on']} → {new['due_on']}" if moved
              else f"按节假日安排核对{label}：到期日{row['due_on']}不变")
    return record_in(ctx, session, credit_code, RecordEvent.DEADLINE_RECOUNTED, reason, data, changes).hash


def _dated(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
