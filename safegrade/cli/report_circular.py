"""`report circular`: the 通报 of a campaign, built from the database."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from safegrade.cli.app import emit, options, out
from safegrade.cli.report import report_app
from safegrade.errors import InvalidInput
from safegrade.reports.circular import FORMATS, check_format, render
from safegrade.services.reporting.circular import circular_figures

REPORTS_DIR = Path("var/reports")  # under the config file's folder, like the database and the evidence
TO_STDOUT = ("md", "json")  # without --out these are printed; docx and html are written to REPORTS_DIR


def default_path(base_dir: Path, campaign: str, fmt: str) -> Path:
    """var/reports/<campaign>-通报.<ext>, the campaign's name made safe as a file name."""
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", campaign.strip()).strip("._") or "campaign"
    return base_dir / REPORTS_DIR / f"{safe}-通报.{fmt}"


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
    data = render(circular_figures(opts.context(), campaign), fmt)
    if out_file is None and fmt in TO_STDOUT:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    path = out_file or default_path(opts.settings().base_dir, campaign, fmt)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"--out: cannot write {path}: {exc.strerror or exc}") from exc
    done = {"campaign": campaign, "format": fmt, "written": str(path), "bytes": len(data)}
    if not emit(opts, done):
        out.print(f"circular of {campaign} ({fmt}, {len(data):,} bytes) written to {path}", markup=False)
