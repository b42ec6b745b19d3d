"""The embedded scheduler (`safegrade scheduler run`): APScheduler 3 in-process, calling plain functions.

The database is the source of truth and every job is an idempotent sweep of "what is due as of now",
so the scheduler only has to make sure a sweep runs after each slot of its crontab — never none, and
never two of the same job at once:

- Catch-up once: at start, a job whose last finished run (`sweep_run`) is older than its latest slot,
  or that never ran, runs once at once, as of now — one run covers any number of missed slots. A fresh
  install does not wait until tomorrow 08:00 to notice what is already overdue.
- A scheduled run is swept *as of its slot* (08:00:00, not 08:00:00.3 or 08:40 after a late wake-up):
  the sweep is reproducible and its `sweep_run.as_of` is exactly the slot it covered.
- coalesce=True, max_instances=1 and a large misfire grace: a run delayed (a suspended laptop, a busy
  machine) by less than the grace still runs, once; later than that it is logged as missed and the
  next run covers it.
- The scheduler reads time from a `Clock` (safegrade.clock is the only reader of the wall clock), so
  tests step it with a TestClock; APScheduler 3 reads `datetime.now` inline in `_process_jobs` and in
  its executors' `run_job`, so `ClockScheduler` and `ClockThreadPoolExecutor` replace exactly those two.
- A failing job is logged and the scheduler goes on; SIGTERM or Ctrl-C stops new runs, waits for the
  running ones (their transactions commit or roll back whole) and returns 0.

The scheduled functions (`default_jobs`) are the same ones Prefect wraps as flows for the served set-up;
no Prefect server is involved here.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.base import MaxInstancesReachedError
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from safegrade.clock import Clock, SystemClock
from safegrade.errors import InvalidInput
from safegrade.scheduler.crontab import cron_trigger
from safegrade.settings import Settings

log = logging.getLogger("safegrade.scheduler.embedded")

JobResult = dict[str, Any]


@dataclass(frozen=True)
class Job:
    """A scheduled sweep: `run(as_of)` does what is due as of that instant and returns its counts.

    `sweep` is the `sweep_run.job` name its runs are recorded under, when that is not `name`."""

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


# --- when each job runs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class JobPlan:
    """What the scheduler will do with a job when started at `now`."""

    job: Job
    timezone: str
    trigger: CronTrigger
    last_run: datetime | None  # as_of of the last run that finished without error
    missed: datetime | None  # the first slot after last_run, if it has passed
    next_slot: datetime  # the crontab's next slot after now
    next_run: datetime  # now when catching up, else next_slot

    @property
    def catch_up(self) -> bool:
        return self.last_run is None or self.missed is not None

    @property
    def reason(self) -> str:
        if self.last_run is None:
            return "never ran: runs at start"
        if self.missed is not None:
            return f"missed {self.missed.isoformat(sep=' ', timespec='minutes')}: runs once at start"
        return ""


def plan_jobs(jobs: Sequence[Job], *, timezone: str, now: datetime,
              last_run: Callable[[str], datetime | None]) -> list[JobPlan]:
    """Each job's trigger, last run and next run; a job is caught up when a slot passed since its last run."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise InvalidInput(f"scheduler jobs must have distinct names; got {', '.join(names)}")
    zone = ZoneInfo(timezone)
    plans = []
    for job in jobs:
        try:
            trigger = cron_trigger(job.crontab, zone)
        except ValueError as exc:
            raise InvalidInput(f"job {job.name}: {exc}") from None
        last = last_run(job.recorded_as)
        after_last = trigger.get_next_fire_time(None, last + timedelta(microseconds=1)) if last else None
        missed = after_last if after_last is not None and after_last <= now else None
        next_slot = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
        catch_up = last is None or missed is not None
        plans.append(JobPlan(job, timezone, trigger, last, missed, next_slot, now if catch_up else next_slot))
    return plans


# --- APScheduler on the clock -----------------------------------------------------------------------


def run_on_clock(job: Any, jobstore_alias: str, run_times: Sequence[datetime], logger_name: str,
                 clock: Clock) -> list[JobExecutionEvent]:
    """APScheduler 3.11's executors.base.run_job, with lateness measured on `clock` and the run time
    passed to the job (our jobs sweep as of their slot)."""
    events = []
    logger = logging.getLogger(logger_name)
    for run_time in run_times:
        late = clock.now() - run_time
        if job.misfire_grace_time is not None and late > timedelta(seconds=job.misfire_grace_time):
            events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, jobstore_alias, run_time))
            logger.warning("%s: the run of %s was missed by %s (grace %d s); the next run covers it",
                           job.id, run_time.isoformat(), late, job.misfire_grace_time)
            continue
        try:
            retval = job.func(run_time, *job.args, **job.kwargs)
        except Exception as exc:
            logger.exception("%s: the run of %s raised", job.id, run_time.isoformat())
            events.append(JobExecutionEvent(EVENT_JOB_ERROR, job.id, jobstore_alias, run_time, exception=exc))
        else:
            events.append(JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, jobstore_alias, run_time, retval=retval))
    return events


class ClockThreadPoolExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, running jobs through `run_on_clock` with the scheduler's clock; runs
    still queued when it shuts down are dropped (the next start catches up)."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        future = self._pool.submit(run_on_clock, job, job._jobstore_alias, run_times, self._logger.name,
                                   self._scheduler.clock)
        future.add_done_callback(partial(self._finished, job.id))

    def shutdown(self, wait: bool = True) -> None:
        """Stop: runs waiting for the worker never start; the one running finishes (when `wait`)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _finished(self, job_id: str, future: Any) -> None:
        if future.cancelled():
            log.info("%s: not started, the scheduler is stopping", job_id)
            self._run_job_success(job_id, [])
            return
        exc = future.exception()
        if exc is not None:
            self._run_job_error(job_id, exc, exc.__traceback__)
        else:
            self._run_job_success(job_id, future.result())


class ClockScheduler(BaseScheduler):
    """A scheduler whose notion of now is `clock`: APScheduler 3.11's `_process_jobs`, reading the clock."""

    def __init__(self, *, clock: Clock, **options: Any) -> None:
        self.clock = clock
        self.plans: list[JobPlan] = []
        super().__init__(**options)

    def _create_default_executor(self) -> ClockThreadPoolExecutor:
        return ClockThreadPoolExecutor()

    def _process_jobs(self) -> float | None:
        """Submit what is due at the clock's now (coalesced: its latest run time); seconds to the next."""
        if self.state != STATE_RUNNING:
            return None  # paused, or stopping: take no new runs
        now = self.clock.now()
        next_wakeup: datetime | None = None
        events: list[Any] = []
        with self._jobstores_lock:
            for alias, jobstore in self._jobstores.items():
                for job in jobstore.get_due_jobs(now):
                    self._submit(job, alias, jobstore, now, events)
                due = jobstore.get_next_run_time()
                if due is not None and (next_wakeup is None or due < next_wakeup):
                    next_wakeup = due
        for event in events:
            self._dispatch_event(event)
        if next_wakeup is None or self.state != STATE_RUNNING:
            return None
        return min(max(next_wakeup.timestamp() - self.clock.now().timestamp(), 0), threading.TIMEOUT_MAX)

    def _submit(self, job: Any, alias: str, jobstore: Any, now: datetime, events: list[Any]) -> None:
        run_times = job._get_run_times(now)
        run_times = run_times[-1:] if run_times and job.coalesce else run_times
        if not run_times:
            return
        try:
            self._lookup_executor(job.executor).submit_job(job, run_times)
        except MaxInstancesReachedError:
            log.warning("%s: not started at %s, its previous run has not finished; the next run covers it",
                        job.id, run_times[-1].isoformat())
            events.append(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job.id, alias, run_times))
        except Exception:
            log.exception("%s: could not be submitted", job.id)
        else:
            events.append(JobSubmissionEvent(EVENT_JOB_SUBMITTED, job.id, alias, run_times))
        following = job.trigger.get_next_fire_time(run_times[-1], now)
        if following is None:
            self.remove_job(job.id, alias)
        else:
            job._modify(next_run_time=following)
            jobstore.update_job(job)


class BlockingClockScheduler(ClockScheduler, BlockingScheduler):
    """Runs its loop in the calling thread."""


class BackgroundClockScheduler(ClockScheduler, BackgroundScheduler):
    """Runs its loop in a thread of its own (what `run_scheduler` uses, so signals reach the main thread)."""


def build_scheduler(
    jobs: Sequence[Job],
    *,
    timezone: str,
    misfire_grace_seconds: int,
    clock: Clock,
    last_run: Callable[[str], datetime | None],
    scheduler_class: type[ClockScheduler] = BackgroundClockScheduler,
    executor: Any = None,
) -> ClockScheduler:
    """A scheduler (not started) with one cron job per `jobs`, caught-up jobs due at once; see the module.

    One worker thread: jobs run one after another, never side by side (SQLite has one writer anyway, and
    the daily sweep also sends reminders), each job at most once at a time."""
    plans = plan_jobs(jobs, timezone=timezone, now=clock.now(), last_run=last_run)
    scheduler = scheduler_class(clock=clock, timezone=ZoneInfo(timezone),
                                executors={"default": executor or ClockThreadPoolExecutor(max_workers=1)})
    for plan in plans:
        scheduler.add_job(Scheduled(plan.job, clock), plan.trigger, id=plan.job.name, name=plan.job.name,
                          coalesce=True, max_instances=1, misfire_grace_time=misfire_grace_seconds,
                          next_run_time=plan.next_run)
    scheduler.plans = plans
    return scheduler


def run_scheduler(scheduler: ClockScheduler,
                  signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)) -> int:
    """Run until SIGTERM or SIGINT; then take no new runs, wait for the running ones, and return 0.

    The handlers only set an event (nothing blocks inside a signal handler); they are installed here,
    not at import, and put back on the way out. Call from the main thread, with a scheduler whose loop
    runs in its own thread (build_scheduler's default, BackgroundClockScheduler)."""
    if not isinstance(scheduler, BackgroundScheduler):
        raise TypeError(f"run_scheduler needs a background scheduler, got {type(scheduler).__name__}")
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        if not stop.is_set():
            log.warning("%s: no new runs; waiting for running jobs to finish", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in signals}
    try:
        scheduler.start()
        stop.wait()
        scheduler.pause()
        scheduler.shutdown(wait=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("scheduler stopped")
    return 0


# --- the jobs ---------------------------------------------------------------------------------------


def _daily(settings: Settings, as_of: datetime) -> JobResult:
    from flows.deadlines import run_daily  # imported when run: the scheduler starts without it

    result: JobResult = run_daily(settings, as_of, source="scheduler")
    return result


def _send_reminders(settings: Settings, as_of: datetime) -> JobResult:
    from flows.deadlines import run_send_reminders

    result: JobResult = run_send_reminders(settings, as_of, source="scheduler")
    return result


def _nightly_audit(settings: Settings, clock: Clock, as_of: datetime) -> JobResult:
    """flows.audit.nightly_audit as the system actor (source flow), written to sweep_run also when it fails."""
    from flows.audit import run_nightly_audit

    result: JobResult = run_nightly_audit(settings, as_of, "scheduler", started=clock.now())
    return result


def default_jobs(settings: Settings, clock: Clock | None = None) -> list[Job]:
    """The daily sweep, the reminder retry between sweeps, and the nightly audit, on settings' crontabs."""
    cfg = settings.scheduler
    clock = clock or SystemClock(settings.zone)
    return [
        Job("daily", cfg.daily_sweep, partial(_daily, settings)),
        Job("reminder_retry", cfg.reminder_retry, partial(_send_reminders, settings), sweep="send_reminders"),
        Job("nightly_audit", cfg.nightly_audit, partial(_nightly_audit, settings, clock)),
    ]


def load_jobs(spec: str, settings: Settings) -> list[Job]:
    """Jobs from 'package.module:function', a function of the settings returning a list of Job."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidInput(f"--jobs: {spec!r} is not MODULE:FUNCTION")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"--jobs: cannot load {spec!r}: {exc}") from None
    jobs = factory(settings)
    if not isinstance(jobs, list) or not all(isinstance(j, Job) for j in jobs):
        raise InvalidInput(f"--jobs: {spec} must return a list of safegrade.scheduler.embedded.Job")
    return jobs
