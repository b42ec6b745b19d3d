"""Deadline commands: run the sweep now or as of a simulated time, plan what will happen, list, runs."""

from __future__ import annotations

import typer
from rich.table import Table

from safegrade.cli.app import app, emit, options, out, parse_date
from safegrade.services.calendar import DeadlineRecount, RecountChange, recount_deadlines
from safegrade.services.deadlines import STATUS_LABELS, list_deadlines
from safegrade.services.jobs import progress_job, send_job, sweep_job, system_context
from safegrade.services.plan import AUDIENCE_LABELS, plan_deadlines
from safegrade.services.runs import list_runs

WHAT = {"reminder": "提醒", "superseded": "提醒（已被更新的取代）", "progress": "进度提醒", "event": "升级",
        "notice": "告知", "skipped": "不升级"}
deadlines_app = typer.Typer(help="Deadlines, reminders and escalation (期限、提醒、逾期升级).", no_args_is_help=True)
app.add_typer(deadlines_app, name="deadlines")



@deadlines_app.command("check")
def deadlines_check(
    ctx: typer.Context,
    send: bool = typer.Option(False, "--send", help="Also deliver the reminders (as the daily run does)."),
) -> None:
    """Run the deadline sweep now (or --as-of a simulated time): queue reminders, fire escalations."""
    opts = options(ctx)
    with system_context(opts.settings(), opts.as_of_instant()) as sctx:
        done = {"deadline_sweep": sweep_job(sctx, "cli"), "campaign_progress": progress_job(sctx, "cli")}
        if send:
            done["send_reminders"] = send_job(sctx, "cli")
        swept_at = sctx.now()
    if emit(opts, done):
        return
    s = done["deadline_sweep"]
    for entry in s["log"]:
        line = f"{entry['on']} {entry['subject']} {entry['step']}: {entry['what']}"
        if entry.get("to_state"):
            line += f" → {entry['to_state']} ({entry['hash'][:12]})"
        if entry.get("note"):
            line += f" — {entry['note']}"
        out.print(line, markup=False)
    out.print(f"sweep as of {swept_at:%Y-%m-%d %H:%M}: {s['deadlines']} deadline(s) due, {s['reminders']} "
              f"reminder(s) queued, {s['escalations']} escalation(s) fired, {s['notices']} notice(s), "
              f"{s['skipped']} skipped, {s['closed']} closed; progress notes queued: "
              f"{done['campaign_progress']['queued']}", markup=False)
    if send:
        out.print(f"delivery: {done['send_reminders']}", markup=False)


@deadlines_app.command("plan")
def deadlines_plan(
    ctx: typer.Context,
    from_: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    to: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD)."),
) -> None:
    """Every reminder and escalation that would fire between two days, day by day; changes nothing."""
    opts = options(ctx)
    plan = plan_deadlines(opts.context(), parse_date(from_, "--from"), parse_date(to, "--to"))
    if emit(opts, plan):
        return
    if plan.recount:
        out.print(_recount_table(plan.recount, "按新的节假日安排重算（deadlines recount 将作此变更，"
                                               "以下按重算后的日期排程）"))
    for day in plan.days:
        table = Table("期限", "对象", "事项", "节点", "动作", "通知", "说明", title=f"{day.date}")
        for i in day.items:
            table.add_row(i.label, f"{i.who}\n{i.district_name}", i.subject, i.step,
                          WHAT[i.what], "、".join(AUDIENCE_LABELS[a] for a in i.audiences),
                          i.detail)
        out.print(table)
    out.print(f"{plan.from_} – {plan.to}: {plan.reminders} message(s), {plan.escalations} escalation(s); "
              f"{plan.paused} deadline(s) paused awaiting verification; assumes {plan.assumes}", markup=False)


@deadlines_app.command("list")
def deadlines_list(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--kind", help="finding, major_finding, campaign_window, …"),
    status: str | None = typer.Option(None, "--status", help=" | ".join(STATUS_LABELS)),
    due_by: str | None = typer.Option(None, "--due-by", help="Only those due on or before this day."),
    limit: int = typer.Option(1000, "--limit", min=1),
) -> None:
    """Deadlines, soonest first, with their reminders' progress and escalation."""
    opts = options(ctx)
    rows = list_deadlines(opts.context(), kind=kind, status=status, limit=limit,
                          due_by=parse_date(due_by, "--due-by") if due_by else None)
    if emit(opts, rows):
        return
    table = Table("#", "期限", "事项", "区", "到期日", "剩余天数", "状态", "下次动作", "升级")
    for r in rows:
        table.add_row(str(r.id), r.label, r.subject, r.district_name, str(r.due_on),
                      str(r.days_left), r.status_label, str(r.next_on or ""),
                      f"{r.escalation or ''} {r.escalation_note or ''}".strip())
    out.print(table)
    out.print(f"{len(rows)} deadline(s)")


@deadlines_app.command("runs")
def deadlines_runs(ctx: typer.Context, job: str | None = typer.Option(None, "--job"),
                   limit: int = typer.Option(20, "--limit", min=1)) -> None:
    """The last runs of the scheduled jobs: what instant each covered, what it did, or its error."""
    opts = options(ctx)
    rows = list_runs(opts.context(), job=job, limit=limit)
    if emit(opts, rows):
        return
    table = Table("#", "job", "as of", "source", "finished", "counts", "error")
    for r in rows:
        table.add_row(str(r.id), r.job, f"{r.as_of:%Y-%m-%d %H:%M}", r.source,
                      f"{r.finished_at:%Y-%m-%d %H:%M:%S}" if r.finished_at else "",
                      ", ".join(f"{k} {v}" for k, v in r.counts.items() if v), (r.error or "").split("\n")[0])
    out.print(table)


def _recount_table(changes: list[RecountChange], title: str) -> Table:
    table = Table("#", "期限", "事项", "企业", "区", "计算", "到期日", "下次动作", "周一至周五兜底", "审计",
                  title=title)
    for c in changes:
        table.add_row(str(c.id), c.label, c.subject, c.credit_code or "", c.district_name,
                      f"{c.counted_from} 起 {c.working_days} 个工作日" if c.counted_from else "指定日期",
                      f"{c.due_on_before} → {c.due_on_after}", f"{c.next_on_before or '—'} → {c.next_on_after or '—'}",
                      f"{c.fallback_years_before or '—'} → {c.fallback_years_after or '—'}", (c.audit or "")[:12])
    return table


@deadlines_app.command("recount")
def deadlines_recount(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="只显示将作的变更，不写入 (show, change nothing)."),
) -> None:
    """按 rules/holidays.yaml 中新的节假日安排，重算按周一至周五计算的期限；一次完成，逐项审计前后变化
    (recount the deadlines counted Monday–Friday; one audited step)."""
    opts = options(ctx)
    done: DeadlineRecount = recount_deadlines(opts.context(), dry_run=dry_run)
    if emit(opts, done):
        return
    if done.changes:
        out.print(_recount_table(done.changes, "将重算的期限（未写入）" if dry_run else "已重算的期限"))
    out.print(f"{done.checked} 项按周一至周五计算的期限，{'将' if dry_run else '已'}重算 {done.changed} 项；"
              f"仍无节假日安排的 {done.still_fallback} 项", markup=False)
