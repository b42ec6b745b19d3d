"""One notion of "as of": every read answers for the (simulated) now of its context, with the rows as they
stood then and the events recorded up to then.

Where a read's figures come from:
- the tables whose rows change (enterprise, finding, campaign_member, deadline, reminder) are read through
  their versions (`<table>_version`, appended by the database on every insert and update, each dated by
  the row's `updated_at`): the version of each row current at the instant, and no row created after it.
  The enterprise's versions are the projection of its audit chain (`audit verify` checks that replaying the
  chain gives the row; the migration that introduced versions rebuilt them from the chains);
- the tables whose rows are only ever inserted are read up to the instant by their own date: campaign
  (created_at), assessment (recorded_at) and its deductions, evidence (submitted_at), actor (created_at),
  job_run (as_of: the slot it covered), audit_event (occurred_at), audit_checkpoint (taken_at); the rows
  that belong to one of those (deduction to its assessment, audit_checkpoint_head to its checkpoint) are read
  with it.

When nothing was recorded after the instant (the common case: reading now), the tables are read as they
are, so a read of today costs what it always did. A read of a past instant costs a scan of the versions.

Use: `then = as_of(ctx, session)`, then write the read's query against `then.table(X)` instead of `X`
(the same columns, by the same names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, FromClause, Table, exists, func, or_, select
from sqlalchemy.orm import Session

from safegrade.models import (
    VERSION_TABLES,
    Actor,
    Assessment,
    AuditCheckpoint,
    AuditCheckpointHead,
    AuditEvent,
    Campaign,
    Deduction,
    Evidence,
    JobRun,
    table,
)
from safegrade.services.context import Context

ASSESSMENT, DEDUCTION = table(Assessment), table(Deduction)
CHECKPOINT, CHECKPOINT_HEAD = table(AuditCheckpoint), table(AuditCheckpointHead)
# the tables only ever inserted into, with the column that dates each row
DATED: dict[str, Column[Any]] = {
    t.name: t.c[c] for t, c in (
        (table(Campaign), "created_at"), (ASSESSMENT, "recorded_at"), (table(Evidence), "submitted_at"),
        (table(Actor), "created_at"), (table(JobRun), "as_of"), (table(AuditEvent), "occurred_at"),
        (CHECKPOINT, "taken_at"))
}
# the rows inserted with a dated row and belonging to it: (the column naming it, its dated table)
OWNED: dict[str, tuple[Column[Any], Table]] = {
    DEDUCTION.name: (DEDUCTION.c.assessment_id, ASSESSMENT),
    CHECKPOINT_HEAD.name: (CHECKPOINT_HEAD.c.checkpoint_id, CHECKPOINT),
}
# what moves when anything is recorded: a row dated after the instant in any of these means the past
_WATCHED: tuple[Column[Any], ...] = (*(v.c.updated_at for v in VERSION_TABLES.values()), *DATED.values())


@dataclass(frozen=True)
class AsOf:
    """The instant a read answers for, and how to read each table as it stood then."""

    at: datetime  # aware, in the deployment's time zone
    past: bool  # something was recorded after `at`: the tables are read through their versions and dates
    _cache: dict[str, FromClause] = field(default_factory=dict, repr=False, compare=False)

    @property
    def day(self) -> date:
        return self.at.date()

    def table(self, t: Table) -> FromClause:
        """`t` as it stood at `at`: the same columns, by the same names."""
        if not self.past:
            return t
        if t.name not in self._cache:
            self._cache[t.name] = self._build(t)
        return self._cache[t.name]

    def _build(self, t: Table) -> FromClause:
        versions = VERSION_TABLES.get(t.name)
        if versions is not None:
            latest = select(func.max(versions.c.version_id)).where(versions.c.updated_at <= self.at) \
                .group_by(versions.c.id)
            return (select(*(versions.c[c.name].label(c.name) for c in t.columns))
                    .where(versions.c.version_id.in_(latest)).subquery(f"{t.name}_asof"))
        dated = DATED.get(t.name)
        if dated is not None:
            return select(t).where(dated <= self.at).subquery(f"{t.name}_asof")
        owned = OWNED.get(t.name)
        if owned is not None:
            owner_id, owner = owned
            recorded = select(owner.c.id).where(DATED[owner.name] <= self.at)
            return select(t).where(owner_id.in_(recorded)).subquery(f"{t.name}_asof")
        raise ValueError(f"table {t.name!r} has no versions and no date: it cannot be read as of an instant")

    def until(self, column: Column[Any]) -> Any:
        """A condition keeping what happened up to `at` (for a dated column of a table read as it is)."""
        return column <= self.at


def recorded_after(session: Session, at: datetime) -> bool:
    """Whether anything was recorded after `at`: one statement, an indexed probe per dated column (one round
    trip to the database, not one per column: a read over HTTP pays it on every request)."""
    return bool(session.execute(select(or_(*(exists().where(column > at) for column in _WATCHED)))).scalar())


def as_of(ctx: Context, session: Session) -> AsOf:
    """The read's instant (the context's now) and whether the tables must be read as they stood then."""
    at = ctx.now()
    return AsOf(at=at, past=recorded_after(session, at))
