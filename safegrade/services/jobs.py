"""The scheduled jobs as plain functions over the services: the deadline sweep, campaign progress, reminder
delivery, `daily` running those three in order, and the nightly audit. Thin: the services batch, never one
unit of work per enterprise.

One table, `JOBS`, says what exists: each job's name, the key of its crontab in `settings.scheduler` (none:
on demand), its function and the name of the Prefect flow that wraps it. Three front doors read it, none
of them needing another:
  - the embedded scheduler (safegrade.scheduler) runs the jobs that have a crontab, in-process, with no
    Prefect at all;
  - `safegrade deadlines check` and the demo call the job functions directly;
  - `safegrade serve` (flows/serve.py) registers the flows named here as Prefect deployments.

Every run is written to `job_run`, also when it fails: the instant it covered (`as_of`: its slot, or a
simulated now) and when it really started and finished, by the wall clock.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from safegrade.clock import Clock, FixedClock, SystemClock
from safegrade.services.actors import SYSTEM_ACTOR
from safegrade.services.auditing import checkpoint_audit, verify_audit
from safegrade.services.context import Context, open_context
from safegrade.services.progress import campaign_progress
from safegrade.services.runs import record_run
from safegrade.services.sweep import sweep_deadlines
from safegrade.settings import Settings
from safegrade.store import Store

JobResult = dict[str, Any]

# --- the context of a run ---------------------------------------------------------------------------


class SlotClock(FixedClock):
    """A run's clock: `now()` is the instant the run covers (its slot, or a simulated now), fixed for the
    whole run; `wall` is the clock it really runs by, from which its start and end are read."""

    def __init__(self, as_of: datetime, wall: Clock) -> None:
        super().__init__(as_of, wall.tz)
        self.wall = wall


def wall_clock(ctx: Context) -> Clock:
    """The clock a run really runs by: the slot clock's wall clock, else the context's own (a run as of the
    wall clock's now, or the demo's simulated calendar, where the two are one)."""
    return ctx.clock.wall if isinstance(ctx.clock, SlotClock) else ctx.clock


@contextmanager
def system_context(settings: Settings, as_of: datetime | None, *, wall: Clock | None = None,
                   store: Store | None = None) -> Iterator[Context]:
    """The system actor (role system, source flow) as of `as_of` (None: the wall clock's now), its runs timed
    by `wall` (default: the system clock). An engine opened here is disposed on leaving; a `store` passed in
    is the caller's."""
    wall = wall or SystemClock(settings.zone)
    clock = wall if as_of is None else SlotClock(as_of, wall)
    ctx = open_context(settings, actor=SYSTEM_ACTOR, source="flow", clock=clock, store=store)
    try:
        yield ctx
    finally:
        if store is None:
            ctx.store.engine.dispose()


def top_counts(result: JobResult) -> dict[str, int]:
    """The integer counts of a job's result (nested results are left to their own records)."""
    return {k: int(v) for k, v in result.items() if isinstance(v, int)}


def nested_counts(result: JobResult) -> dict[str, int]:
    """The integer counts of a result made of the results of several jobs, as job.count."""
    return {f"{job}.{k}": v for job, counts in result.items() if isinstance(counts, dict)
            for k, v in top_counts(counts).items()}


def recorded(job: str, ctx: Context, source: str, work: Callable[[], JobResult], *,
             counts: Callable[[JobResult], dict[str, int]] = top_counts) -> JobResult:
    """Run one job and write it down in job_run, also when it fails (then re-raise): as of the context's now,
    started and finished by its wall clock."""
    wall = wall_clock(ctx)
    as_of, started = ctx.now(), wall.now()
    try:
        result = work()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        record_run(ctx, job, as_of=as_of, started_at=started, finished_at=wall.now(), source=source, counts={},
                   error=error)
        raise
    record_run(ctx, job, as_of=as_of, started_at=started, finished_at=wall.now(), source=source,
               counts=counts(result))
    return result


# --- the jobs ---------------------------------------------------------------------------------------


class AuditBroken(RuntimeError):
    """The nightly verification found a broken chain: the run fails so that it shows."""


def nightly_audit(ctx: Context) -> JobResult:
    """Checkpoint the heads of every chain that moved, then verify the whole trail (as of the context's now)."""
    cp = checkpoint_audit(ctx)
    report = verify_audit(ctx)
    breaks = [str(b) for b in report.breaks]
    if breaks:
        raise AuditBroken(f"audit trail broken: {'; '.join(breaks[:5])}")
    return {"ok": report.ok, "events": report.events, "chains": report.chains, "checkpoints": report.checkpoints,
            "checkpoint": cp.id if cp else None, "breaks": breaks}


def sweep_job(ctx: Context, source: str) -> JobResult:
    """Find what is due, fire escalations in batches, queue reminders."""
    def work() -> JobResult:
        report = sweep_deadlines(ctx)
        return {**report.counts(), "log": report.log}
    return recorded("deadline_sweep", ctx, source, work)


def progress_job(ctx: Context, source: str) -> JobResult:
    """Remind districts with outstanding assessments."""
    return recorded("campaign_progress", ctx, source, lambda: campaign_progress(ctx))


def send_job(ctx: Context, source: str) -> JobResult:
    """Deliver the outbox: pending and due-for-retry reminders."""
    from safegrade.services.reminders import send_reminders  # the channels load when something is sent

    return recorded("send_reminders", ctx, source, lambda: send_reminders(ctx))


def daily_job(ctx: Context, source: str) -> JobResult:
    """The sweep, then campaign progress, then delivery: what the 08:00 run does."""
    def work() -> JobResult:
        return {"deadline_sweep": sweep_job(ctx, source), "campaign_progress": progress_job(ctx, source),
                "send_reminders": send_job(ctx, source)}
    return recorded("daily", ctx, source, work)


def audit_job(ctx: Context, source: str) -> JobResult:
    """The nightly audit, recorded like every job (also when it finds a break)."""
    return recorded("nightly_audit", ctx, source, lambda: nightly_audit(ctx))


# --- the table --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """One job: its name, the key of its crontab in settings.scheduler (None: on demand or by backfill), its
    function (context, source) → counts, the Prefect flow that wraps it, and what it does (for a listing)."""

    name: str
    crontab_key: str | None
    run: Callable[[Context, str], JobResult]
    flow: str
    description: str
    records: str | None = None  # the job_run.job its runs are recorded under, when that is not `name`

    @property
    def recorded_as(self) -> str:
        return self.records or self.name

    @property
    def deployment(self) -> str:
        """Its Prefect deployment's name: the job's, with dashes."""
        return self.name.replace("_", "-")

    def crontab(self, settings: Settings) -> str | None:
        return None if self.crontab_key is None else str(getattr(settings.scheduler, self.crontab_key))


JOBS: tuple[JobSpec, ...] = (
    JobSpec("daily", "daily_sweep", daily_job, "safegrade-daily", "期限巡检、评估进度提醒、发送提醒（每日）"),
    JobSpec("reminder_retry", "reminder_retry", send_job, "safegrade-send-reminders", "发送待发与重试中的提醒",
            records="send_reminders"),
    JobSpec("nightly_audit", "nightly_audit", audit_job, "safegrade-audit-nightly", "审计链检查点与全量校验（每夜）"),
    JobSpec("deadline_sweep", None, sweep_job, "safegrade-deadline-sweep", "期限巡检（按需或补跑）"),
    JobSpec("campaign_progress", None, progress_job, "safegrade-campaign-progress", "评估进度提醒（按需）"),
)


def run_job(job: JobSpec, settings: Settings, as_of: datetime | None, source: str = "scheduler", *,
            wall: Clock | None = None, store: Store | None = None) -> JobResult:
    """Run one job as the system actor as of `as_of` (None: now), timed by `wall` (default: the system clock)."""
    with system_context(settings, as_of, wall=wall, store=store) as ctx:
        return job.run(ctx, source)


def job_named(name: str) -> JobSpec:
    """The job of that name in JOBS."""
    found = [job for job in JOBS if job.name == name]
    if not found:
        raise KeyError(f"no job named {name!r}; the jobs: {', '.join(job.name for job in JOBS)}")
    return found[0]
