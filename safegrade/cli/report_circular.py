"""`report circular`: the 通报 of a campaign, built from the database."""

from __future__ import annotations

from pathlib import Path

import typer

from safegrade.cli.app import emit, options, out
from safegrade.cli.report import report_app
from safegrade.reports.circular import FORMATS, check_format, render
from safegrade.reports.destination import TO_STDOUT, circular_path, given, save_report, target
from safegrade.services.reporting.circular import circular_figures


@report_app.command("circular")
def report_circular(
    ctx: typer.Context,
    campaign: str = typer.Argument(..., help="The campaign's name, e.g. 2023年运行质量评估."),
    fmt: str = typer.Option(..., "--format", help=f"One of {', '.join(FORMATS)}."),
    out_file: Path | None = typer.Option(
        None, "--out", help="Write here. Without it md and json are printed, docx and html go to "
                            "var/reports/<campaign>-通报.<ext> (under the config file's folder)."),
) -> None:
    """The circular (通报) of a campaign: counts, results and percentages, interviews, revocations, problem types
    and district failings, with a table and a chart per district."""
    opts = options(ctx)
    fmt = check_format(fmt)  # before any work
    out_file = given(out_file)
    data = render(circular_figures(opts.context(), campaign), fmt)
    if out_file is None and fmt in TO_STDOUT:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    path = target(out_file, circular_path(opts.settings().base_dir, campaign, fmt))
    save_report(path, data)
    done = {"campaign": campaign, "format": fmt, "written": str(path), "bytes": len(data)}
    if not emit(opts, done):
        out.print(f"circular of {campaign} ({fmt}, {len(data):,} bytes) written to {path}", markup=False)
