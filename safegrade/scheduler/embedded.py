"""The embedded scheduler (`safegrade scheduler run`): APScheduler 3 in-process, calling plain functions.

The database is the source of truth and every job is an idempotent sweep of "what is due as of now",
so the scheduler only has to make sure a sweep runs after each slot of its crontab — never none, and
never two of the same job at once:

- Catch-up once (safegrade.scheduler.planning): at start, a job whose last finished run (`job_run`) is
  older than its latest slot, or that never ran, runs once at once, as of now — one run covers any number
  of missed slots. A fresh install does not wait until tomorrow 08:00 to notice what is already overdue.
- A scheduled run is swept *as of its slot* (08:00:00, not 08:00:00.3 or 08:40 after a late wake-up):
  the sweep is reproducible and its `job_run.as_of` is exactly the slot it covered; its `started_at` and
  `finished_at` are when it really ran.
- coalesce=True, max_instances=1 and a large misfire grace: a run delayed (a suspended laptop, a busy
  machine) by less than the grace still runs, once; later than that it is logged as missed and the
  next run covers it.
- The scheduler reads time from a `Clock` (safegrade.clock is the only reader of the wall clock), so
  tests step it with a TestClock (safegrade.scheduler.clocked).
- A failing job is logged and the scheduler goes on; SIGTERM or Ctrl-C stops new runs, waits for the
  running ones (their transactions commit or roll back whole) and returns 0.

The scheduled functions (safegrade.scheduler.jobs.default_jobs, from the services' JOBS table) are the
same ones Prefect wraps as flows for the served set-up; no Prefect is involved here.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from safegrade.clock import Clock
from safegrade.scheduler.clocked import BackgroundClockScheduler, ClockScheduler, ClockThreadPoolExecutor
from safegrade.scheduler.jobs import Job, Scheduled
from safegrade.scheduler.planning import plan_jobs

log = logging.getLogger(__name__)

# Python runs a signal's handler in the main thread, between bytecodes; when the kernel hands the signal
# to another thread (Linux prefers the sending thread), a main thread blocked without a timeout would
# never run it. Waiting in slices lets the handler run within this many seconds.
SIGNAL_CHECK_SECONDS = 0.5


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
        while not stop.wait(SIGNAL_CHECK_SECONDS):
            pass
        scheduler.pause()
        scheduler.shutdown(wait=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("scheduler stopped")
    return 0
