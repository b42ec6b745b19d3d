"""`safegrade scheduler run|jobs`: the embedded scheduler in the foreground, and what it would do."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from safegrade.cli.app import Options, app, emit, err, options, out
from safegrade.clock import SystemClock
from safegrade.errors import InvalidInput
from safegrade.scheduler.embedded import build_scheduler, run_scheduler
from safegrade.scheduler.jobs import Outcome, default_jobs, run_once
from safegrade.scheduler.planning import JobPlan, plan_jobs
from safegrade.services import runs
from safegrade.services.context import Context

scheduler_app = typer.Typer(help="The embedded scheduler: deadline sweeps, reminders, the nightly audit.",
                            no_args_is_help=True)
app.add_typer(scheduler_app, name="scheduler")


def _last_run(context: Context) -> partial[datetime | None]:
    return partial(runs.last_run, context)


def _when(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).isoformat(sep=" ", timespec="minutes") if at else "—"


def _rows(plans: list[JobPlan]) -> list[dict[str, Any]]:
    rows = []
    for p in plans:
        zone = ZoneInfo(p.timezone)
        rows.append({"job": p.job.name, "crontab": p.job.crontab, "timezone": p.timezone,
                     "next_run": _when(p.next_run, zone), "next_slot": _when(p.next_slot, zone),
                     "last_run": _when(p.last_run, zone), "recorded_as": p.job.recorded_as,
                     "catch_up": p.catch_up, "note": p.reason})
    return rows


def _print_plans(opts: Options, plans: list[JobPlan]) -> None:
    rows = _rows(plans)
    if emit(opts, rows):
        return
    table = Table("job", "crontab", "time zone", "next run", "last run (as of)", "note")
    for r in rows:
        table.add_row(r["job"], r["crontab"], r["timezone"], r["next_run"], r["last_run"], r["note"])
    out.print(table)


@contextmanager
def _logging_to_stderr(level: int) -> Iterator[None]:
    """Job runs and failures on stderr while the command runs (tracebacks included), then detached."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger("safegrade.scheduler"), logging.getLogger("apscheduler")]
    before = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(max(level, logging.WARNING) if lg.name == "apscheduler" else level)
        lg.propagate = False
    try:
        yield
    finally:
        for lg, lvl, propagate in before:
            lg.removeHandler(handler)
            lg.setLevel(lvl)
            lg.propagate = propagate


def _counts(result: dict[str, Any] | None, prefix: str = "") -> list[str]:
    """The integer counts of a job's result, nested ones as parent.key."""
    parts: list[str] = []
    for key, value in (result or {}).items():
        if isinstance(value, dict):
            parts += _counts(value, f"{prefix}{key}.")
        elif isinstance(value, int):
            parts.append(f"{prefix}{key}={int(value)}")
    return parts


def _report_once(opts: Options, outcomes: list[Outcome]) -> None:
    value = [{"job": o.job, "as_of": o.as_of.isoformat(), "ok": o.ok, "result": o.result, "error": o.error}
             for o in outcomes]
    if not emit(opts, value):
        for o in outcomes:
            if o.ok:
                out.print(f"{o.job} as of {o.as_of.isoformat(timespec='seconds')}: ok "
                          f"{' '.join(_counts(o.result)) or '(nothing to do)'}", markup=False)
    for o in outcomes:
        if not o.ok:
            err.print(f"safegrade: error: {o.job} as of {o.as_of.isoformat(timespec='seconds')} failed: {o.error}",
                      markup=False)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@scheduler_app.command("run")
def scheduler_run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run every job once now (or --as-of), then exit."),
) -> None:
    """Run the jobs on their crontabs until SIGTERM or Ctrl-C (then finish running jobs and exit 0).

    At start a job that missed a slot since its last run (or never ran) runs once at once, as of now."""
    opts = options(ctx)
    if opts.as_of and not once:
        raise InvalidInput("--as-of: the running scheduler follows the wall clock; a simulated now works with "
                           "`scheduler run --once` and `scheduler jobs`")
    context = opts.context()
    jobs = default_jobs(opts.settings())
    cfg = opts.settings().scheduler
    if once:
        with _logging_to_stderr(logging.WARNING):
            outcomes = run_once(jobs, context.now().astimezone(ZoneInfo(cfg.timezone)))
        _report_once(opts, outcomes)
        return
    scheduler = build_scheduler(jobs, timezone=cfg.timezone, misfire_grace_seconds=cfg.misfire_grace_seconds,
                                clock=SystemClock(ZoneInfo(cfg.timezone)), last_run=_last_run(context))
    _print_plans(opts, scheduler.plans)
    if not opts.json:
        out.print(f"misfire grace {cfg.misfire_grace_seconds} s; SIGTERM or Ctrl-C stops after running jobs finish",
                  markup=False)
    sys.stdout.flush()
    with _logging_to_stderr(logging.INFO):
        code = run_scheduler(scheduler)
    raise typer.Exit(code)


@scheduler_app.command("jobs")
def scheduler_jobs(ctx: typer.Context) -> None:
    """Each job: crontab, time zone, next run (now when a start would catch up), last run from job_run."""
    opts = options(ctx)
    context = opts.context()
    cfg = opts.settings().scheduler
    plans = plan_jobs(default_jobs(opts.settings()), timezone=cfg.timezone, now=context.now(),
                      last_run=_last_run(context))
    _print_plans(opts, plans)
