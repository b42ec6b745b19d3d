"""Deadlines: the list (as `deadlines list`) and the plan of what would happen between two days (as
`deadlines plan`), which changes nothing. Scope is the services'."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from safegrade.api import problems
from safegrade.api.deps import Acting
from safegrade.api.text import TEXT
from safegrade.services.deadlines import DeadlineRow, list_deadlines
from safegrade.services.plan import DeadlinePlan, plan_deadlines

router = APIRouter(prefix="/deadlines", tags=["deadlines 期限"])


@router.get("", response_model=list[DeadlineRow], summary="期限列表（最近的在前）",
            responses=problems.responses(401, 403, 422, 503))
def deadlines_list(
    ctx: Acting,
    kind: Annotated[str | None, Query(description="finding, major_finding, campaign_window, …",
                                      max_length=64, pattern=TEXT)] = None,
    status: Annotated[str | None, Query(description="期限状态", max_length=32, pattern=TEXT)] = None,
    due_by: Annotated[date | None, Query(description="只看该日（含）之前到期的")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="最多条数")] = 1000,
) -> list[DeadlineRow]:
    """Deadlines, soonest first, with their reminders' progress and escalation."""
    return list_deadlines(ctx, kind=kind, status=status, due_by=due_by, limit=limit)


@router.get("/plan", response_model=DeadlinePlan, summary="期限计划（两日之间将发生的提醒与升级，不做任何改动）",
            responses=problems.responses(401, 403, 422, 503))
def deadlines_plan(ctx: Acting,
                   start: Annotated[date, Query(description="第一天（YYYY-MM-DD）")],
                   end: Annotated[date, Query(description="最后一天（YYYY-MM-DD）")]) -> DeadlinePlan:
    """Every reminder and escalation that would fire between `start` and `end`, day by day."""
    return plan_deadlines(ctx, start, end)  # the service's plan_deadlines read: a district officer's district
