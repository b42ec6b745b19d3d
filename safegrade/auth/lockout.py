"""Lockout after repeated failed sign-ins, told by the security log itself (no counter to keep in step).

Per account: `max_failures` failures of one name within `window_minutes` lock that name for `lock_minutes`
(an unknown name is counted the same, so a lock never tells whether the account exists). Failures count
from the latest of: the window's start, the last successful sign-in, a password set by the bureau, the
last lock of the name. Per client address: `per_client_max_failures` failures from one address within the
window lock the address, whatever names it tried. Each lock is a `locked` event whose detail says its scope
and until when; it ends by the clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from safegrade.audit.security import SECURITY
from safegrade.auth.common import log
from safegrade.services.context import Context

S = SECURITY.c


def _scope(scope: str) -> ColumnElement[bool]:
    return S.detail.like(f'%"scope":"{scope}"%')  # canonical JSON: no space after the colon


def _lock_of(session: Session, where: Sequence[ColumnElement[bool]]) -> tuple[int, datetime] | None:
    """(seq, until) of the latest lock matching `where`, or None."""
    row = session.execute(select(S.seq, S.detail).where(S.kind == "locked", *where)
                          .order_by(S.seq.desc()).limit(1)).one_or_none()
    if row is None:
        return None
    return row[0], datetime.fromisoformat(json.loads(row[1])["until"].replace("Z", "+00:00"))


def _account_lock(session: Session, subject: str) -> tuple[int, datetime] | None:
    return _lock_of(session, [S.subject == subject, _scope("account")])


def _client_lock(session: Session, client: str) -> tuple[int, datetime] | None:
    return _lock_of(session, [S.client == client, _scope("client")])


def locked_until(session: Session, now: datetime, subject: str, client: str | None) -> datetime | None:
    """Until when a sign-in as `subject` from `client` is refused; None when it is not."""
    ends = [lock[1] for lock in (_account_lock(session, subject), _client_lock(session, client) if client else None)
            if lock is not None and lock[1] > now]
    return max(ends) if ends else None


def account_locked_until(session: Session, now: datetime, subject: str) -> datetime | None:
    lock = _account_lock(session, subject)
    return lock[1] if lock is not None and lock[1] > now else None


def _failures(session: Session, where: Sequence[ColumnElement[bool]], start: datetime, after_seq: int) -> int:
    """Failed sign-ins matching `where` since `start` and after the event `after_seq` (a reset or a lock)."""
    count = session.execute(select(func.count()).select_from(SECURITY).where(
        S.kind == "sign_in_failed", S.occurred_at > start, S.seq > after_seq, *where)).scalar_one()
    return int(count)


def _account_reset(session: Session, subject: str) -> int:
    """The seq of the name's last reset of its count: a sign-in, a password set by the bureau, a lock."""
    reset = session.execute(select(func.max(S.seq)).where(
        S.subject == subject, (S.kind.in_(("sign_in", "password_set"))) | ((S.kind == "locked") & _scope("account"))
    )).scalar_one_or_none()
    return int(reset or 0)


def record_failure(session: Session, ctx: Context, subject: str, reason: str,
                   detail: dict[str, Any] | None = None) -> datetime | None:
    """Record a failed sign-in (`reason`: unknown_account, wrong_password, …; never the password) and lock
    the name or the client when this failure reaches the limit; until when it is locked now, or None."""
    policy = ctx.settings.web.lockout
    now = ctx.now()
    log(session, ctx, "sign_in_failed", subject, by=subject, detail={"reason": reason, **(detail or {})})
    start = now - timedelta(minutes=policy.window_minutes)
    until = now + timedelta(minutes=policy.lock_minutes)
    locked: datetime | None = None
    failures = _failures(session, [S.subject == subject], start, _account_reset(session, subject))
    if failures >= policy.max_failures:
        log(session, ctx, "locked", subject, by=subject,
            detail={"scope": "account", "until": until, "failures": failures})
        locked = until
    if ctx.client:
        last = _client_lock(session, ctx.client)
        failures = _failures(session, [S.client == ctx.client], start, last[0] if last is not None else 0)
        if failures >= policy.per_client_max_failures:
            log(session, ctx, "locked", subject, by=subject,
                detail={"scope": "client", "until": until, "failures": failures})
            locked = until
    return locked
