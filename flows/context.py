"""What every flow shares: its run's scheduled start, and the system context as of it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from prefect.context import FlowRunContext

from safegrade.services.context import Context
from safegrade.services.jobs import system_context
from safegrade.settings import load_settings


def scheduled_now() -> datetime | None:
    """The run's scheduled start time inside a Prefect flow run, else None."""
    run = FlowRunContext.get()
    if run is None or run.flow_run is None:
        return None
    return run.flow_run.expected_start_time


def flow_context(config: str | None, as_of: datetime | None) -> AbstractContextManager[Context]:
    """The system actor as of `as_of`, else the run's scheduled start (so a backfilled or late run sweeps as
    of its slot), else now; the run timed by the system clock."""
    settings = load_settings(Path(config) if config else None)
    return system_context(settings, as_of or scheduled_now())
