"""Firing lifecycle events: role, scope, fields, guards, compare-and-set, audit — one transaction.

`fire_event` (the CLI, the API) and `fire_many` (sweeps, in batches) share one path: the requests
are checked against the enterprises as they stand, the machine says where each goes, and the
updates and audit events are written together. A refusal writes nothing.

`judge_events` asks the same questions before anything is fired — the event's use case (`via`), the
actor's role, their scope, the guards on the enterprise as it stands — for every event of its state,
so that a reader (`enterprise show`, the API, the web pages) offers only what would be accepted, and
says for the rest why not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from safegrade.audit import trail
from safegrade.domain.creditcode import normalize
from safegrade.domain.workday import add_working_days
from safegrade.errors import DOMAIN_ERRORS, Conflict, Forbidden, InvalidInput, NotFound
from safegrade.models import TRACKED_FIELDS, Actor, Enterprise, table
from safegrade.services import deadlines
from safegrade.services.context import Context, refuse_read_only, scope_check
from safegrade.services.scope import unknown_enterprise
from states import EnterpriseSnapshot, Outcome
from states.names import Event, State

ENTERPRISE = table(Enterprise)
# what an event may change on the enterprise row besides state and version (a record event such as a
# ledger amendment may also touch other tracked fields: see record_in)
MUTABLE = ("open_findings", "open_major_hazards", "last_result", "publicity_ends_on", "revocation_reason",
           "revoked_on", "regrade_from", "valid_until", "certificate_no", "validity_ended_on")
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


@dataclass(frozen=True, slots=True)
class EventChoice:
    """One event of the enterprise's state, judged for the acting actor on the enterprise as it stands: available
    (fireable now, once the fields it `needs` are given) or not, and why not in a short Chinese sentence."""

    event: str
    label: str
    available: bool
    needs: list[str]  # the fields it requires, given as its data when it is fired
    refused_by: str | None  # via | role | scope | guard (the first that refuses); None when available
    reason: str | None  # why not; for an available event that needs fields, which ones


@dataclass(frozen=True, slots=True)
class EventJudgement:
    """Every event of an enterprise's state judged for one actor (or, with none, by the guards alone)."""

    judged_for: str | None  # the actor's name; None: no actor, the guards alone were judged
    judgement: str  # what was judged, in words
    events: list[EventChoice]

    @property
    def available(self) -> list[str]:
        return [c.event for c in self.events if c.available]


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
        validity_ended_on=row.get("validity_ended_on"),  # (absent from a trail recorded before it was tracked)
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
        changes.update(valid_until=data["valid_until"], certificate_no=data["certificate_no"], validity_ended_on=None)
    elif (outcome.event == Event.EXPIRE or outcome.dest == State.EXPIRED) and row.get("validity_ended_on") is None:
        # the first day without a valid grade: recorded by expire, whatever the case is doing, or by a case that
        # ends after the validity's last day before the sweep recorded it
        changes["validity_ended_on"] = row["valid_until"] + timedelta(days=1)
    return {k: v for k, v in changes.items() if row.get(k) != v}


def _check_request(ctx: Context, req: FireRequest, via_service: bool) -> dict[str, Any]:
    """Role, reason and data: what can be judged before reading the enterprise."""
    actor = ctx.actor()
    spec = ctx.rules.machine.event(req.event)
    if spec.via and not via_service:
        raise Forbidden(f"'{req.event}' ({spec.label}) is recorded by `{spec.via}`, which derives its data; "
                        "it is not fired by hand", code="not_by_hand", field="event", value=req.event)
    refuse_read_only(actor, ctx.rules, f"fire '{req.event}'")
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
        raise unknown_enterprise(code)
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
                raise unknown_enterprise(req.credit_code)
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


def judge_events(ctx: Context, row: Mapping[str, Any], now: datetime) -> EventJudgement:
    """Each event that has a transition from the enterprise's state, judged for the acting actor at `now`: its
    use case (an event recorded `via` a command is not fired by hand), the actor's role, their scope, then the
    guards on the enterprise as it stands (a guard that reads the event's data waits for it: such an event is
    available, "needs fields X"). Without an actor only the use case and the guards are judged, and it says so.
    `row` is the enterprise's row, or its fields replayed from the audit trail."""
    actor = ctx.actor() if ctx.actor_name else None
    snap = snapshot(row)
    choices = [_choice(ctx, actor, row, snap, event, now) for event in ctx.rules.machine.allowed_events(row["state"])]
    if actor is None:
        return EventJudgement(None, "未指定操作人：只判断了守卫条件，未判断角色与管辖范围", choices)
    role = ctx.rules.lifecycle.roles.get(actor.role)
    return EventJudgement(actor.name, f"按操作人 {actor.name}（{role.label if role else actor.role}）的角色、"
                                      "管辖范围与守卫条件判断", choices)


def _choice(ctx: Context, actor: Actor | None, row: Mapping[str, Any], snap: EnterpriseSnapshot, event: str,
            now: datetime) -> EventChoice:
    lifecycle = ctx.rules.lifecycle
    spec = ctx.rules.machine.event(event)
    needs = list(spec.requires)

    def refused(by: str, why: str) -> EventChoice:
        return EventChoice(event, spec.label, False, needs, by, why)

    if spec.via:
        return refused("via", f"由 `{spec.via}` 录入（其数据由该命令推导），不能直接触发")
    if actor is not None and actor.role not in spec.roles:
        role = lifecycle.roles.get(actor.role)
        allowed = "、".join(lifecycle.roles[r].label for r in spec.roles if r in lifecycle.roles)
        return refused("role", f"角色不允许：{role.label if role else actor.role}不能{spec.label}（可由{allowed}发起）")
    if actor is not None:
        try:
            scope_check(actor, ctx.rules, row["district"], row["credit_code"], f"record '{event}' there")
        except (Forbidden, NotFound) as exc:
            return refused("scope", _out_of_scope(ctx, actor, row, exc.code))
    failures = ctx.rules.machine.judge(snap, event, now)
    if failures:
        return refused("guard", "守卫条件不满足：" + "；".join(f"{guard}：{why}" for guard, why in failures))
    fields = "、".join(f"{f}（{lifecycle.fields[f].label}）" for f in needs)
    return EventChoice(event, spec.label, True, needs, None, f"需填写字段：{fields}" if needs else None)


def _out_of_scope(ctx: Context, actor: Actor, row: Mapping[str, Any], code: str) -> str:
    if code == "read_only":
        return f"只读权限：{actor.name}不能发起事件"
    if actor.district:
        return (f"不在管辖范围：{actor.name}只管辖{ctx.rules.district_name(actor.district)}，"
                f"该企业属{ctx.rules.district_name(row['district'])}")
    return f"不在管辖范围：{actor.name}只代表企业{actor.enterprise_code}"


def fire_event(ctx: Context, credit_code: str, event: str, *, reason: str, data: Mapping[str, Any] | None = None,
               expected_version: int | None = None, via_service: bool = False) -> Fired:
    """Fire one event on one enterprise; raise the refusal (nothing is written) or return what moved."""
    req = FireRequest(credit_code, event, reason, data or {}, expected_version)
    return fire_many(ctx, [req], strict=True, via_service=via_service).fired[0]
