"""Reminder commands: deliver the outbox, look at it, requeue a failed message."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from safegrade.cli.app import app, emit, options, out
from safegrade.services import reminders

reminders_app = typer.Typer(help="The reminder outbox: delivery through the notification channels.",
                            no_args_is_help=True)
app.add_typer(reminders_app, name="reminders")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else ""


@reminders_app.command("send")
def reminders_send(
    ctx: typer.Context,
    limit: int | None = typer.Option(None, "--limit", help="Send at most this many messages."),
) -> None:
    """Send the due messages to their channels (config.yaml `notifications`); retry failures with backoff."""
    opts = options(ctx)
    counts = reminders.send_reminders(opts.context(), limit=limit)
    if not emit(opts, counts):
        out.print(f"claimed {counts['claimed']}: sent {counts['sent']}, retrying {counts['retrying']}, "
                  f"failed {counts['failed']}" + (f", taken over after an expired lease {counts['reclaimed']}"
                                                  if counts["reclaimed"] else "")
                  + (f", lost to another sender {counts['lost']}" if counts["lost"] else ""), markup=False)


@reminders_app.command("list")
def reminders_list(
    ctx: typer.Context,
    failed: bool = typer.Option(False, "--failed", help="Only failed messages and those failing (being retried)."),
    status: str | None = typer.Option(None, "--status", help="pending | sending | sent | failed | superseded"),
    code: str | None = typer.Option(None, "--code", help="Only this enterprise's messages (credit code)."),
    subject: str | None = typer.Option(None, "--subject", help="Only this subject, e.g. finding:17."),
    limit: int = typer.Option(500, "--limit", help="At most this many rows."),
) -> None:
    """The outbox with each message's status, attempts, next attempt and last error."""
    opts = options(ctx)
    rows = reminders.list_reminders(opts.context(), failed=failed, status=status, subject=subject,
                                    enterprise=code, limit=limit)
    if emit(opts, rows):
        return
    table = Table("#", "主题", "期限", "节点", "对象", "状态", "尝试次数", "下次尝试", "错误")
    for r in rows:
        who = r.audience_label + (f"\n{r.district_name}" if r.district_name else "")
        if r.credit_code:
            who += f"\n{r.enterprise_name}\n{r.credit_code}"
        table.add_row(str(r.id), f"{r.title}\n{r.subject}", str(r.due_on), r.step_label, who,
                      r.status_label, str(r.attempts),
                      _when(r.next_attempt_at) if r.status == reminders.PENDING else "",
                      r.last_error or "")
    out.print(table)
    out.print(f"{len(rows)} message(s)")


@reminders_app.command("retry")
def reminders_retry(ctx: typer.Context, reminder_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Requeue a failed message: the next `reminders send` tries it again (a bureau or district actor)."""
    opts = options(ctx)
    done = reminders.retry_reminder(opts.context(), reminder_id)
    if not emit(opts, done):
        out.print(f"reminder #{reminder_id} requeued (was {reminders.STATUS_LABELS.get(done.was, done.was)}, "
                  f"{done.attempts_before} attempt(s)); the next `safegrade reminders send` sends it",
                  markup=False)
