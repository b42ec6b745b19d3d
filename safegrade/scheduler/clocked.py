"""APScheduler 3 on an injected clock. APScheduler reads `datetime.now` inline in the scheduler's
`_process_jobs` and in its executors' `run_job`; `ClockScheduler` and `ClockThreadPoolExecutor` replace
exactly those two, so tests step a TestClock and nothing sleeps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

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

from safegrade.clock import Clock

if TYPE_CHECKING:
    from safegrade.scheduler.planning import JobPlan

log = logging.getLogger(__name__)


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


class BackgroundClockScheduler(ClockScheduler, BackgroundScheduler):
    """Runs its loop in a thread of its own (what `run_scheduler` uses, so signals reach the main thread)."""
