"""The reviewer's use cases: verify the trail, export it, checkpoint the chain heads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import FromClause, Select, select

from safegrade.audit import security, trail
from safegrade.audit.chain import Report, verify_lines
from safegrade.errors import InvalidInput
from safegrade.output import require_folder
from safegrade.services.asof import as_of
from safegrade.services.context import Context
from safegrade.services.scope import READ_AUDIT, Scope

# Report (from the stdlib-only verifier) is the contract of verify_audit and verify_export
__all__ = ["AuditCheckpointTaken", "AuditExport", "AuditReport", "Report", "SecurityLogCheck", "checkpoint_audit",
           "export_audit", "verify_audit", "verify_export"]


@dataclass(frozen=True, slots=True)
class AuditExport:
    file: str
    events: int
    chains: int


@dataclass(frozen=True, slots=True)
class SecurityLogCheck:
    """The security log's chain (safegrade.audit.security): how many events, the first break or None."""

    ok: bool
    events: int
    first_broken: security.SecurityBreak | None


@dataclass
class AuditReport(Report):
    """The audit trail's report with the security log's check beside it (None: not checked, as for a file, or
    for a reader who sees only part of the trail)."""

    security_log: SecurityLogCheck | None = None

    @property
    def ok(self) -> bool:
        return not self.breaks and (self.security_log is None or self.security_log.ok)


def _with_security_log(report: Report, session: Any, scope: Scope) -> AuditReport:
    if not scope.everything:  # a district officer verifies the chains of its district, not the accounts' log
        return AuditReport(events=report.events, chains=report.chains, checkpoints=report.checkpoints,
                           breaks=report.breaks)
    events, broken = security.verify(session)  # the whole log: it is one chain, whatever the date
    return AuditReport(events=report.events, chains=report.chains, checkpoints=report.checkpoints,
                       breaks=report.breaks, security_log=SecurityLogCheck(broken is None, events, broken))


def _scoped(scope: Scope, enterprises: FromClause) -> tuple[FromClause, Select[Any] | None]:
    """The enterprise rows in the reader's scope, and the select of their ids (None: every enterprise)."""
    condition = scope.where(enterprises)
    if condition is None:
        return enterprises, None
    rows = select(enterprises).where(condition).subquery("in_scope")
    return rows, select(rows.c.id)


def verify_audit(ctx: Context) -> AuditReport:
    """Every chain, head, projection and checkpoint, as the trail stood at the context's now (the whole trail
    when nothing was recorded after it); and the security log's chain. A district officer verifies the chains
    of its district (and the checkpoints' own chain, and their heads of those chains)."""
    scope = ctx.reader(READ_AUDIT)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        if not then.past and scope.everything:
            return _with_security_log(trail.verify(session), session, scope)
        enterprises, only = _scoped(scope, then.table(trail.ENTERPRISE))
        return _with_security_log(trail.verify(session, until=then.at if then.past else None,
                                               enterprises=enterprises, only=only), session, scope)


def verify_export(path: Path) -> Report:
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", code="no_such_file", field="path", value=str(path))
    with path.open(encoding="utf-8") as handle:
        return verify_lines(handle)


def export_audit(ctx: Context, path: Path) -> AuditExport:
    """The audit trail as it stood at the context's now (the events and checkpoints recorded up to then, each
    chain's head as it was), as JSON Lines whose header line says up to when (`events_up_to`). `audit verify`
    checks the whole trail whatever the date. A district officer exports the chains of its district (without the
    checkpoints, which name every chain's head; the header's `scope` says so)."""
    scope = ctx.reader(READ_AUDIT)
    require_folder(path, "path")
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        enterprises, only = _scoped(scope, then.table(trail.ENTERPRISE))
        events, chains = trail.export(session, path, then.at, ctx.rules.version, until=then.at,
                                      enterprises=enterprises, only=only,
                                      scope=None if only is None else f"district:{scope.district}"
                                      if scope.kind == "district" else f"enterprise:{scope.enterprise_code}")
    return AuditExport(file=str(path), events=events, chains=chains)


@dataclass(frozen=True, slots=True)
class AuditCheckpointTaken:
    """A checkpoint of the chain heads that moved since the previous one; itself chained by `prev_hash`."""

    taken_at: datetime
    last_event_id: int  # the newest audit event it covers
    heads: int  # how many chains moved, each recorded with its head
    heads_digest: str  # SHA-256 over the heads (credit code, sequence, hash)
    actor: str
    prev_hash: str  # the previous checkpoint's hash (the genesis value for the first)
    hash: str
    id: int


def checkpoint_audit(ctx: Context) -> AuditCheckpointTaken | None:
    """Record the heads of every chain that moved since the last checkpoint; None when none moved."""
    actor = ctx.require("checkpoint", "take audit checkpoints")
    with ctx.store.write() as session:
        taken = trail.checkpoint(session, ctx.now(), actor.name)
    return AuditCheckpointTaken(**taken) if taken else None
