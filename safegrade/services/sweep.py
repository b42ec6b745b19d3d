"""The deadline sweep: find what is due by one indexed query on `deadline.next_on`, take each due action
once — queue its reminders in the outbox, fire its escalation through the same lifecycle path as the CLI
— and move the deadline on, all in one transaction per batch.

Exactly once, by construction: a batch's reminders, events and deadline updates commit together or not
at all; a deadline's `done_through` and `escalation` say what was taken, so a re-run, a crash half-way
or a second sweeper (rows claimed with FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer)
finds nothing twice; the outbox's unique key (subject, due date, step, audience) is the last guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import Session

from safegrade.domain import timetable
from safegrade.domain.timetable import Action, DeadlineKind
from safegrade.errors import Conflict
from safegrade.models import Campaign, CampaignMember, Enterprise, Finding, table
from safegrade.notify import wording
from safegrade.services.context import Context
from safegrade.services.deadlines import (
    DEADLINE,
    LAPSED,
    OPEN,
    PAUSED,
    REMINDER,
    dialect_insert,
)
from safegrade.services.due import Facts, gather, judge, reminder_row, subject
from safegrade.services.lifecycle import FireRequest, fire_in

ENTERPRISE, FINDING, CAMPAIGN, MEMBER = table(Enterprise), table(Finding), table(Campaign), table(CampaignMember)
BATCH = 500
_LOG_LIMIT = 200


@dataclass
class SweepReport:
    as_of: date
    deadlines: int = 0
    reminders: int = 0
    superseded: int = 0  # reminder steps that fell due together with a later one: queued, not sent
    escalations: int = 0  # lifecycle events fired
    notices: int = 0  # escalations that only tell someone
    skipped: int = 0  # escalations the enterprise's state did not allow
    closed: int = 0  # deadlines found met or no longer applicable
    batches: int = 0
    retries: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)  # what was done, for people (capped)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("deadlines", "reminders", "superseded", "escalations", "notices",
                                              "skipped", "closed", "batches", "retries")}

    def note(self, **entry: Any) -> None:
        """Every escalation is kept; reminders up to a limit (their count is in `reminders`)."""
        if entry.get("what") != "reminder" or len(self.log) < _LOG_LIMIT:
            self.log.append(entry)


def sweep_deadlines(ctx: Context, *, batch_size: int = BATCH, max_retries: int = 5) -> SweepReport:
    """Take every action due by today (the context's now, in the deployment's time zone)."""
    report = SweepReport(ctx.now().date())
    retries = 0
    while True:
        try:
            with ctx.store.write() as session:
                claimed = _claim(session, report.as_of, batch_size)
                if not claimed:
                    return report
                batch = SweepReport(report.as_of)
                _sweep_batch(ctx, session, claimed, batch)
        except Conflict:  # an enterprise moved under us (another sweeper, a user): the batch is redone
            retries += 1
            report.retries += 1
            if retries > max_retries:
                raise
            continue
        retries = 0
        report.batches += 1
        for k in ("deadlines", "reminders", "superseded", "escalations", "notices", "skipped", "closed"):
            setattr(report, k, getattr(report, k) + getattr(batch, k))
        for entry in batch.log:
            report.note(**entry)


def _claim(session: Session, today: date, n: int) -> list[dict[str, Any]]:
    """Up to `n` due deadlines, plus every other due deadline of their enterprises: an enterprise's
    escalations of one day are judged together, so the priority between them holds (a major hazard's
    revocation rather than an interview first)."""
    query = (select(DEADLINE).where(DEADLINE.c.next_on <= today).order_by(DEADLINE.c.next_on, DEADLINE.c.id)
             .limit(n).with_for_update(skip_locked=True))
    rows = [dict(r) for r in session.execute(query).mappings()]
    enterprises = sorted({r["enterprise_id"] for r in rows if r["enterprise_id"] is not None})
    if enterprises:
        more = (select(DEADLINE).where(DEADLINE.c.enterprise_id.in_(enterprises), DEADLINE.c.next_on <= today,
                                       DEADLINE.c.id.not_in([r["id"] for r in rows]))
                .with_for_update(skip_locked=True))
        rows += [dict(r) for r in session.execute(more).mappings()]
    return rows


@dataclass(frozen=True, slots=True)
class _Escalation:
    """What became of a deadline's escalation in this sweep."""

    state: str  # fired | noticed | skipped
    on: date
    note: str  # the audit hash of the event fired (in a sentence), or why nothing was fired


@dataclass(frozen=True, slots=True)
class _Update:
    """What the sweep writes back to one deadline it claimed: compare-and-set on the status it saw."""

    id: int
    seen: str  # the status read when claimed; a deadline an escalation just closed keeps its new status
    status: str
    next_on: date | None
    done_through: date
    escalation: str | None
    escalated_on: date | None
    escalation_note: str | None
    closed_note: str | None

    def params(self) -> dict[str, Any]:
        """The bind parameters of the batch's UPDATE."""
        return {"_id": self.id, "_seen": self.seen, "status": self.status, "next_on": self.next_on,
                "done_through": self.done_through, "escalation": self.escalation, "escalated_on": self.escalated_on,
                "escalation_note": self.escalation_note, "closed_note": self.closed_note}


def _runs_on(ctx: Context, d: Mapping[str, Any], escalated: _Escalation | None, today: date) -> _Update:
    """A deadline still running after today's actions: done through today, its next day (or lapsed),
    and its escalation as recorded before or as it went today."""
    escalation, escalated_on, note = ((escalated.state, escalated.on, escalated.note) if escalated is not None
                                      else (d["escalation"], d["escalated_on"], d["escalation_note"]))
    nxt = timetable.next_on(ctx.rules.deadlines.kind(d["kind"]), d["due_on"], today, escalated=escalation is not None)
    return _Update(id=d["id"], seen=d["status"], status=OPEN if nxt else LAPSED, next_on=nxt, done_through=today,
                   escalation=escalation, escalated_on=escalated_on, escalation_note=note, closed_note=d["closed_note"])


def _sweep_batch(ctx: Context, session: Session, claimed: list[dict[str, Any]], report: SweepReport) -> None:
    today, now = report.as_of, ctx.now()
    facts = gather(session, claimed, lock=True)
    outbox: list[dict[str, Any]] = []
    escalating: list[tuple[dict[str, Any], DeadlineKind, Action]] = []
    closed: dict[int, _Update] = {}  # deadlines met, no longer applicable or paused: written as judged
    subjects: dict[int, wording.Subject] = {}  # what each running deadline is about, in words
    for d in claimed:
        report.deadlines += 1
        kind = ctx.rules.deadlines.kind(d["kind"])
        verdict = judge(ctx, d, facts, today)
        if verdict is not None:
            status, why = verdict
            closed[d["id"]] = _Update(id=d["id"], seen=d["status"], status=status, next_on=None,
                                      done_through=d["done_through"], escalation=d["escalation"],
                                      escalated_on=d["escalated_on"], escalation_note=d["escalation_note"],
                                      closed_note=f"{today}：{why}" if status != PAUSED else d["closed_note"])
            report.closed += status != PAUSED
            continue
        about = subject(ctx, d, facts)
        due = timetable.due_actions(kind, d["due_on"], d["done_through"], today, escalated=d["escalation"] is not None)
        reminders = [a for a in due if not a.escalation]
        escalating.extend((d, kind, a) for a in due if a.escalation)
        for n, action in enumerate(reminders):
            # steps missed by a late sweep are queued under their keys but only the latest is sent: the same
            # message three times over tells nobody anything more
            latest = n == len(reminders) - 1
            for audience in kind.remind:
                title, body = wording.reminder(kind, audience, about, d["due_on"], today)
                outbox.append(reminder_row(d, action.step, audience, title, body, now,
                                       status="pending" if latest else "superseded"))
                report.reminders += latest
                report.superseded += not latest
            if latest:
                report.note(on=today, kind=d["kind"], subject=d["subject"], step=action.step,
                            who=about.enterprise or about.district_name, what="reminder", audiences=list(kind.remind))
        subjects[d["id"]] = about
    outcomes = _escalate(ctx, session, escalating, facts, report)
    escalated: dict[int, _Escalation] = {}
    for d, kind, action in escalating:
        state, outcome = outcomes[d["id"]]
        escalated[d["id"]] = _Escalation(state, today, outcome)
        assert kind.escalate is not None
        for audience in kind.escalate.notice:
            title, body = wording.escalation(kind, audience, subjects[d["id"]], d["due_on"], today, outcome)
            outbox.append(reminder_row(d, action.step, audience, title, body, now))
            report.reminders += 1
    updates = [(closed.get(d["id"]) or _runs_on(ctx, d, escalated.get(d["id"]), today)).params() for d in claimed]
    if outbox:
        stmt = dialect_insert(session, REMINDER)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["subject", "due_on", "step", "audience"]), outbox)
    if updates:
        # a deadline an escalation just closed (e.g. the interview left by a revocation) keeps that status
        session.execute(update(DEADLINE).where(and_(DEADLINE.c.id == bindparam("_id"),
                                                    DEADLINE.c.status == bindparam("_seen"))).values(
            status=bindparam("status"), next_on=bindparam("next_on"), done_through=bindparam("done_through"),
            escalation=bindparam("escalation"), escalated_on=bindparam("escalated_on"),
            escalation_note=bindparam("escalation_note"), closed_note=bindparam("closed_note"), updated_at=now),
            updates)


def _escalate(ctx: Context, session: Session, due: list[tuple[dict[str, Any], DeadlineKind, Action]], facts: Facts,
              report: SweepReport) -> dict[int, tuple[str, str]]:
    """Fire the escalations that are due, at most one move per enterprise in a batch (and, beside it, those that
    keep the enterprise's state); (state, note) per deadline."""
    outcomes: dict[int, tuple[str, str]] = {}
    taken = _choose(ctx, due, facts, report, outcomes)
    _fire(ctx, session, taken, facts, report, outcomes)
    today = report.as_of
    for d, _, _ in due:
        if d["id"] in outcomes and outcomes[d["id"]][0] in ("noticed", "skipped"):
            about = facts.enterprises.get(d["enterprise_id"] or -1)
            report.note(on=today, kind=d["kind"], subject=d["subject"], step="escalation",
                        what=outcomes[d["id"]][0], note=outcomes[d["id"]][1],
                        code=about["credit_code"] if about else None,
                        who=about["name"] if about else ctx.rules.district_name(d["district"]))
    return outcomes


def _choose(ctx: Context, due: list[tuple[dict[str, Any], DeadlineKind, Action]], facts: Facts, report: SweepReport,
            outcomes: dict[int, tuple[str, str]]) -> list[tuple[dict[str, Any], DeadlineKind]]:
    """The escalation events to fire, gravest first: of those that move an enterprise the first by the rules'
    escalation_order wins and the rest skip; one whose event keeps the state (an internal transition: expire
    during a case) is fired as well. Notices and escalations the state does not allow are settled here."""
    chosen: dict[int, tuple[dict[str, Any], DeadlineKind]] = {}
    alongside: list[tuple[dict[str, Any], DeadlineKind]] = []
    today = report.as_of
    for d, kind, _ in sorted(due, key=lambda x: (ctx.rules.deadlines.rank(x[0]["kind"]), x[0]["id"])):
        esc = kind.escalate
        assert esc is not None
        overdue = (today - d["due_on"]).days
        if esc.event is None:
            outcomes[d["id"]] = ("noticed", f"已逾期{overdue}天，特此告知")
            report.notices += 1
            continue
        e = facts.enterprises[d["enterprise_id"]]
        label = ctx.rules.lifecycle.events[esc.event].label
        if e["state"] not in esc.from_states:
            outcomes[d["id"]] = ("skipped", f"已逾期{overdue}天，企业处于「{ctx.rules.state_label(e['state'])}」，"
                                            f"未自动{label}")
            report.skipped += 1
        elif ctx.rules.lifecycle.keeps_state(esc.event, e["state"]):
            alongside.append((d, kind))
        elif e["id"] in chosen:
            first = chosen[e["id"]][0]
            outcomes[d["id"]] = ("skipped", f"已逾期{overdue}天，同日已因{first['subject']}{label}")
            report.skipped += 1
        else:
            chosen[e["id"]] = (d, kind)
    return [*chosen.values(), *alongside]


def _fire(ctx: Context, session: Session, taken: list[tuple[dict[str, Any], DeadlineKind]], facts: Facts,
          report: SweepReport, outcomes: dict[int, tuple[str, str]]) -> None:
    """Fire the chosen escalations in one go (an enterprise's in the escalation order); record each outcome."""
    today = report.as_of
    rank = ctx.rules.deadlines.rank
    requests = []
    for d, kind in sorted(taken, key=lambda x: (facts.enterprises[x[0]["enterprise_id"]]["credit_code"],
                                                rank(x[0]["kind"]))):
        assert kind.escalate is not None
        assert kind.escalate.event is not None
        e = facts.enterprises[d["enterprise_id"]]
        reason = f"{kind.label}{d['due_on']}已逾期（{d['subject']}），系统自动升级"
        requests.append(FireRequest(e["credit_code"], kind.escalate.event, reason, dict(kind.escalate.data)))
    result = fire_in(ctx, session, requests)
    fired = {(f.credit_code, f.event): f for f in result.fired}
    refused = {(r.credit_code, r.event): why for r, why in result.refused}
    for d, kind in taken:
        e = facts.enterprises[d["enterprise_id"]]
        assert kind.escalate is not None
        assert kind.escalate.event is not None
        key = (e["credit_code"], kind.escalate.event)
        label = ctx.rules.lifecycle.events[kind.escalate.event].label
        overdue = (today - d["due_on"]).days
        if key in fired:
            f = fired[key]
            outcomes[d["id"]] = ("fired", f"已逾期{overdue}天，系统已{label}：{ctx.rules.state_label(f.from_state)} → "
                                          f"{ctx.rules.state_label(f.to_state)}（审计 {f.hash[:16]}）")
            report.escalations += 1
            report.note(on=today, kind=d["kind"], subject=d["subject"], step="escalation", what=f.event,
                        who=e["name"], code=e["credit_code"], to_state=f.to_state, hash=f.hash)
        else:
            outcomes[d["id"]] = ("skipped", f"已逾期{overdue}天，未能{label}：{refused.get(key, '?')}")
            report.skipped += 1
