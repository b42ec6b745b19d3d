"""When each job runs: its cron trigger, its last finished run, and whether a start catches it up.

A job whose last finished run (`job_run`) is older than its latest slot, or that never ran, runs once at
start, as of now: one run covers any number of missed slots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from safegrade.errors import InvalidInput
from safegrade.scheduler.crontab import cron_trigger
from safegrade.scheduler.jobs import Job


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
