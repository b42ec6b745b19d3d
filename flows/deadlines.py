"""The scheduled side: the deadline sweep, reminder delivery, campaign progress, and `daily` running them
in order. Thin over the services, which batch: never one Prefect task per enterprise.

Two ways in, one code path:
  - the embedded scheduler (safegrade.scheduler.embedded) and `safegrade deadlines check` call the plain `run_*`
    functions: no Prefect server, nothing leaves the machine;
  - `safegrade serve` registers the `@flow`s below as Prefect deployments with the same cron schedules;
    a flow's "now" is its run's scheduled start, so a backfilled or late run sweeps as of its slot.
Every run is written to `sweep_run` (what instant it covered, what it did, or its error).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from prefect import flow  # noqa: E402

from flows.audit import scheduled_now  # noqa: E402
from flows.runs import recorded, system_context  # noqa: E402
from safegrade.services.context import Context  # noqa: E402
from safegrade.services.sweep import campaign_progress, record_run, sweep_deadlines  # noqa: E402
from safegrade.settings import Settings, load_settings  # noqa: E402


def sweep_job(ctx: Context, source: str) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        report = sweep_deadlines(ctx)
        return {**report.counts(), "log": report.log}
    return recorded("deadline_sweep", ctx, source, work)


def progress_job(ctx: Context, source: str) -> dict[str, Any]:
    return recorded("campaign_progress", ctx, source, lambda: campaign_progress(ctx))


def send_job(ctx: Context, source: str) -> dict[str, Any]:
    from safegrade.services.reminders import send_reminders

    return recorded("send_reminders", ctx, source, lambda: send_reminders(ctx))


def daily_job(ctx: Context, source: str) -> dict[str, Any]:
    """The sweep, then campaign progress, then delivery: what the 08:00 run does."""
    def work() -> dict[str, Any]:
        return {"deadline_sweep": sweep_job(ctx, source), "campaign_progress": progress_job(ctx, source),
                "send_reminders": send_job(ctx, source)}
    return recorded("daily", ctx, source, work)


def run_daily(settings: Settings, as_of: datetime | None, source: str = "scheduler", **kw: Any) -> dict[str, Any]:
    with system_context(settings, as_of, **kw) as ctx:
        return daily_job(ctx, source)


def run_send_reminders(settings: Settings, as_of: datetime | None, source: str = "scheduler",
                       **kw: Any) -> dict[str, Any]:
    with system_context(settings, as_of, **kw) as ctx:
        return send_job(ctx, source)


# --- the same, as Prefect flows (for `safegrade serve` and its workers) ------------------------------

def _flow_context(config: str | None, as_of: datetime | None) -> AbstractContextManager[Context]:
    settings = load_settings(Path(config) if config else None)
    return system_context(settings, as_of or scheduled_now())


@flow(name="safegrade-deadline-sweep")
def deadline_sweep(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Find what is due, fire escalations in batches, queue reminders."""
    with _flow_context(config, as_of) as ctx:
        return sweep_job(ctx, "flow")


@flow(name="safegrade-campaign-progress")
def campaign_progress_flow(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Remind districts with outstanding assessments (weekly while a window is open)."""
    with _flow_context(config, as_of) as ctx:
        return progress_job(ctx, "flow")


@flow(name="safegrade-send-reminders")
def send_reminders_flow(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """Deliver the outbox: pending and due-for-retry reminders."""
    with _flow_context(config, as_of) as ctx:
        return send_job(ctx, "flow")


@flow(name="safegrade-daily")
def daily(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    """The daily run: sweep, progress, send — in order, each a subflow run of its own."""
    at = as_of or scheduled_now()
    out = {"deadline_sweep": deadline_sweep(config, at), "campaign_progress": campaign_progress_flow(config, at),
           "send_reminders": send_reminders_flow(config, at)}
    with _flow_context(config, at) as ctx:
        record_run(ctx, "daily", ctx.now(), ctx.clock.now(), "flow",
                   {f"{job}.{k}": v for job, counts in out.items() for k, v in counts.items() if isinstance(v, int)})
    return out
