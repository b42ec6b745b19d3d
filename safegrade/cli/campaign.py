"""Campaign commands: open, exclude, status, list."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from safegrade.cli.app import app, emit, options, out, parse_date
from safegrade.services import campaign
from safegrade.services.campaign import DistrictStatus, StatusTotal

campaign_app = typer.Typer(help="Assessment campaigns (运行质量评估).", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")



@campaign_app.command("open")
def campaign_open(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="e.g. 2023年运行质量评估"),
    start: str = typer.Option(..., "--start", help="First day of the window (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--end", help="Last day of the window: the districts' deadline."),
    all_: bool = typer.Option(False, "--all", help="Every enterprise that can be assessed."),
    district: str | None = typer.Option(None, "--district", help="Every one in this district."),
    codes: Path | None = typer.Option(None, "--codes", help="A file of credit codes, one per line."),
    ledger_due: str | None = typer.Option(None, "--ledger-due", help="When each district's 台账 is due (YYYY-MM-DD)."),
) -> None:
    """Open a campaign: the chosen enterprises go to 评估中, with the window's end as deadline."""
    opts = options(ctx)
    done = campaign.open_campaign(opts.context(), name, parse_date(start, "--start"), parse_date(end, "--end"),
                                  all_=all_, district=district, codes_file=codes,
                                  ledger_due_on=parse_date(ledger_due, "--ledger-due") if ledger_due else None)
    if not emit(opts, done):
        skipped = "; ".join(f"{label} {n}" for label, n in done.skipped.items())
        out.print(f"campaign {done.campaign} {done.starts_on} – {done.ends_on}: {done.selected} "
                  f"enterprises now 评估中" + (f" (not eligible: {skipped})" if skipped else ""), markup=False)


@campaign_app.command("exclude")
def campaign_exclude(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    code: str = typer.Argument(..., help="Credit code."),
    reason: str = typer.Option(..., "--reason", help="A key of campaign_exclusions in rules/triggers.yaml."),
    note: str = typer.Option("", "--note", help="What was found (e.g. the deregistration notice)."),
) -> None:
    """Exclude a selected enterprise from assessment (注销, 迁址), counted apart."""
    opts = options(ctx)
    done = campaign.exclude_member(opts.context(), name, code, reason, note)
    if not emit(opts, done):
        out.print(f"{done.credit_code} excluded from {done.campaign}: {done.label} "
                  f"({done.event} → {done.to_state})", markup=False)


@campaign_app.command("status")
def campaign_status(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Per district: selected, excluded, assessed, outstanding, late, and results."""
    opts = options(ctx)
    status = campaign.campaign_status(opts.context(), name)
    if emit(opts, status):
        return
    table = Table("区", "选定", "不予评估", "已评估", "未完成", "逾期评估", "优", "良", "差", "约谈(家次)", "撤销",
                  "逾期区",
                  title=f"{name}（{status.starts_on} 至 {status.ends_on}，截至 {status.as_of}）")
    rows: list[tuple[str, DistrictStatus | StatusTotal, str]] = [
        (d.district_name, d, "是" if d.district_late else "") for d in status.districts]
    for district_name, d, late in [*rows, ("合计", status.total, "")]:
        table.add_row(district_name, str(d.selected), str(d.excluded), str(d.assessed),
                      str(d.outstanding), str(d.late), *(str(d.results[r]) for r in ("优", "良", "差")),
                      str(d.interviews), str(d.revocations), late)
    out.print(table)


@campaign_app.command("list")
def campaign_list(ctx: typer.Context) -> None:
    opts = options(ctx)
    rows = campaign.list_campaigns(opts.context())
    if emit(opts, rows):
        return
    table = Table("评估批次", "开始", "截止", "创建人")
    for r in rows:
        table.add_row(r.name, str(r.starts_on), str(r.ends_on), r.created_by)
    out.print(table)
