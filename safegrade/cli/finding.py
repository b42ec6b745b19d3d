"""Finding commands: the rectification loop (整改闭环)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from safegrade.cli.app import app, emit, options, out
from safegrade.services import finding

finding_app = typer.Typer(help="Findings and their rectification loop (整改闭环).", no_args_is_help=True)
app.add_typer(finding_app, name="finding")


@finding_app.command("list")
def finding_list(
    ctx: typer.Context,
    code: str | None = typer.Option(None, "--code", help="Only this enterprise's findings."),
    status: str | None = typer.Option(None, "--status", help="open | submitted | verified"),
    district: str | None = typer.Option(None, "--district"),
    overdue: bool = typer.Option(False, "--overdue", help="Only findings past their deadline and not verified."),
) -> None:
    """Findings with their deadline, status, evidence and days overdue."""
    opts = options(ctx)
    rows = finding.list_findings(opts.context(), credit_code=code, status=status, overdue=overdue, district=district)
    if emit(opts, rows):
        return
    table = Table("#", "企业", "区", "扣分项", "问题", "重大隐患", "整改期限", "状态", "逾期天数", "整改材料")
    for r in rows:
        table.add_row(str(r.id), f"{r.name}\n{r.credit_code}", r.district_name, r.item, r.content,
                      "是" if r.major else "", str(r.due_on), r.status_label,
                      str(r.overdue_days or ""), "\n".join(f"{e.file} {e.sha256[:12]}" for e in r.evidence))
    out.print(table)
    out.print(f"{len(rows)} finding(s)")


@finding_app.command("submit")
def finding_submit(
    ctx: typer.Context,
    finding_id: int = typer.Argument(...),
    evidence: list[Path] = typer.Option(..., "--evidence", help="Evidence files (kept with their SHA-256)."),
    note: str = typer.Option("", "--note"),
) -> None:
    """Submit rectification evidence for a finding."""
    opts = options(ctx)
    done = finding.submit_finding(opts.context(), finding_id, evidence, note)
    if not emit(opts, done):
        out.print(f"finding #{finding_id} submitted with " + ", ".join(
            f"{e.file} (sha256 {e.sha256[:16]}…)" for e in done.evidence), markup=False)


@finding_app.command("verify")
def finding_verify(ctx: typer.Context, finding_id: int = typer.Argument(...),
                   note: str = typer.Option("", "--note")) -> None:
    """Accept a rectification (by a regulator who did not submit it)."""
    opts = options(ctx)
    done = finding.verify_finding(opts.context(), finding_id, note)
    if not emit(opts, done):
        out.print(f"finding #{finding_id} verified (验收销号); open now: {done.changes or 'unchanged'}",
                  markup=False)


@finding_app.command("reject")
def finding_reject(ctx: typer.Context, finding_id: int = typer.Argument(...),
                   reason: str = typer.Option(..., "--reason", help="What is still wrong.")) -> None:
    """Send a rectification back: the finding is open again."""
    opts = options(ctx)
    done = finding.reject_finding(opts.context(), finding_id, reason)
    if not emit(opts, done):
        out.print(f"finding #{finding_id} rejected; it is open again", markup=False)
