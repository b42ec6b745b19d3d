"""Firing lifecycle events: role, scope, fields, guards, compare-and-set, audit — one transaction.

`fire_event` (the CLI, the API) and `fire_many` (sweeps, in batches) share one path: the requests
are checked against the enterprises as they stand, the machine says where each goes, and the
updates and audit events are written together. A refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from safegrade.audit import trail
from safegrade.domain.creditcode import normalize
from safegrade.domain.workday import add_working_days
from safegrade.errors import DOMAIN_ERRORS, Conflict, Forbidden, InvalidInput, NotFound
from safegrade.models import TRACKED_FIELDS, Enterprise, table
from safegrade.services import deadlines
from safegrade.services.context import Context, scope_check
from states import EnterpriseSnapshot, Outcome
from states.names import Event, State

ENTERPRISE = table(Enterprise)
# what an event may change on the enterprise row besides state and version (a record event such as a
# ledger amendment may also touch other tracked fields: see record_in)
MUTABLE = ("open_findings", "open_major_hazards", "last_result", "publicity_ends_on", "revocation_reason",
           "revoked_on", "regrade_from", "valid_until", "certificate_no")
_CHUNK = 500


@dataclass(frozen=True)
class FireRequest:
    credit_code: str
    event: str
    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True)
class Fired:
    credit_code: str
    event: str
    from_state: str
    to_state: str
    version: int
    hash: str
    at: datetime
    changes: Mapping[str, Any]


@dataclass
class BatchResult:
    fired: list[Fired] = field(default_factory=list)
    refused: list[tuple[FireRequest, str]] = field(default_factory=list)


def _years_later(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def snapshot(row: Mapping[str, Any]) -> EnterpriseSnapshot:
    return EnterpriseSnapshot(
        credit_code=row["credit_code"], state=row["state"], district=row["district"], sector=row["sector"],
        level=row["level"], graded_on=row["graded_on"], valid_until=row["valid_until"], version=row["version"],
        open_findings=row["open_findings"], open_major_hazards=row["open_major_hazards"],
        publicity_ends_on=row["publicity_ends_on"], regrade_from=row["regrade_from"], flags=tuple(row["flags"] or ()),
    )


def effects(ctx: Context, outcome: Outcome, row: Mapping[str, Any], today: date) -> dict[str, Any]:
    """What the transition changes on the enterprise besides its state."""
    data, changes = outcome.data, dict[str, Any]()
    if outcome.event == Event.RECORD_ASSESSMENT:
        changes.update(open_findings=data["findings"], open_major_hazards=data["major_hazards"],
                       last_result=data["result"])
    if outcome.dest == State.REVOCATION_PENDING and outcome.source != State.REVOCATION_PENDING:
        changes["publicity_ends_on"] = add_working_days(today, ctx.rules.deadlines.publicity_working_days)
        changes["revocation_reason"] = data.get("revocation_reason") or outcome.sets.get("revocation_reason")
    if outcome.event == Event.WITHDRAW_REVOCATION:
        changes.update(publicity_ends_on=None, revocation_reason=None)
    if outcome.dest == State.REVOKED:
        changes["revoked_on"] = today
        changes["regrade_from"] = _years_later(today, ctx.rules.deadlines.revocation_bar_years)
    if outcome.event == Event.REGRADE:
        changes.update(revoked_on=None, regrade_from=None, revocation_reason=None, publicity_ends_on=None)
    if outcome.event in (Event.RENEW, Event.REGRADE):
        changes.update(valid_until=data["valid_until"], certificate_no=data["certificate_no"])
    return {k: v for k, v in changes.items() if row[k] != v}


def _check_request(ctx: Context, req: FireRequest, via_service: bool) -> dict[str, Any]:
    """Role, reason and data: what can be judged before reading the enterprise."""
    actor = ctx.actor()
    spec = ctx.rules.machine.event(req.event)
    if spec.via and not via_service:
        raise Forbidden(f"'{req.event}' ({spec.label}) is recorded by `{spec.via}`, which derives its data; "
                        "it is not fired by hand", code="not_by_hand", field="event", value=req.event)
    if actor.role not in spec.roles:
        raise Forbidden(f"role '{actor.role}' may not fire '{req.event}' ({spec.label}); "
                        f"allowed roles: {', '.join(spec.roles)}", code="role_forbidden", field="event",
                        value=req.event, allowed=list(spec.roles))
    if not req.reason or not req.reason.strip():
        raise InvalidInput(f"event '{req.event}' needs a reason ({{reason}}): every change records why",
                           code="required", field="reason", value=req.reason)
    return ctx.rules.machine.coerce(req.event, req.data)


# each enterprise row with the hash and time of its chain's head, in one query; built once
_WITH_HEAD = (
    select(ENTERPRISE, trail.EVENT.c.hash.label("_head_hash"), trail.EVENT.c.occurred_at.label("_head_at"))
    .outerjoin(trail.EVENT, (trail.EVENT.c.enterprise_id == ENTERPRISE.c.id)
               & (trail.EVENT.c.seq == ENTERPRISE.c.version))
)
_LOAD_ONE = _WITH_HEAD.where(ENTERPRISE.c.credit_code == bindparam("code"))
_LOAD_MANY = _WITH_HEAD.where(ENTERPRISE.c.credit_code.in_(bindparam("codes", expanding=True)))


def _load(session: Session, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The rows to judge, keyed by credit code, each with `_head`: (hash, time) of its last event."""
    if len(codes) == 1:
        results = [session.execute(_LOAD_ONE, {"code": codes[0]}).mappings()]
    else:
        results = [session.execute(_LOAD_MANY, {"codes": list(codes[i:i + _CHUNK])}).mappings()
                   for i in range(0, len(codes), _CHUNK)]
    rows: dict[str, dict[str, Any]] = {}
    for result in results:
        for r in result:
            row = dict(r)
            head_hash, head_at = row.pop("_head_hash"), row.pop("_head_at")
            row["_head"] = (head_hash, head_at) if head_hash is not None else None
            rows[row["credit_code"]] = row
    return rows


def _admit(ctx: Context, row: dict[str, Any], event: str, now: datetime, expected_version: int | None) -> None:
    """May this actor record `event` on this row now: scope, the version they saw, time going forward."""
    scope_check(ctx.actor(), ctx.rules, row["district"], row["credit_code"], f"record '{event}' there")
    if expected_version is not None and expected_version != row["version"]:
        raise Conflict(f"{row['credit_code']} is at version {row['version']}, not {expected_version}: "
                       "it was changed meanwhile; reload and try again", code="version_moved",
                       field="expected_version", value=expected_version, allowed=[str(row["version"])])
    if row["_head"] is None:
        raise Conflict(f"the audit chain of {row['credit_code']} has no event at its version {row['version']}; "
                       "{hint}", code="broken_chain", field="credit_code", value=row["credit_code"],
                       hint="verify_audit")
    head_at = row["_head"][1]
    if now < head_at:
        raise InvalidInput(f"{now.isoformat()} is before {row['credit_code']}'s last recorded event at "
                           f"{head_at.astimezone(now.tzinfo).isoformat()}; time never goes back in an audit trail",
                           code="time_goes_back", field="as_of", value=now.isoformat(),
                           allowed=f"{head_at.astimezone(now.tzinfo).isoformat()} or later")


def _record(ctx: Context, row: dict[str, Any], event: str, dest: str, reason: str, data: Mapping[str, Any],
            changes: dict[str, Any], now: datetime, actor: trail.Actor) -> tuple[Fired, dict[str, Any]]:
    """The audit event of one change, and the row moved in memory to match it."""
    seq = row["version"] + 1
    event_row = trail.new_event(
        enterprise_id=row["id"], code=row["credit_code"], seq=seq, event=event, from_state=row["state"],
        to_state=dest, actor=actor, reason=reason.strip(),
        payload={"data": data, "before": {k: row[k] for k in changes}, "after": changes},
        at=now, rules_version=ctx.rules.version, prev_hash=row["_head"][0],
    )
    fired = Fired(row["credit_code"], event, row["state"], dest, seq, event_row["hash"], now, changes)
    row.update(changes, state=dest, version=seq, updated_at=now, _head=(event_row["hash"], now))
    return fired, event_row


def _apply(ctx: Context, row: dict[str, Any], req: FireRequest, data: dict[str, Any], now: datetime,
           actor: trail.Actor) -> tuple[Fired, dict[str, Any]]:
    """Judge one request against the row as it stands in this transaction; mutate the row in memory."""
    _admit(ctx, row, req.event, now, req.expected_version)
    outcome = ctx.rules.machine.fire(snapshot(row), req.event, now, data)
    changes = effects(ctx, outcome, row, now.date())
    return _record(ctx, row, req.event, outcome.dest, req.reason, data, changes, now, actor)


def record_in(ctx: Context, session: Session, credit_code: str, event: str, reason: str, data: Mapping[str, Any],
              changes: Mapping[str, Any]) -> Fired:
    """Record a change that is not a lifecycle move (a record event of the rules: a finding submitted,
    verified …) in the enterprise's chain, with the same scope, time and compare-and-set checks."""
    if event not in ctx.rules.lifecycle.record_events:
        raise ValueError(f"'{event}' is not a record event of lifecycle.yaml")
    untracked = set(changes) - set(TRACKED_FIELDS)
    if untracked:  # a change the audit trail would not replay
        raise ValueError(f"record_in may change tracked fields only, not {sorted(untracked)}")
    if not reason.strip():
        raise InvalidInput(f"'{event}' needs a reason: every change records why", code="required", field="reason",
                           value=reason)
    code = normalize(credit_code)
    row = _load(session, [code]).get(code)
    if row is None:
        raise NotFound(f"no enterprise with credit code {code}", code="unknown_enterprise", field="credit_code",
                       value=code)
    now = ctx.now()
    _admit(ctx, row, event, now, None)
    version = row["version"]
    changed = {k: v for k, v in changes.items() if row[k] != v}
    fired, event_row = _record(ctx, row, event, row["state"], reason, data, changed, now, ctx.audit_actor())
    columns = MUTABLE + tuple(k for k in changed if k not in MUTABLE)
    _write(session, [row], {row["id"]: version}, [event_row], columns)
    if "valid_until" in changed:  # a ledger amendment moved the grade's validity: its deadline follows
        deadlines.set_deadlines(ctx, session, [deadlines.validity_spec(row)])
    return fired


@lru_cache(maxsize=16)
def _compare_and_set(columns: tuple[str, ...]) -> Any:
    """UPDATE … WHERE id = ? AND version = ?, setting these columns; built once per column set."""
    return (
        update(ENTERPRISE)
        .where(ENTERPRISE.c.id == bindparam("_id"), ENTERPRISE.c.version == bindparam("_expected"))
        .values({c: bindparam(c) for c in ("state", "version", "updated_at", *columns)})
    )


def _write(session: Session, rows: Iterable[dict[str, Any]], versions: Mapping[int, int],
           events: list[dict[str, Any]], columns: tuple[str, ...] = MUTABLE) -> None:
    """Compare-and-set every touched row on the version it was read at, then append the events."""
    params = [{"_id": r["id"], "_expected": versions[r["id"]], "state": r["state"], "version": r["version"],
               "updated_at": r["updated_at"], **{k: r[k] for k in columns}} for r in rows]
    if not params:
        return
    stmt = _compare_and_set(columns)
    conn = session.connection()
    if conn.dialect.supports_sane_multi_rowcount or len(params) == 1:
        changed = conn.execute(stmt, params).rowcount
    else:
        changed = sum(conn.execute(stmt, p).rowcount for p in params)
    if changed != len(params):
        raise Conflict("an enterprise was changed by someone else meanwhile (its version moved); nothing was "
                       "recorded — reload and try again", code="version_moved")
    trail.append(session, events)


def fire_many(ctx: Context, requests: Sequence[FireRequest], *, strict: bool = False,
              via_service: bool = False) -> BatchResult:
    """Fire many events in one transaction (sweeps). A refused request is reported and skipped, or,
    with `strict`, raised (and nothing is written). `via_service` is for the use cases that derive an
    event's data themselves (rules' `via`)."""
    with ctx.store.write() as session:
        return fire_in(ctx, session, requests, strict=strict, via_service=via_service)


def fire_in(ctx: Context, session: Session, requests: Sequence[FireRequest], *, strict: bool = False,
            via_service: bool = False) -> BatchResult:
    """`fire_many` inside the caller's transaction, so that a use case writes its own rows and the
    lifecycle moves together, or nothing."""
    result = BatchResult()
    actor = ctx.audit_actor()
    now = ctx.now()
    checked: list[tuple[FireRequest, dict[str, Any]]] = []
    for req in requests:
        code = normalize(req.credit_code)
        if code != req.credit_code:
            req = FireRequest(code, req.event, req.reason, req.data, req.expected_version)
        try:
            checked.append((req, _check_request(ctx, req, via_service)))
        except DOMAIN_ERRORS as exc:
            if strict:
                raise
            result.refused.append((req, str(exc)))
    rows = _load(session, sorted({req.credit_code for req, _ in checked}))
    versions: dict[int, int] = {}
    touched: dict[int, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    moves: list[deadlines.Move] = []
    for req, data in checked:
        row = rows.get(req.credit_code)
        try:
            if row is None:
                raise NotFound(f"no enterprise with credit code {req.credit_code}", code="unknown_enterprise",
                               field="credit_code", value=req.credit_code, hint="list_enterprises")
            version = row["version"]
            fired, event_row = _apply(ctx, row, req, data, now, actor)  # mutates row only on success
        except DOMAIN_ERRORS as exc:
            if strict:
                raise
            result.refused.append((req, str(exc)))
            continue
        versions.setdefault(row["id"], version)
        touched[row["id"]] = row
        events.append(event_row)
        result.fired.append(fired)
        moves.append(deadlines.Move(row, fired.event, fired.from_state, fired.to_state, data, fired.changes))
    _write(session, touched.values(), versions, events)
    deadlines.follow_lifecycle(ctx, session, moves)
    if len(events) > 1 and trail.events_since_checkpoint(session) >= ctx.settings.audit.checkpoint_every_events:
        trail.checkpoint(session, now, actor.name)  # housekeeping of a large sweep, in its transaction
    return result


def fire_event(ctx: Context, credit_code: str, event: str, *, reason: str, data: Mapping[str, Any] | None = None,
               expected_version: int | None = None, via_service: bool = False) -> Fired:
    """Fire one event on one enterprise; raise the refusal (nothing is written) or return what moved."""
    req = FireRequest(credit_code, event, reason, data or {}, expected_version)
    return fire_many(ctx, [req], strict=True, via_service=via_service).fired[0]
