"""What the embedded scheduler runs: a `Job` (a crontab and a function of the instant to run as of), one
guarded run of it (a failure is logged and returned, never raised), and the default jobs — those of the
services' JOBS table that have a crontab in the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from safegrade.clock import Clock, SystemClock
from safegrade.services import jobs as service_jobs
from safegrade.services.jobs import JobResult, JobSpec, run_job
from safegrade.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A scheduled sweep: `run(as_of)` does what is due as of that instant and returns its counts.

    `sweep` is the `job_run.job` name its runs are recorded under, when that is not `name`."""

    name: str
    crontab: str
    run: Callable[[datetime], JobResult]
    sweep: str | None = None

    @property
    def recorded_as(self) -> str:
        return self.sweep or self.name


@dataclass(frozen=True)
class Outcome:
    """One run of a job: its counts, or the error it failed with (logged, never raised)."""

    job: str
    as_of: datetime
    result: JobResult | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_guarded(job: Job, as_of: datetime) -> Outcome:
    """Run `job` as of `as_of`; a failure is logged with its traceback and returned, so nothing stops."""
    log.info("%s: running as of %s", job.name, as_of.isoformat())
    try:
        result = job.run(as_of)
    except Exception as exc:
        log.exception("%s as of %s failed", job.name, as_of.isoformat())
        return Outcome(job.name, as_of, error=f"{type(exc).__name__}: {exc}")
    log.info("%s as of %s done: %s", job.name, as_of.isoformat(), result)
    return Outcome(job.name, as_of, result=result)


@dataclass(frozen=True)
class Scheduled:
    """What APScheduler calls for a job: its run as of the run time `run_on_clock` hands in (the slot, or
    now for a catch-up), or as of the clock's now when called without one."""

    job: Job
    clock: Clock

    def __call__(self, run_time: datetime | None = None) -> Outcome:
        return run_guarded(self.job, run_time or self.clock.now())


def run_once(jobs: Sequence[Job], as_of: datetime) -> list[Outcome]:
    """Every job once, one after the other, as of one instant (`scheduler run --once`, cron-less hosts)."""
    return [run_guarded(job, as_of) for job in jobs]


def default_jobs(settings: Settings, clock: Clock | None = None,
                 table: Sequence[JobSpec] | None = None) -> list[Job]:
    """The jobs of `table` (default: the services' JOBS) that have a crontab — the daily sweep, the reminder
    retry between sweeps, the nightly audit — on settings' crontabs, each run as the system actor as of its
    slot and timed by `clock` (default: the system clock)."""
    clock = clock or SystemClock(settings.zone)
    found = []
    for spec in (service_jobs.JOBS if table is None else table):
        crontab = spec.crontab(settings)
        if crontab is not None:
            found.append(Job(spec.name, crontab, partial(run_job, spec, settings, source="scheduler", wall=clock),
                             sweep=spec.records))
    return found
