"""Scale-out: the same flows as Prefect deployments with the cron schedules of config.yaml, served to a
Prefect server (`PREFECT_API_URL`) by `safegrade serve`. Start as many `safegrade serve` processes as
you like: Prefect hands each scheduled run to one of them, and should two sweeps still overlap (a manual
run beside a scheduled one), the database keeps them apart (rows claimed with FOR UPDATE SKIP LOCKED,
each enterprise moved by compare-and-set, the outbox's unique key)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from prefect.schedules import Cron  # noqa: E402

from flows.audit import audit_nightly  # noqa: E402
from flows.deadlines import campaign_progress_flow, daily, deadline_sweep, send_reminders_flow  # noqa: E402
from safegrade.settings import Settings  # noqa: E402


@dataclass(frozen=True)
class Planned:
    """A deployment to register: its flow, name, crontab (None: run on demand or by backfill)."""

    flow: Any
    name: str
    cron: str | None
    description: str


def planned(settings: Settings) -> list[Planned]:
    s = settings.scheduler
    return [
        Planned(daily, "daily", s.daily_sweep, "期限巡检、评估进度提醒、发送提醒（每日）"),
        Planned(send_reminders_flow, "reminder-retry", s.reminder_retry, "发送待发与重试中的提醒"),
        Planned(audit_nightly, "nightly-audit", s.nightly_audit, "审计链检查点与全量校验（每夜）"),
        Planned(deadline_sweep, "deadline-sweep", None, "期限巡检（按需或补跑）"),
        Planned(campaign_progress_flow, "campaign-progress", None, "评估进度提醒（按需）"),
    ]


def deployments(settings: Settings, config: Path | None) -> list[Any]:
    """The RunnerDeployments: each flow gets the config file's path; cron in the scheduler's time zone."""
    parameters = {"config": str(config.resolve())} if config else {}
    tz = settings.scheduler.timezone
    return [p.flow.to_deployment(
        name=p.name, description=p.description, parameters=parameters, concurrency_limit=1,
        schedules=[Cron(p.cron, timezone=str(tz))] if p.cron else None, tags=["safegrade"])
        for p in planned(settings)]


def serve(settings: Settings, config: Path | None) -> None:
    """Register the deployments and run their scheduled flow runs until stopped (blocks)."""
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(settings, config))
