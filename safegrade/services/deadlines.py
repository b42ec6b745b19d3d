"""Deadlines as data: every use case that creates something due sets its deadline here, in its own
transaction, and says when it is met; the sweep (safegrade.services.sweep) takes the reminders and
escalations as their days come.

Kinds and subjects (one row per pair):
  finding / major_finding   finding:<id>            set by `assess import`; paused while evidence awaits checking,
                                                    open again on rejection, met on verification
  campaign_window           campaign:<id>:<district> set by `campaign open`; met when the district has assessed all
  ledger_submission         ledger:<id>:<district>   set by `campaign open --ledger-due`;
                                                    met by `ledger reconcile --campaign`
  interview                 interview:<enterprise>   set on entering 约谈; met by hold_interview
  rectification_followup    rectification_followup:<enterprise>
                                                    set when 约谈 is held (or a revocation withdrawn) with findings
                                                    overdue; met once none is left (the sweep judges it) or by
                                                    close; paused while the last ones await verification
  publicity                 publicity:<enterprise>   set on entering 撤销公示; met by revoke, cancelled by withdrawal
  validity                  validity:<enterprise>    set by the ledger, renew and regrade; escalated by expire
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safegrade.domain import timetable
from safegrade.domain.workday import add_working_days
from safegrade.errors import InvalidInput
from safegrade.models import Deadline, Enterprise, Finding, Reminder, table
from safegrade.services.asof import as_of
from safegrade.services.context import Context
from safegrade.services.scope import READ_ENTERPRISES
from states.names import Event, State

DEADLINE, REMINDER, FINDING, ENTERPRISE = table(Deadline), table(Reminder), table(Finding), table(Enterprise)
_working_days_after = lru_cache(maxsize=1024)(add_working_days)  # a batch's events share their day
OPEN, PAUSED, MET, CANCELLED, LAPSED = "open", "paused", "met", "cancelled", "lapsed"
STATUS_LABELS = {OPEN: "进行中", PAUSED: "待验收（暂停提醒）", MET: "已完成", CANCELLED: "已撤销",
                 LAPSED: "已逾期（提醒已发完）"}
LIVE = (OPEN, PAUSED, LAPSED)  # a deadline that may still be met
_CHUNK = 500


@dataclass(frozen=True)
class DeadlineSpec:
    """A deadline a use case sets: what is due, by when, whose it is."""

    kind: str
    subject: str
    due_on: date
    district: str
    enterprise_id: int | None = None
    campaign_id: int | None = None
    finding_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    """A deadline as listed: its stored columns (models.Deadline, the same order), the rules' labels, and the
    days left until it is due (negative: past due)."""

    id: int
    kind: str
    subject: str
    enterprise_id: int | None
    campaign_id: int | None
    finding_id: int | None
    district: str
    due_on: date
    status: str
    done_through: date
    next_on: date | None
    escalation: str | None
    escalated_on: date | None
    escalation_note: str | None
    closed_note: str | None
    created_at: datetime
    updated_at: datetime
    label: str
    status_label: str
    district_name: str
    days_left: int


def finding_subject(finding_id: int) -> str:
    return f"finding:{finding_id}"


def campaign_subject(campaign_id: int, district: str) -> str:
    return f"campaign:{campaign_id}:{district}"


def ledger_subject(campaign_id: int, district: str) -> str:
    return f"ledger:{campaign_id}:{district}"


def enterprise_subject(kind: str, enterprise_id: int) -> str:
    return f"{kind}:{enterprise_id}"


def dialect_insert(session: Session, target: Table) -> Any:
    """INSERT … that can say ON CONFLICT, in the session's dialect (SQLite and PostgreSQL both can)."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(target)


def set_deadlines(ctx: Context, session: Session, specs: Iterable[DeadlineSpec], *, new: bool = False) -> None:
    """Open deadlines, or move them to a new due date (their reminders start again, keyed by the new date):
    one INSERT … ON CONFLICT (kind, subject) DO UPDATE, no lookup. Setting one again with the same due
    date while it is live changes nothing. `new`: the subjects were created in this transaction, so a
    plain INSERT does."""
    specs = list({(s.kind, s.subject): s for s in specs}.values())
    if not specs:
        return
    now = ctx.now()
    watched_from = now.date() - timedelta(days=1)  # reminders dated before today are not sent late
    first_day: dict[tuple[str, date], date | None] = {}  # many deadlines share a kind and a due date
    rows = []
    for s in specs:
        key = (s.kind, s.due_on)
        if key not in first_day:
            first_day[key] = timetable.next_on(ctx.rules.deadlines.kind(s.kind), s.due_on, watched_from,
                                               escalated=False)
        rows.append({"kind": s.kind, "subject": s.subject, "district": s.district, "enterprise_id": s.enterprise_id,
                     "campaign_id": s.campaign_id, "finding_id": s.finding_id, "due_on": s.due_on, "status": OPEN,
                     "done_through": watched_from, "next_on": first_day[key], "created_at": now, "updated_at": now})
    if new:
        session.execute(DEADLINE.insert(), rows)
        return
    session.execute(_upsert(session.get_bind().dialect.name), rows)


@lru_cache(maxsize=4)
def _upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT (kind, subject) DO UPDATE when the due date moved or the deadline was closed;
    built once per dialect (building it costs more than running it)."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DEADLINE)
    fresh = stmt.excluded
    moved = {c: fresh[c] for c in ("due_on", "status", "done_through", "next_on", "updated_at")}
    return stmt.on_conflict_do_update(
        index_elements=["kind", "subject"],
        set_={**moved, "escalation": None, "escalated_on": None, "escalation_note": None, "closed_note": None},
        # (status compared one by one: an IN list cannot be bound in an executemany)
        where=(DEADLINE.c.due_on != fresh.due_on) | and_(*(DEADLINE.c.status != live for live in LIVE)))


def _close(session: Session, status: str, where: Any, note: str, ctx: Context) -> int:
    result = session.connection().execute(update(DEADLINE).where(where, DEADLINE.c.status.in_(LIVE)).values(
        status=status, next_on=None, closed_note=note, updated_at=ctx.now()))
    return int(result.rowcount or 0)


def cancel(ctx: Context, session: Session, kind: str | Sequence[str], subject: str, note: str) -> int:
    """It no longer applies (withdrawn, the enterprise left the state it was about)."""
    kinds = [kind] if isinstance(kind, str) else list(kind)
    return _close(session, CANCELLED, and_(DEADLINE.c.kind.in_(kinds), DEADLINE.c.subject == subject), note, ctx)


def cancel_enterprise(ctx: Context, session: Session, enterprise_id: int, note: str) -> int:
    """Everything still due of an enterprise that is revoked or excluded."""
    return _close(session, CANCELLED, DEADLINE.c.enterprise_id == enterprise_id, note, ctx)


FINDING_KINDS = ("finding", "major_finding")
FOLLOWUP = "rectification_followup"


def meet(ctx: Context, session: Session, kind: str | Sequence[str], subject: str, note: str) -> int:
    """The thing was done: no more reminders or escalation. A finding met (verified) wakes its enterprise's
    paused follow-up, which the sweep then judges again (met when no overdue finding is left)."""
    kinds = [kind] if isinstance(kind, str) else list(kind)
    met = _close(session, MET, and_(DEADLINE.c.kind.in_(kinds), DEADLINE.c.subject == subject), note, ctx)
    if set(kinds) & set(FINDING_KINDS):
        _resume(ctx, session, _followups_of(subject))
    return met


def pause(ctx: Context, session: Session, subject: str) -> None:
    """Evidence is in and awaits checking: the enterprise is not reminded or escalated meanwhile."""
    session.execute(update(DEADLINE).where(DEADLINE.c.kind.in_(FINDING_KINDS), DEADLINE.c.subject == subject,
                                           DEADLINE.c.status.in_((OPEN, LAPSED)))
                    .values(status=PAUSED, next_on=None, updated_at=ctx.now()))


def resume(ctx: Context, session: Session, subject: str) -> None:
    """The evidence was rejected: the deadline runs again, and what fell due while paused is due now; so does
    its enterprise's paused follow-up (the finding is overdue and open again)."""
    _resume(ctx, session, and_(DEADLINE.c.kind.in_(FINDING_KINDS), DEADLINE.c.subject == subject))
    _resume(ctx, session, _followups_of(subject))


def _followups_of(finding_subject: str) -> Any:
    """The follow-up deadline of the enterprise whose finding deadline has this subject."""
    owner = select(DEADLINE.c.enterprise_id).where(DEADLINE.c.kind.in_(FINDING_KINDS),
                                                   DEADLINE.c.subject == finding_subject).scalar_subquery()
    return and_(DEADLINE.c.kind == FOLLOWUP, DEADLINE.c.enterprise_id == owner)


def _resume(ctx: Context, session: Session, which: Any) -> None:
    for r in session.execute(select(DEADLINE).where(which, DEADLINE.c.status == PAUSED)).mappings():
        kind = ctx.rules.deadlines.kind(r["kind"])
        nxt = timetable.next_on(kind, r["due_on"], r["done_through"], escalated=r["escalation"] is not None)
        session.execute(update(DEADLINE).where(DEADLINE.c.id == r["id"]).values(
            status=OPEN if nxt else LAPSED, next_on=nxt, updated_at=ctx.now()))


# --- the lifecycle's deadlines, followed from every event fired (services.lifecycle.fire_in) ----------

@dataclass(frozen=True, slots=True)
class Move:
    """One event fired on an enterprise, as its deadlines follow it."""

    row: Mapping[str, Any]  # the enterprise's row after the event
    event: str
    source: str  # the state before
    dest: str  # the state after
    data: Mapping[str, Any]  # the event's data
    changes: Mapping[str, Any]  # the fields the event changed


def follow_lifecycle(ctx: Context, session: Session, moves: Sequence[Move]) -> None:
    """Set, meet or cancel the deadlines the events imply."""
    specs: list[DeadlineSpec] = []
    today = ctx.now().date()
    for move in moves:
        row, event, source, dest, data, changes = move.row, move.event, move.source, move.dest, move.data, move.changes
        eid, district = row["id"], row["district"]
        if source == State.INTERVIEW and dest != State.INTERVIEW:
            (meet if event == Event.HOLD_INTERVIEW else cancel)(
                ctx, session, "interview", enterprise_subject("interview", eid), f"{event} → {dest}")
        if source == State.REVOCATION_PENDING and dest != State.REVOCATION_PENDING:
            (meet if dest == State.REVOKED else cancel)(
                ctx, session, "publicity", enterprise_subject("publicity", eid), f"{event} → {dest}")
        if dest in ctx.rules.ended_states and source != dest:
            cancel_enterprise(ctx, session, eid, f"企业{ctx.rules.state_label(dest)}，不再提醒")
        if dest == State.INTERVIEW and source != State.INTERVIEW:
            due = data.get("interview_on") or _working_days_after(today, ctx.rules.deadlines.interview_working_days)
            specs.append(DeadlineSpec("interview", enterprise_subject("interview", eid), due, district, eid))
        if dest == State.REVOCATION_PENDING and source != State.REVOCATION_PENDING and row.get("publicity_ends_on"):
            specs.append(DeadlineSpec("publicity", enterprise_subject("publicity", eid), row["publicity_ends_on"],
                                      district, eid))
        if "valid_until" in changes and dest not in ctx.rules.ended_states:
            specs.append(validity_spec(row))
        specs.extend(_followup(ctx, session, move, today))
    set_deadlines(ctx, session, specs)


def _followup(ctx: Context, session: Session, move: Move, today: date) -> list[DeadlineSpec]:
    """The second step of escalation: back in 整改中 from 约谈 (the interview held) or from 撤销公示 (the revocation
    withdrawn) with findings past their due date and not verified, the enterprise has
    `rectification_followup_working_days` more from the interview's date (or today); leaving 整改中 by `close`
    meets the follow-up."""
    eid = move.row["id"]
    subject = enterprise_subject(FOLLOWUP, eid)
    if move.source == State.RECTIFYING and move.event == Event.CLOSE:
        meet(ctx, session, FOLLOWUP, subject, f"{move.event} → {move.dest}")
    if move.dest != State.RECTIFYING or move.source not in (State.INTERVIEW, State.REVOCATION_PENDING):
        return []
    since = move.data.get("held_on") or today
    overdue = session.execute(select(FINDING.c.id).where(
        FINDING.c.enterprise_id == eid, FINDING.c.status != "verified", FINDING.c.due_on < since).limit(1)).first()
    if overdue is None:
        return []
    due = _working_days_after(since, ctx.rules.deadlines.rectification_followup_working_days)
    return [DeadlineSpec(FOLLOWUP, subject, due, move.row["district"], eid)]


def validity_spec(row: Mapping[str, Any]) -> DeadlineSpec:
    return DeadlineSpec("validity", enterprise_subject("validity", row["id"]), row["valid_until"], row["district"],
                        row["id"])


# --- reading -----------------------------------------------------------------------------------------

def list_deadlines(ctx: Context, *, kind: str | None = None, status: str | None = None, due_by: date | None = None,
                   enterprise_id: int | None = None, limit: int = 1000) -> list[DeadlineRow]:
    """Deadlines as they stood at the context's now, with their state of play then (days left counted from
    that day), soonest first."""
    if kind and kind not in timetable.KINDS:
        raise InvalidInput(f"{{kind}}: {kind!r}; choose one of {', '.join(timetable.KINDS)}", code="unknown_choice",
                           field="kind", value=kind, allowed=list(timetable.KINDS))
    if status and status not in STATUS_LABELS:
        raise InvalidInput(f"{{status}}: {status!r}; choose one of {', '.join(STATUS_LABELS)}",
                           code="unknown_choice", field="status", value=status, allowed=list(STATUS_LABELS))
    scope = ctx.reader(READ_ENTERPRISES)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        d = then.table(DEADLINE)
        query = select(d).order_by(d.c.due_on, d.c.id).limit(limit)
        owned = scope.where_owned(d.c.district, d.c.enterprise_id, ENTERPRISE)
        if owned is not None:
            query = query.where(owned)
        if kind:
            query = query.where(d.c.kind == kind)
        if status:
            query = query.where(d.c.status == status)
        if due_by:
            query = query.where(d.c.due_on <= due_by)
        if enterprise_id is not None:
            query = query.where(d.c.enterprise_id == enterprise_id)
        rows = [dict(r) for r in session.execute(query).mappings()]
    return [DeadlineRow(**r, label=ctx.rules.deadlines.kind(r["kind"]).label,
                        status_label=STATUS_LABELS.get(r["status"], r["status"]),
                        district_name=ctx.rules.district_name(r["district"]), days_left=(r["due_on"] - then.day).days)
            for r in rows]
