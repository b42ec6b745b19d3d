"""`assess import`: scored assessments from the districts' files."""

from __future__ import annotations

from pathlib import Path

import typer

from safegrade.cli.app import app, emit, err, options, out
from safegrade.services.assessment import import_assessments

assess_app = typer.Typer(help="Scored assessments (评估记录).", no_args_is_help=True)
app.add_typer(assess_app, name="assess")


@assess_app.command("import")
def assess_import(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Assessment files: .yaml/.yml/.json or .xlsx (sheets 评估, 扣分)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check only; write nothing."),
) -> None:
    """Record assessments: scores, results and findings derived by the rules; all or nothing."""
    opts = options(ctx)
    report = import_assessments(opts.context(), files, dry_run=dry_run)
    if emit(opts, report.__dict__):
        raise typer.Exit(1 if report.problems else 0)
    for line in report.problems:
        err.print(f"  {line}", markup=False)
    results = ", ".join(f"{r} {report.results[r]}" for r in ("优", "良", "差"))
    verb = "would record" if dry_run else "recorded"
    out.print(f"{verb} {report.assessments} assessment(s): {results}; {report.deductions} deductions, "
              f"{report.findings} findings and {report.major_hazards} major hazards to rectify, {report.late} late"
              + (f"; {len(report.problems)} problem(s)" if report.problems else ""), markup=False)
    if report.problems:
        raise typer.Exit(1)
