"""Calendar commands: the working days the engine counts with, and the deadlines a missing schedule touches."""

from __future__ import annotations

import typer
from rich.table import Table

from safegrade.cli.app import app, emit, options, out
from safegrade.services.calendar import WEEKDAYS, CalendarMonth, check_calendar, show_calendar

calendar_app = typer.Typer(help="工作日历：国务院节假日安排与调休 (the working-day calendar).", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")

_MARK = {"workday": "", "weekend": "·", "holiday": "休", "makeup": "班"}


def _grid(month: CalendarMonth, year: int) -> Table:
    """A month as a calendar: 休 a holiday, 班 a make-up working day (调休上班), · a weekend."""
    table = Table(*WEEKDAYS, title=f"{year}年{month.month}月（工作日 {month.working_days} 天）")
    week = [""] * month.days[0].date.weekday()
    for day in month.days:
        week.append(f"{day.date.day}{_MARK[day.kind]}")
        if len(week) == 7:
            table.add_row(*week)
            week = []
    if week:
        table.add_row(*week, *[""] * (7 - len(week)))
    return table


@calendar_app.command("show")
def calendar_show(
    ctx: typer.Context,
    year: int = typer.Argument(..., help="年份 (year), e.g. 2027."),
    month: int | None = typer.Option(None, "--month", min=1, max=12, help="只看一个月 (one month, 1–12)."),
) -> None:
    """显示一年或一个月的工作日，标出节假日和调休上班日及其依据 (working days, holidays, make-up days, source)."""
    opts = options(ctx)
    shown = show_calendar(opts.context(check_schema=False), year, month)
    if emit(opts, shown):
        return
    for m in shown.months:
        out.print(_grid(m, year))
        for day in m.days:
            if day.kind in ("holiday", "makeup"):
                out.print(f"  {day.date} 周{day.weekday} {day.kind_label} {day.name or ''}", markup=False)
    if shown.covered_by is None:
        out.print(f"{year}年：无国务院节假日安排（rules/holidays.yaml 与 chinesecalendar 均未覆盖），以上按周一至周五"
                  "计算，并非官方日历 — no holiday schedule: Monday–Friday shown", markup=False)
    else:
        source = shown.covered_by if shown.source == shown.covered_by else f"{shown.covered_by}：{shown.source}"
        out.print(f"{year}年：工作日 {shown.working_days} 天，节假日 {shown.holidays} 天，"
                  f"调休上班 {shown.makeup_days} 天；依据 {source}", markup=False)

@calendar_app.command("check")
def calendar_check(ctx: typer.Context) -> None:
    """各年份节假日安排的来源，以及落在无安排年份或按周一至周五计算的未完期限 (deadlines without a schedule)."""
    opts = options(ctx)
    checked = check_calendar(opts.context())
    if emit(opts, checked):
        return
    for c in checked.covered:
        years = c.years
        span = ", ".join(map(str, years)) if len(years) < 4 else f"{years[0]}–{years[-1]}"
        out.print(f"{c.covered_by}: {span}", markup=False)
    out.print(f"周一至周五兜底 (calendar.weekday_fallback): {'允许' if checked.weekday_fallback else '不允许'}",
              markup=False)
    if checked.deadlines:
        table = Table("#", "期限", "事项", "区", "到期日", "状态", "计算", "说明")
        for d in checked.deadlines:
            counted = f"{d.counted_from} 起 {d.working_days} 个工作日" if d.counted_from else "指定日期"
            table.add_row(str(d.id), d.label, d.subject, d.district_name, str(d.due_on), d.status_label, counted,
                          d.note)
        out.print(table)
    missing = "、".join(map(str, checked.uncovered_years)) or "无"
    out.print(f"{len(checked.deadlines)} 项期限涉及无节假日安排的年份（{missing}）；"
              f"其中 {checked.to_recount} 项现可重算：safegrade deadlines recount", markup=False)
