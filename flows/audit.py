"""The nightly audit as a Prefect flow: checkpoint the heads of every chain that moved, then verify the whole
trail (safegrade.services.jobs.nightly_audit), recorded in job_run like every job.

Acts as the `system` actor with source `flow`. "Now" is the flow run's scheduled start (so a backfilled
run checkpoints as of its slot), or the clock when called outside a run (`.fn()`). Two service calls need
no Prefect tasks: the flow is the unit that is scheduled, retried and seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow

from flows.context import flow_context
from safegrade.services.jobs import audit_job


@flow(name="safegrade-audit-nightly")
def audit_nightly(config: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
    with flow_context(config, as_of) as ctx:
        return audit_job(ctx, "flow")
