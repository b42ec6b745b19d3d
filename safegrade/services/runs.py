"""The `job_run` table: every run of a scheduled job — the instant it covered (its slot, or a simulated
now), when it really started and finished by the wall clock, its counts or its error. The embedded
scheduler catches up from the last run that finished without error; reviewers see that the jobs ran."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from safegrade.models import JobRun, table
from safegrade.services.asof import as_of
from safegrade.services.context import Context
from safegrade.services.scope import READ_RUNS

JOB_RUN = table(JobRun)


@dataclass(frozen=True, slots=True)
class JobRunRecord:
    """One run of a scheduled job as `deadlines runs` and the API show it."""

    id: int
    job: str
    as_of: datetime  # the instant the run covered (its slot)
    started_at: datetime  # by the wall clock
    finished_at: datetime | None  # by the wall clock; None while it runs
    source: str  # cli | flow | scheduler
    counts: dict[str, int]  # what it did, keyed by what was counted
    error: str | None  # the error it failed with, None if it did not


def record_run(ctx: Context, job: str, *, as_of: datetime, started_at: datetime, finished_at: datetime,
               source: str, counts: Mapping[str, int], error: str | None = None) -> None:
    """Write down that a job ran (or failed), for the scheduler's catch-up and for reviewers."""
    with ctx.store.write() as session:
        session.execute(JOB_RUN.insert().values(job=job, as_of=as_of, started_at=started_at, finished_at=finished_at,
                                                source=source, counts=dict(counts), error=error))


def last_run(ctx: Context, job: str) -> datetime | None:
    """The `as_of` of the job's last run that finished without error."""
    with ctx.store.read() as session:
        found = session.execute(select(func.max(JOB_RUN.c.as_of)).where(
            JOB_RUN.c.job == job, JOB_RUN.c.error.is_(None))).scalar_one_or_none()
    return found


def list_runs(ctx: Context, *, job: str | None = None, limit: int = 50) -> list[JobRunRecord]:
    """The latest runs first, of one job or of all: those that covered an instant up to the context's now.
    The bureau, the reviewer and the system actor read them (read_runs): a run covers the whole city."""
    ctx.reader(READ_RUNS)
    with ctx.store.read() as session:
        runs = as_of(ctx, session).table(JOB_RUN)
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if job:
            query = query.where(runs.c.job == job)
        return [JobRunRecord(**r) for r in session.execute(query).mappings()]
