"""The deadline jobs as Prefect flows (for `safegrade serve` and its workers): the deadline sweep, reminder
delivery, campaign progress, and `daily` running them in order as subflows. Each is the job function of
safegrade.services.jobs as of its run's scheduled start, so a backfilled or late run sweeps as of its slot;
every run is recorded in `job_run` (what instant it covered, when it ran, what it did, or its error).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow

from flows.context import flow_context, scheduled_now
from safegrade.services.jobs import nested_counts, progress_job, recorded, send_job, sweep_job


@flow(name="safegrade-deadline-sweep")
def deadline_sweep(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Find what is due, fire escalations in batches, queue reminders."""
    with flow_context(config, as_of) as ctx:
        return sweep_job(ctx, "flow")


@flow(name="safegrade-campaign-progress")
def campaign_progress_flow(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Remind districts with outstanding assessments (weekly while a window is open)."""
    with flow_context(config, as_of) as ctx:
        return progress_job(ctx, "flow")


@flow(name="safegrade-send-reminders")
def send_reminders_flow(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Deliver the outbox: pending and due-for-retry reminders."""
    with flow_context(config, as_of) as ctx:
        return send_job(ctx, "flow")


@flow(name="safegrade-daily")
def daily(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """The daily run: sweep, progress, send — in order, each a subflow run of its own — recorded as `daily`
    with the counts of all three."""
    at = as_of or scheduled_now()

    def work() -> dict[str, Any]:
        return {"deadline_sweep": deadline_sweep(config, at), "campaign_progress": campaign_progress_flow(config, at),
                "send_reminders": send_reminders_flow(config, at)}

    with flow_context(config, at) as ctx:
        return recorded("daily", ctx, "flow", work, counts=nested_counts)
