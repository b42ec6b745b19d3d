"""`report loop` and `report districts`: closed-loop evidence and district oversight.

Each writes one file: html (default), xlsx or json, chosen by --format or the suffix of --out; without
--out the file goes to var/reports/ under the working directory. With the global --json the report's
figures are printed on stdout instead and no file is written.
"""

from __future__ import annotations

from pathlib import Path

import typer

from safegrade.cli.app import emit, err, options, out
from safegrade.cli.report import report_app
from safegrade.reports.destination import choose_format, default_path, given, target
from safegrade.reports.districts import write_districts
from safegrade.reports.loop import write_loop
from safegrade.services.reporting.districts import district_report
from safegrade.services.reporting.loop import loop_report

FORMAT_HELP = "html | xlsx | json (default: from the suffix of --out, else html)."


@report_app.command("loop")
def report_loop(
    ctx: typer.Context,
    code: str | None = typer.Argument(None, help="Credit code of one enterprise (or give --campaign)."),
    campaign: str | None = typer.Option(None, "--campaign", help="Every member of this campaign."),
    district: str | None = typer.Option(None, "--district", help="With --campaign: only this district's members."),
    out_file: Path | None = typer.Option(None, "--out", help="Output file (default: var/reports/loop-….html)."),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
) -> None:
    """The reviewer's closed-loop report: findings, evidence (SHA-256), verification, days, reminders,
    escalations — with the audit chain re-verified first."""
    opts = options(ctx)
    chosen = choose_format(out_file, fmt)
    out_file = given(out_file)
    report = loop_report(opts.context(), code, campaign=campaign, district=district)
    if emit(opts, report):
        return
    name = campaign if campaign is not None else report.enterprises[0].credit_code
    if report.district_name:
        name = f"{name}-{report.district_name}"
    path = write_loop(report, target(out_file, default_path("loop", name, report.as_of, chosen)), chosen)
    totals = report.totals
    out.print(f"wrote {path}: {totals.enterprises} enterprise(s), {totals.findings} finding(s), "
              f"{totals.verified} verified, {totals.overdue} overdue, {totals.escalations} escalation(s)",
              markup=False)
    for b in report.broken:
        err.print(f"BROKEN audit chain of {b.credit_code} at seq {b.seq}: {b.kind}: {b.detail}",
                  markup=False)


@report_app.command("districts")
def report_districts(
    ctx: typer.Context,
    campaign: str = typer.Argument(..., help="The campaign, e.g. 2023年运行质量评估."),
    out_file: Path | None = typer.Option(None, "--out", help="Output file (default: var/reports/districts-….html)."),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
) -> None:
    """District oversight: completion on time, interviews, revocations, and the data-quality flags,
    each with the audit events behind it."""
    opts = options(ctx)
    chosen = choose_format(out_file, fmt)
    out_file = given(out_file)
    report = district_report(opts.context(), campaign)
    if emit(opts, report):
        return
    path = write_districts(report, target(out_file, default_path("districts", campaign, report.as_of, chosen)),
                           chosen)
    out.print(f"wrote {path}: {len(report.districts)} district(s), {len(report.flags)} data-quality flag(s)",
              markup=False)
