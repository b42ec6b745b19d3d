"""Reading enterprises: the list, one enterprise now or as it stood at a past instant (rebuilt from
its audit trail), and its timeline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from safegrade.audit import trail
from safegrade.domain.creditcode import normalize
from safegrade.errors import InvalidInput, NotFound
from safegrade.models import TRACKED_FIELDS, Enterprise, Finding, table
from safegrade.services.context import Context

ENTERPRISE = table(Enterprise)
FINDING = table(Finding)


def _public(ctx: Context, fields: dict[str, Any]) -> dict[str, Any]:
    out = {k: fields.get(k) for k in ("credit_code", "name", *TRACKED_FIELDS[2:], "state", "version")}
    out["state_label"] = ctx.rules.state_label(fields["state"])
    out["district_name"] = ctx.rules.district_name(fields["district"])
    sector = ctx.rules.sectors.get(fields["sector"])
    out["sector_label"] = sector.label if sector else fields["sector"]
    reason = fields.get("revocation_reason")
    out["revocation_reason_label"] = ctx.rules.revocation_reasons.get(reason, reason) if reason else None
    return out


def list_enterprises(ctx: Context, *, state: str | None = None, district: str | None = None,
                     flag: str | None = None, limit: int | None = None, overdue: bool = False) -> list[dict[str, Any]]:
    """Enterprises, filtered; `overdue` keeps those with a finding past its deadline and not verified."""
    query = select(ENTERPRISE).order_by(ENTERPRISE.c.district, ENTERPRISE.c.credit_code)
    if overdue:
        late = select(FINDING.c.enterprise_id).where(FINDING.c.status != "verified",
                                                     FINDING.c.due_on < ctx.now().date())
        query = query.where(ENTERPRISE.c.id.in_(late))
    if state is not None:
        if state not in ctx.rules.lifecycle.states:
            raise InvalidInput(f"{{state}}: unknown state {state!r}; known: {', '.join(ctx.rules.lifecycle.states)}",
                               code="unknown_state", field="state", value=state,
                               allowed=list(ctx.rules.lifecycle.states))
        query = query.where(ENTERPRISE.c.state == state)
    if district is not None:
        found = ctx.rules.district(district)
        if found is None:
            raise InvalidInput(f"{{district}}: unknown district {district!r}; known: "
                               f"{', '.join(d.name for d in ctx.rules.districts.values())}",
                               code="unknown_district", field="district", value=district,
                               allowed=[d.name for d in ctx.rules.districts.values()])
        query = query.where(ENTERPRISE.c.district == found.code)
    with ctx.store.read() as session:
        rows = [dict(r) for r in session.execute(query).mappings()]
    if flag is not None:
        rows = [r for r in rows if flag in (r["flags"] or [])]
    return [_public(ctx, r) for r in (rows[:limit] if limit else rows)]


def _row(ctx: Context, session: Any, code: str) -> dict[str, Any]:
    row = session.execute(select(ENTERPRISE).where(ENTERPRISE.c.credit_code == normalize(code))).mappings().first()
    if row is None:
        raise NotFound(f"no enterprise with credit code {code}", code="unknown_enterprise", field="credit_code",
                       value=code, hint="list_enterprises")
    return dict(row)


def show_enterprise(ctx: Context, code: str, *, as_of: datetime | None = None) -> dict[str, Any]:
    """The enterprise now (from its row) or at `as_of` (replayed from its audit trail)."""
    with ctx.store.read() as session:
        row = _row(ctx, session, code)
        if as_of is None:
            out = _public(ctx, row)
            out["allowed_events"] = list(ctx.rules.machine.allowed_events(row["state"]))
            today = ctx.now().date()
            late = session.execute(
                select(func.count(), func.min(FINDING.c.due_on)).where(
                    FINDING.c.enterprise_id == row["id"], FINDING.c.status != "verified", FINDING.c.due_on < today)
            ).one()
            out["overdue_findings"], out["earliest_overdue_due_on"] = late[0], late[1]
            return out
        events = trail.chain(session, row["id"], row["credit_code"], until=as_of)
    fields = trail.replay(events)
    if fields is None:
        raise NotFound(f"{row['credit_code']} was not yet registered at {as_of.isoformat()} "
                       "(its first audit event is later)", code="not_yet_registered", field="as_of",
                       value=as_of.isoformat())
    out = _public(ctx, trail.decode(fields))
    out["as_of"] = as_of.isoformat()
    out["allowed_events"] = list(ctx.rules.machine.allowed_events(out["state"]))
    return out


def timeline(ctx: Context, code: str) -> list[dict[str, Any]]:
    """Every audit event of one enterprise, oldest first, with Chinese labels."""
    with ctx.store.read() as session:
        row = _row(ctx, session, code)
        events = trail.chain(session, row["id"], row["credit_code"])
    label = ctx.rules.state_label

    def local(utc: str) -> str:
        return datetime.fromisoformat(utc).astimezone(ctx.settings.zone).isoformat()

    return [
        {"seq": e.seq, "at": local(e.occurred_at), "event": e.event,
         "event_label": ctx.rules.lifecycle.event_label(e.event),
         "from_state": e.from_state, "from_label": label(e.from_state) if e.from_state else "",
         "to_state": e.to_state, "to_label": label(e.to_state), "actor": e.actor, "role": e.role,
         "source": e.source, "reason": e.reason, "payload": json.loads(e.payload), "hash": e.hash}
        for e in events
    ]
