"""Reading and verifying the security log (safegrade.audit.security keeps the chain): the bureau and the
reviewers (`read_security_log` in the rules' actions), and the operator's console."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from safegrade.audit import security
from safegrade.audit.security import KINDS, SECURITY, SecurityBreak
from safegrade.auth.common import console
from safegrade.errors import InvalidInput
from safegrade.services.context import Context


@dataclass(frozen=True, slots=True)
class SecurityEventRow:
    seq: int
    occurred_at: datetime
    kind: str
    subject: str  # the account (the name given, for a failed sign-in)
    by: str
    source: str
    client: str | None
    detail: dict[str, Any]
    hash: str


@dataclass(frozen=True, slots=True)
class SecurityLogReport:
    ok: bool
    events: int
    first_broken: SecurityBreak | None  # seq, reason (changed | missing | inserted), detail


def _reader(ctx: Context) -> None:
    if not console(ctx):
        ctx.require("read_security_log", "read the security log")


def list_security_events(ctx: Context, *, actor: str | None = None, kind: str | None = None,
                         limit: int = 200) -> list[SecurityEventRow]:
    """The newest events first (at most `limit`), of one account and/or one kind."""
    _reader(ctx)
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"{{kind}}: unknown kind {kind!r}; known: {', '.join(KINDS)}", code="unknown_kind",
                           field="kind", value=kind, allowed=list(KINDS))
    if limit < 1:
        raise InvalidInput("{limit}: at least 1", code="invalid_limit", field="limit", value=limit, allowed="1 or more")
    s = SECURITY.c
    query = select(s.seq, s.occurred_at, s.kind, s.subject, s.by, s.source, s.client, s.detail, s.hash)
    if actor is not None:
        query = query.where(s.subject == actor.strip())
    if kind is not None:
        query = query.where(s.kind == kind)
    with ctx.store.read() as session:
        rows = session.execute(query.order_by(s.seq.desc()).limit(limit)).all()
    return [SecurityEventRow(seq=r[0], occurred_at=r[1], kind=r[2], subject=r[3], by=r[4], source=r[5], client=r[6],
                             detail=json.loads(r[7]), hash=r[8]) for r in rows]


def verify_security_log(ctx: Context) -> SecurityLogReport:
    """Recompute the chain: the first broken seq and why, or ok."""
    with ctx.store.read() as session:
        events, broken = security.verify(session)
    return SecurityLogReport(ok=broken is None, events=events, first_broken=broken)
