"""Who reads what: one policy for reads and writes, shared by the CLI, the API and the flows.

A read takes a read action of the rules (lifecycle.yaml `actions:`: read_enterprises, read_campaigns,
read_reports, read_district_reports, read_actors, plan_deadlines, read_runs, read_audit, export_ledger,
reconcile_ledger); the role of the reader must be listed for it (else Forbidden, code role_forbidden), and the
role's scope says which rows it sees:

- `all` (the bureau, the system actor of the flows) and `none` (the reviewer: read-only, everywhere) see
  everything;
- `district` (a district officer) sees the enterprises of their district, and what belongs to them;
- `enterprise` (an enterprise account) sees its own enterprise only.

The operator's console (the CLI without --actor: whoever runs it can open the database) reads everything; a
read at the API or the pages always has an actor.

The filter is written in SQL: `scope.where(e)` on the enterprise table (or its as-of subquery, services/asof.py)
joined into the read's query. An object outside the scope answers NotFound exactly as a missing one does (the
same code and message): its existence is not disclosed. The same holds for writes (context.scope_check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, FromClause, false, select

from safegrade.errors import NotFound, Unauthenticated

if TYPE_CHECKING:
    from safegrade.services.context import Context

# the sources at which a read without an actor is the operator's (reading everything)
CONSOLE_SOURCES = ("cli", "flow")
# the read actions of lifecycle.yaml `actions:` (each read names the one it takes)
READ_ENTERPRISES = "read_enterprises"  # enterprises, their timelines, findings, deadlines, reminders
READ_CAMPAIGNS = "read_campaigns"  # campaign list and status
READ_REPORTS = "read_reports"  # the whole-city circular
READ_DISTRICT_REPORTS = "read_district_reports"  # the loop report, the district report, the oversight flags
READ_ACTORS = "read_actors"
PLAN_DEADLINES = "plan_deadlines"  # what the sweep would do between two days
READ_RUNS = "read_runs"  # the scheduled jobs' runs
READ_AUDIT = "read_audit"  # audit export and verify
EXPORT_LEDGER = "export_ledger"
RECONCILE_LEDGER = "reconcile_ledger"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a reader sees: everything, one district, or one enterprise."""

    kind: Literal["all", "district", "enterprise"]
    district: str | None = None  # district code (kind == "district")
    enterprise_code: str | None = None  # credit code (kind == "enterprise")
    actor: str | None = None  # the reader; None = the operator's console without --actor

    @property
    def everything(self) -> bool:
        return self.kind == "all"

    def where(self, enterprise: FromClause) -> ColumnElement[bool] | None:
        """The condition on a table or alias with `district` and `credit_code` columns (an enterprise table or
        its as-of subquery) that keeps the rows in scope; None when everything is."""
        if self.kind == "all":
            return None
        if self.kind == "district":
            return enterprise.c.district == self.district if self.district else false()
        return enterprise.c.credit_code == self.enterprise_code if self.enterprise_code else false()

    def filter(self, query: Any, enterprise: FromClause) -> Any:
        """`query` with `where(enterprise)` added (unchanged when everything is in scope)."""
        condition = self.where(enterprise)
        return query if condition is None else query.where(condition)

    def sees(self, district: str | None, credit_code: str) -> bool:
        """Whether an enterprise of `district` with `credit_code` is in scope."""
        if self.kind == "all":
            return True
        if self.kind == "district":
            return self.district is not None and district == self.district
        return self.enterprise_code is not None and credit_code == self.enterprise_code

    def sees_district(self, district: str | None) -> bool:
        """Whether the whole of `district` (its rows, its ledger, its deadlines) is in scope: everything, or the
        district officer's own; never for an enterprise."""
        return self.kind == "all" or (self.kind == "district" and self.district is not None
                                      and district == self.district)

    def where_owned(self, district: Any, enterprise_id: Any, enterprise: FromClause) -> ColumnElement[bool] | None:
        """The condition on rows that belong to a district and maybe to an enterprise (a deadline, a reminder:
        `district` and `enterprise_id` columns) keeping those in scope: a district officer's district, an
        enterprise's own rows (looked up by its credit code in `enterprise`); None when everything is."""
        if self.kind == "all":
            return None
        if self.kind == "district":
            return district == self.district if self.district else false()
        if not self.enterprise_code:
            return false()
        return enterprise_id.in_(  # type: ignore[no-any-return]
            select(enterprise.c.id).where(enterprise.c.credit_code == self.enterprise_code))

    def where_district(self, column: Any) -> ColumnElement[bool] | None:
        """The condition on a district column (rows that belong to a district, not to an enterprise: a ledger
        deadline, a district's reminder) keeping those of the scope; None when everything is."""
        if self.kind == "all":
            return None
        if self.kind == "district" and self.district:
            return column == self.district  # type: ignore[no-any-return]
        return false()


EVERYTHING = Scope("all")
NOTHING = Scope("district")  # no district: nothing in scope


def scope_of(rules: Any, actor: Any) -> Scope:
    """The scope of an actor's role (lifecycle.yaml `roles:`): all and none (read-only) see everything."""
    role = rules.lifecycle.roles.get(actor.role)
    kind = role.scope if role is not None else "none"
    if kind == "district":
        return Scope("district", district=actor.district, actor=actor.name)
    if kind == "enterprise":
        return Scope("enterprise", enterprise_code=actor.enterprise_code, actor=actor.name)
    return Scope("all", actor=actor.name)


def read_scope(ctx: Context, action: str) -> Scope:
    """What the context's reader sees when taking the read `action`: the operator's console without an actor
    sees everything; an actor whose role the rules do not list for `action` is refused (Forbidden,
    role_forbidden); otherwise the scope of their role."""
    if not ctx.actor_name:
        if ctx.source in CONSOLE_SOURCES:
            return EVERYTHING
        raise Unauthenticated("sign in first: this read needs a signed-in account", code="not_signed_in")
    actor = ctx.require(action, action.replace("_", " "), read=True)
    return scope_of(ctx.rules, actor)


def unknown_enterprise(code: str) -> NotFound:
    """The refusal of an enterprise that is not there, or not in the reader's scope (the same)."""
    return NotFound(f"no enterprise with credit code {code}", code="unknown_enterprise", field="credit_code",
                    value=code, hint="list_enterprises")


def unknown_finding(finding_id: int) -> NotFound:
    return NotFound(f"no finding #{finding_id}", code="unknown_finding", field="finding_id", value=finding_id,
                    hint="list_findings")


def unknown_reminder(reminder_id: int) -> NotFound:
    return NotFound(f"no reminder #{reminder_id}", code="unknown_reminder", field="reminder_id",
                    value=reminder_id, hint="list_reminders")


__all__ = ["EVERYTHING", "NOTHING", "Scope", "read_scope", "scope_of", "unknown_enterprise", "unknown_finding",
           "unknown_reminder"]
