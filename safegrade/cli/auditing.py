"""Audit commands: a timeline, verification, export, checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from safegrade import auth
from safegrade.cli.app import Options, app, emit, options, out
from safegrade.output import jsonable
from safegrade.services import auditing, enterprise

audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("show")
def audit_show(ctx: typer.Context, code: str = typer.Argument(..., help="Credit code.")) -> None:
    """The timeline of one enterprise, oldest first."""
    opts = options(ctx)
    rows = enterprise.timeline(opts.context(), code)
    if emit(opts, rows):
        return
    table = Table("#", "时间", "事件", "状态", "操作人", "来源", "事由", "hash")
    for r in rows:
        moved = f"{r.from_label} → {r.to_label}" if r.from_state else f"→ {r.to_label}"
        table.add_row(str(r.seq), r.at[:16].replace("T", " "), r.event_label, moved,
                      f"{r.actor} ({r.role})", r.source, r.reason, r.hash[:12])
    out.print(table)


def _print_report(report: auditing.Report, opts: Options) -> None:
    log = report.security_log if isinstance(report, auditing.AuditReport) else None
    value = {"ok": report.ok, "events": report.events, "chains": report.chains, "checkpoints": report.checkpoints,
             "breaks": [b.__dict__ for b in report.breaks]}
    if log is not None:
        value["security_log"] = jsonable(log)
    if not emit(opts, value):
        out.print(f"{report.events} events in {report.chains} chains, {report.checkpoints} checkpoints")
        for b in report.breaks:
            out.print(f"BROKEN {b}", markup=False)
        out.print("OK: every chain, head, projection and checkpoint verifies" if not report.breaks
                  else f"FAILED: {len(report.breaks)} chain(s) broken")
        if log is not None:
            out.print(f"security log (安全日志): {log.events} events", markup=False)
            out.print(f"BROKEN {log.first_broken}" if log.first_broken else "OK: the security log's chain verifies",
                      markup=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", help="Verify an exported file instead (no database)."),
) -> None:
    """Recompute every hash chain; name the first broken event of each chain and what was done to it."""
    opts = options(ctx)
    report = auditing.verify_export(file) if file else auditing.verify_audit(opts.context())
    _print_report(report, opts)


@audit_app.command("export")
def audit_export(ctx: typer.Context, file: Path = typer.Argument(..., help="Output file (JSON Lines).")) -> None:
    """Write the trail up to now (or --as-of) for an outside reviewer (verify with `python -m safegrade.audit.chain
    FILE`); its header line says up to when."""
    opts = options(ctx)
    done = auditing.export_audit(opts.context(), file)
    if not emit(opts, done):
        out.print(f"wrote {done.events} events of {done.chains} chains to {done.file}", markup=False)


@audit_app.command("checkpoint")
def audit_checkpoint(ctx: typer.Context) -> None:
    """Record the heads of every chain that moved since the last checkpoint."""
    opts = options(ctx)
    cp = auditing.checkpoint_audit(opts.context())
    if not emit(opts, cp):
        out.print("no chain moved since the last checkpoint" if cp is None
                  else f"checkpoint {cp.id}: {cp.heads} chain head(s), digest {cp.heads_digest[:16]}")


@audit_app.command("security-log")
def audit_security_log(
    ctx: typer.Context,
    actor: str | None = typer.Option(None, "--actor",
                                      help="Only this account's events (某账号的事件); who reads: the global --actor."),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind: sign_in, sign_in_failed, locked, … (类型)."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
) -> None:
    """The security log (安全日志): account changes, sign-ins, failures and lockouts, newest first; the bureau
    and reviewers read it."""
    opts = options(ctx)
    context = opts.context()
    rows = auth.list_security_events(context, actor=actor, kind=kind, limit=limit)
    if emit(opts, rows):
        return
    zone = context.settings.zone
    table = Table("#", "时间", "类型", "账号", "操作人", "来源", "客户端", "详情")
    for r in rows:
        detail = ", ".join(f"{k}={v}" for k, v in r.detail.items())
        table.add_row(str(r.seq), f"{r.occurred_at.astimezone(zone):%Y-%m-%d %H:%M:%S}", r.kind, r.subject, r.by,
                      r.source, r.client or "", detail)
    out.print(table)
    out.print(f"{len(rows)} event(s)")
