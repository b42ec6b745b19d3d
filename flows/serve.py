"""Scale-out: the jobs of safegrade.services.jobs.JOBS as Prefect deployments, with the cron schedules of
config.yaml, served to a Prefect server (`PREFECT_API_URL`). `safegrade serve` checks its set-up, then
hands over to `python -m flows.serve [--config FILE]`. Start as many as you like: Prefect hands each
scheduled run to one of them, and should two sweeps still overlap (a manual run beside a scheduled one),
the database keeps them apart (rows claimed with FOR UPDATE SKIP LOCKED, each enterprise moved by
compare-and-set, the outbox's unique key)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect.schedules import Cron

from flows.audit import audit_nightly
from flows.deadlines import campaign_progress_flow, daily, deadline_sweep, send_reminders_flow
from safegrade.services.jobs import JOBS
from safegrade.settings import Settings, load_settings

FLOWS: dict[str, Any] = {f.name: f for f in (daily, send_reminders_flow, audit_nightly, deadline_sweep,
                                             campaign_progress_flow)}


def deployments(settings: Settings, config: Path | None) -> list[Any]:
    """The RunnerDeployments, one per job: its flow, the config file's path, its cron in the scheduler's
    time zone (none: run on demand or by backfill)."""
    parameters = {"config": str(config.resolve())} if config else {}
    tz = settings.scheduler.timezone
    built = []
    for job in JOBS:
        cron = job.crontab(settings)
        built.append(FLOWS[job.flow].to_deployment(
            name=job.deployment, description=job.description, parameters=parameters, concurrency_limit=1,
            schedules=[Cron(cron, timezone=str(tz))] if cron else None, tags=["safegrade"]))
    return built


def serve(settings: Settings, config: Path | None) -> None:
    """Register the deployments and run their scheduled flow runs until stopped (blocks)."""
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(settings, config))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="safegrade's config.yaml (default: as `safegrade` finds it)")
    config = parser.parse_args(argv).config
    serve(load_settings(config), config)


if __name__ == "__main__":
    main()
