"""Reading enterprises: the list, one enterprise now or as it stood at a past instant (rebuilt from
its audit trail), and its timeline."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, or_, select

from safegrade.audit import trail
from safegrade.domain.creditcode import normalize
from safegrade.errors import InvalidInput, NotFound
from safegrade.models import TRACKED_FIELDS, Enterprise, Finding, table
from safegrade.services import asof
from safegrade.services.context import Context, district_code
from safegrade.services.lifecycle import EventChoice, judge_events
from safegrade.services.scope import READ_ENTERPRISES, Scope, unknown_enterprise
from states import grade

ENTERPRISE = table(Enterprise)
FINDING = table(Finding)


@dataclass(frozen=True, slots=True)
class EnterpriseView:
    """An enterprise as listed: its tracked fields (models.TRACKED_FIELDS, the same order), state and version,
    the rules' labels of its state, district, sector and revocation reason, and its grade beside the state."""

    credit_code: str
    name: str
    district: str
    sector: str
    in_gongmao: bool
    level: str
    certificate_no: str
    graded_on: date
    valid_until: date
    address: str
    contact: str
    phone: str
    remarks: str
    open_findings: int
    open_major_hazards: int
    last_result: str | None
    publicity_ends_on: date | None
    revocation_reason: str | None
    revoked_on: date | None
    regrade_from: date | None
    validity_ended_on: date | None
    flags: list[str]
    state: str
    version: int
    state_label: str
    district_name: str
    sector_label: str
    revocation_reason_label: str | None
    grade: str  # valid | expired | revoked | excluded, beside the state (states/grade.py), on the day read
    grade_label: str


@dataclass(frozen=True, slots=True)
class EnterpriseNow(EnterpriseView):
    """One enterprise now: the events the acting actor could fire now (`allowed_events`; `events` judges every
    event of its state, with why not), and its findings past their deadline."""

    allowed_events: list[str]
    overdue_findings: int
    earliest_overdue_due_on: date | None
    judged_for: str | None  # the actor the events were judged for; None: the guards alone
    judgement: str
    events: list[EventChoice]


@dataclass(frozen=True, slots=True)
class EnterpriseThen(EnterpriseView):
    """One enterprise as it stood at `as_of` (ISO text of the instant asked), rebuilt from its audit trail, with
    the events the acting actor could have fired then."""

    as_of: str
    allowed_events: list[str]
    judged_for: str | None
    judgement: str
    events: list[EventChoice]


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One audit event of an enterprise, with the rules' labels; `at` in the deployment's time zone."""

    seq: int
    at: str
    event: str
    event_label: str
    from_state: str | None
    from_label: str
    to_state: str
    to_label: str
    actor: str
    role: str
    source: str
    reason: str
    payload: dict[str, Any]  # the event's recorded data, as stored
    hash: str


def _public(ctx: Context, fields: dict[str, Any], day: date | None = None) -> dict[str, Any]:
    """The fields of an EnterpriseView, in its order; the grade as of `day` (default: today)."""
    out = {k: fields.get(k) for k in ("credit_code", "name", *TRACKED_FIELDS[2:], "state", "version")}
    out["state_label"] = ctx.rules.state_label(fields["state"])
    out["district_name"] = ctx.rules.district_name(fields["district"])
    sector = ctx.rules.sectors.get(fields["sector"])
    out["sector_label"] = sector.label if sector else fields["sector"]
    reason = fields.get("revocation_reason")
    out["revocation_reason_label"] = ctx.rules.revocation_reasons.get(reason, reason) if reason else None
    out["grade"] = held = grade(fields["state"], fields.get("validity_ended_on"), fields.get("valid_until"),
                                day or ctx.now().date())
    out["grade_label"] = ctx.rules.lifecycle.grade_label(held)
    return out


@dataclass(frozen=True, slots=True)
class EnterprisePage:
    """One page of the enterprise list (ordered by district, then credit code) and the cursor of the next page,
    to be handed back as `after`; `next` is None on the last page."""

    items: list[EnterpriseView]
    next: str | None


# a cursor is "<district code>:<credit code>" of the last enterprise of a page
_CURSOR = re.compile(r"^(?P<district>[0-9A-Za-z]{1,12}):(?P<code>[0-9A-Za-z]{1,32})$")
_FLAG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _cursor(after: str) -> tuple[str, str]:
    found = _CURSOR.match(after)
    if found is None:
        raise InvalidInput(f"{{after}}: {after!r} is not a cursor of this list; hand back a page's `next` as it is",
                           code="invalid_cursor", field="after", value=after)
    return found["district"], found["code"].upper()


def _filtered(ctx: Context, then: asof.AsOf, scope: Scope, *, state: str | None, district: str | None,
              flag: str | None, overdue: bool, q: str | None, after: str | None) -> Select[Any]:
    """The list's query as of `then`, in the reader's scope, filtered in SQL and ordered by district, then credit
    code."""
    if state is not None and state not in ctx.rules.lifecycle.states:
        raise InvalidInput(f"{{state}}: unknown state {state!r}; known: {', '.join(ctx.rules.lifecycle.states)}",
                           code="unknown_state", field="state", value=state, allowed=list(ctx.rules.lifecycle.states))
    if flag is not None and not _FLAG.match(flag):
        raise InvalidInput(f"{{flag}}: {flag!r} is not a flag name (lower-case letters, digits and _)",
                           code="invalid_flag", field="flag", value=flag)
    code = district_code(ctx.rules, district)
    e, f = then.table(ENTERPRISE), then.table(FINDING)
    query = select(e).order_by(e.c.district, e.c.credit_code)
    in_scope = scope.where(e)
    if in_scope is not None:
        query = query.where(in_scope)
    if overdue:
        query = query.where(e.c.id.in_(select(f.c.enterprise_id).where(f.c.status != "verified",
                                                                        f.c.due_on < then.day)))
    if state is not None:
        query = query.where(e.c.state == state)
    if code is not None:
        query = query.where(e.c.district == code)
    if flag is not None:  # flags are a JSON list of names: the quoted name inside its text
        query = query.where(cast(e.c.flags, String).contains(f'"{flag}"', autoescape=True))
    if q is not None and q.strip():
        text = q.strip()
        query = query.where(or_(e.c.name.contains(text, autoescape=True),
                                e.c.credit_code.startswith(text.upper(), autoescape=True)))
    if after is not None:
        last_district, last_code = _cursor(after)
        query = query.where(or_(e.c.district > last_district,
                                and_(e.c.district == last_district, e.c.credit_code > last_code)))
    return query


def list_enterprises(ctx: Context, *, state: str | None = None, district: str | None = None,
                     flag: str | None = None, limit: int | None = None, overdue: bool = False,
                     q: str | None = None, after: str | None = None) -> list[EnterpriseView]:
    """Enterprises as they stood at the context's now, filtered; `overdue` keeps those with a finding past its
    deadline and not verified then; `q` a part of the name or the start of the credit code; `after` the cursor
    of a page (enterprise_page)."""
    return enterprise_page(ctx, state=state, district=district, flag=flag, limit=limit, overdue=overdue, q=q,
                           after=after).items


def enterprise_page(ctx: Context, *, state: str | None = None, district: str | None = None,
                    flag: str | None = None, limit: int | None = None, overdue: bool = False,
                    q: str | None = None, after: str | None = None) -> EnterprisePage:
    """`list_enterprises` a page at a time (keyset pagination): at most `limit` enterprises after the cursor
    `after`, and the cursor of the next page."""
    if limit is not None and limit < 1:
        raise InvalidInput(f"{{limit}}: {limit} is not a page size; give 1 or more", code="invalid_limit",
                           field="limit", value=limit)
    scope = ctx.reader(READ_ENTERPRISES)
    with ctx.store.read() as session:
        then = asof.as_of(ctx, session)
        query = _filtered(ctx, then, scope, state=state, district=district, flag=flag, overdue=overdue, q=q,
                          after=after)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = [dict(r) for r in session.execute(query).mappings()]
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    items = [EnterpriseView(**_public(ctx, r, then.day)) for r in rows]
    return EnterprisePage(items, f"{rows[-1]['district']}:{rows[-1]['credit_code']}" if more else None)


def _row(session: Any, code: str, scope: Scope, enterprise: Any = ENTERPRISE) -> dict[str, Any]:
    """The enterprise's row, if it is in the reader's scope; else the refusal of a missing one."""
    query = scope.filter(select(enterprise).where(enterprise.c.credit_code == normalize(code)), enterprise)
    found = session.execute(query).mappings().first()
    if found is None:
        raise unknown_enterprise(code)
    return dict(found)


def show_enterprise(ctx: Context, code: str, *, as_of: datetime | None = None) -> EnterpriseNow | EnterpriseThen:
    """The enterprise at the context's now (from its rows as they stood then) or at an explicit `as_of`
    (replayed from its audit trail), with the events of its state judged for the acting actor
    (services.lifecycle.judge_events)."""
    scope = ctx.reader(READ_ENTERPRISES)
    with ctx.store.read() as session:
        if as_of is None:
            then = asof.as_of(ctx, session)
            e, f = then.table(ENTERPRISE), then.table(FINDING)
            row = _row(session, code, scope, e)
            late = session.execute(
                select(func.count(), func.min(f.c.due_on)).where(
                    f.c.enterprise_id == row["id"], f.c.status != "verified", f.c.due_on < then.day)
            ).one()
            judged = judge_events(ctx, row, then.at)
            return EnterpriseNow(**_public(ctx, row, then.day), allowed_events=judged.available,
                                 overdue_findings=late[0], earliest_overdue_due_on=late[1],
                                 judged_for=judged.judged_for, judgement=judged.judgement, events=judged.events)
        row = _row(session, code, scope)
        events = trail.chain(session, row["id"], row["credit_code"], until=as_of)
    fields = trail.replay(events)
    if fields is None:
        # refused as a database that recorded nothing later would refuse it: a read as of an instant says
        # nothing of what came after it
        raise NotFound(f"no enterprise with credit code {row['credit_code']}", code="unknown_enterprise",
                       field="credit_code", value=row["credit_code"], hint="list_enterprises")
    then_at = as_of.astimezone(ctx.settings.zone)
    fields_then = _public(ctx, trail.decode(fields), then_at.date())
    judged = judge_events(ctx, fields_then, then_at)
    return EnterpriseThen(**fields_then, as_of=as_of.isoformat(), allowed_events=judged.available,
                          judged_for=judged.judged_for, judgement=judged.judgement, events=judged.events)


def timeline(ctx: Context, code: str) -> list[TimelineEvent]:
    """The audit events of one enterprise recorded up to the context's now, oldest first, with Chinese
    labels; an enterprise registered later is not known then, nor one outside the reader's scope."""
    scope = ctx.reader(READ_ENTERPRISES)
    with ctx.store.read() as session:
        then = asof.as_of(ctx, session)
        e = then.table(ENTERPRISE)
        found = session.execute(scope.filter(select(e.c.id, e.c.credit_code)
                                             .where(e.c.credit_code == normalize(code)), e)).first()
        if found is None:
            raise unknown_enterprise(code)
        events = trail.chain(session, found[0], found[1], until=then.at)
    label = ctx.rules.state_label

    def local(utc: str) -> str:
        return datetime.fromisoformat(utc).astimezone(ctx.settings.zone).isoformat()

    return [
        TimelineEvent(seq=e.seq, at=local(e.occurred_at), event=e.event,
                      event_label=ctx.rules.lifecycle.event_label(e.event),
                      from_state=e.from_state, from_label=label(e.from_state) if e.from_state else "",
                      to_state=e.to_state, to_label=label(e.to_state), actor=e.actor, role=e.role,
                      source=e.source, reason=e.reason, payload=json.loads(e.payload), hash=e.hash)
        for e in events
    ]
