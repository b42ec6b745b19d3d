"""The nightly audit: checkpoint the heads of every chain that moved, then verify the whole trail.

Acts as the `system` actor with source `flow`. "Now" is the flow run's scheduled start (so a
backfilled run checkpoints as of its slot), or the clock when called outside a run (`.fn()`).
Two service calls need no Prefect tasks: the flow is the unit that is scheduled, retried and seen.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from prefect import flow  # noqa: E402
from prefect.context import FlowRunContext  # noqa: E402

from safegrade.services.auditing import checkpoint_audit, verify_audit  # noqa: E402
from safegrade.services.context import Context  # noqa: E402
from safegrade.settings import Settings, load_settings  # noqa: E402


class AuditBroken(RuntimeError):
    """The nightly verification found a broken chain: the run fails so that it shows."""


def scheduled_now() -> datetime | None:
    """The run's scheduled start time inside a Prefect flow run, else None."""
    run = FlowRunContext.get()
    if run is None or run.flow_run is None:
        return None
    return run.flow_run.expected_start_time


def nightly_audit(ctx: Context) -> dict[str, Any]:
    """Checkpoint, then verify. The plain function the embedded scheduler calls."""
    cp = checkpoint_audit(ctx)
    report = verify_audit(ctx)
    breaks = [str(b) for b in report.breaks]
    if breaks:
        raise AuditBroken(f"audit trail broken: {'; '.join(breaks[:5])}")
    return {"ok": report.ok, "events": report.events, "chains": report.chains, "checkpoints": report.checkpoints,
            "checkpoint": cp["id"] if cp else None, "breaks": breaks}


def run_nightly_audit(settings: Settings, as_of: datetime | None, source: str = "scheduler", *,
                      started: datetime | None = None) -> dict[str, Any]:
    """The nightly audit as the embedded scheduler runs it: recorded in sweep_run, also when it fails."""
    from flows.runs import recorded, system_context

    with system_context(settings, as_of) as ctx:
        return recorded("nightly_audit", ctx, source, lambda: nightly_audit(ctx), started=started)


@flow(name="safegrade-audit-nightly")
def audit_nightly(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    from flows.runs import system_context

    settings = load_settings(Path(config) if config else None)
    with system_context(settings, as_of or scheduled_now()) as ctx:
        return nightly_audit(ctx)
