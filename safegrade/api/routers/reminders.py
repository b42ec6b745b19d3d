"""Reminders: the outbox (as `reminders list`), requeueing a failed message (as `reminders retry`), and the
caller's own reminders (an enterprise account's: its enterprise's). Scope is the services'."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from safegrade.api import problems
from safegrade.api.deps import Acting, require_csrf
from safegrade.api.text import MAX_ID, TEXT
from safegrade.services import reminders
from safegrade.services.reminders import ReminderRow, RequeuedReminder

router = APIRouter(tags=["reminders 提醒"])

LIMIT = Annotated[int, Query(ge=1, le=10_000, description="最多条数")]


@router.get("/reminders", response_model=list[ReminderRow], summary="提醒发件箱",
            responses=problems.responses(401, 403, 422, 503))
def reminders_list(
    ctx: Acting,
    failed: Annotated[bool, Query(description="只看发送失败和正在重试的")] = False,
    status: Annotated[str | None, Query(description="pending | sending | sent | failed | superseded",
                                        max_length=32, pattern=TEXT)] = None,
    code: Annotated[str | None, Query(description="只看该企业的（统一社会信用代码）",
                                      max_length=64, pattern=TEXT)] = None,
    subject: Annotated[str | None, Query(description="只看该事项，如 finding:17", max_length=128, pattern=TEXT)] = None,
    limit: LIMIT = 500,
) -> list[ReminderRow]:
    """The outbox with each message's status, attempts, next attempt and last error, by due date."""
    return reminders.list_reminders(ctx, failed=failed, status=status, subject=subject, enterprise=code, limit=limit)


@router.post("/reminders/{reminder_id}/retry", response_model=RequeuedReminder, summary="重新发送失败的提醒",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 404, 409, 422, 503))
def reminders_retry(ctx: Acting,
                    reminder_id: Annotated[int, Path(ge=1, le=MAX_ID, description="提醒编号")]) -> RequeuedReminder:
    """Requeue a failed (or failing) message: the next delivery run sends it again."""
    return reminders.retry_reminder(ctx, reminder_id)


@router.get("/me/reminders", response_model=list[ReminderRow], summary="我的提醒",
            responses=problems.responses(401, 403, 422, 503))
def my_reminders(ctx: Acting, limit: LIMIT = 500) -> list[ReminderRow]:
    """The messages addressed to the caller: an enterprise account's are its enterprise's; a district officer's
    those to their district's officers."""
    return reminders.my_reminders(ctx, limit=limit)
