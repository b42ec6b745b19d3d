"""A world with many deadlines due on one day, built through the real services, and what one sweep of it must
leave behind — computed from the timetable (safegrade.domain.timetable), not from the sweep — for the concurrency
and crash tests of the deadline sweep.

The world (n enterprises over four districts, groups spread over every district):
  one      one general finding, assessed 2023-08-01 (due 08-29): every reminder and `escalate` are due
  three    three general findings: every reminder of each; `escalate` fires once, the two others are skipped
  major    a major hazard (重大事故隐患): interviewed 08-02, so rectifying; `propose_revocation` is due
  expire   closed, grade valid until 2023-09-01: the validity reminders and `expire` are due
  remind   closed, grade valid until 2023-11-30: only the validity reminder −90 is due
  idle     never assessed: each district's campaign window is overdue (reminders and a notice)
plus each district's ledger submission (due 09-04, never submitted). On the sweep day (2023-09-08) no due
deadline is met or moot, and no two escalations of one enterprise compete, so what one sweep must do does
not depend on how the due deadlines are cut into batches or shared between sweepers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from safegrade.domain import timetable
from safegrade.models import AuditEvent, CampaignMember, Deadline, Enterprise, Reminder, table
from safegrade.services.actors import add_actor, ensure_system_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.context import Context
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import FireRequest, fire_many
from tests.factories import row, write_ledger

TZ = ZoneInfo("Asia/Shanghai")
SWEEP_DAY = date(2023, 9, 8)
CAMPAIGN = "2023年运行质量评估"
DISTRICTS = ("武清区", "河西区", "滨海新区", "北辰区")
# (group, share of 20): see the module docstring
GROUPS = (("one", 6), ("three", 6), ("major", 2), ("expire", 3), ("remind", 2), ("idle", 1))
DEDUCTIONS = {
    "one": [{"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"}],
    "three": [{"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"},
              {"item": "ZN01", "points": 4, "content": "未建设信息化平台"},
              {"item": "GZ01", "points": 4, "content": "安全生产规章制度未按新法修订"}],
    "major": [{"item": "ZD02", "points": 5, "content": "粉尘涉爆除尘系统未按规定采用防爆设计"}],
    "expire": [], "remind": [],
}
VALIDITY = {"expire": ("2020-09-02", "2023-09-01"), "remind": ("2020-12-01", "2023-11-30")}
# what each group's enterprise must see fired by the system actor, once
ESCALATES = {"one": "escalate", "three": "escalate", "major": "propose_revocation", "expire": "expire"}
# which escalation wins when several of one enterprise are due together (services.sweep.PRIORITY)
PRIORITY = ("major_finding", "validity", "finding", "interview", "publicity", "campaign_window", "ledger_submission")

DEADLINE, REMINDER, ENTERPRISE = table(Deadline), table(Reminder), table(Enterprise)
EVENT, MEMBER = table(AuditEvent), table(CampaignMember)
Key = tuple[str, date, str, str]  # the outbox's unique key: subject, due date, step, audience


def at(day: str, hour: str = "09:00") -> datetime:
    return datetime.strptime(f"{day} {hour}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def sweep_instant() -> datetime:
    """When the sweeps of these tests run: 08:00 on the sweep day."""
    return at(SWEEP_DAY.isoformat(), "08:00")


@dataclass
class SweepWorld:
    groups: dict[str, list[str]] = field(default_factory=dict)  # group → credit codes


def _group(i: int) -> str:
    slot = (i // len(DISTRICTS)) % 20
    for name, share in GROUPS:
        if slot < share:
            return name
        slot -= share
    raise AssertionError(slot)


def build_sweep_world(make_ctx: Callable[..., Context], tmp_path: Path, clock: Any, n: int,
                      url: str | None = None) -> SweepWorld:
    """n enterprises through ledger import, campaign open, assessment import and hold_interview, as users
    would; `clock` (the tests' TestClock) is moved along and left on the day of the assessments."""
    clock.set(at("2023-06-01"))
    ctx = make_ctx(url=url)
    ensure_system_actor(ctx)
    add_actor(ctx, "boss", "bureau")
    boss = make_ctx("boss", url=url)
    world = SweepWorld({name: [] for name, _ in GROUPS})
    rows = []
    for i in range(1, n + 1):
        group = _group(i)
        graded_on, valid_until = VALIDITY.get(group, ("2022-03-01", "2025-02-28"))
        r = row(i, DISTRICTS[i % len(DISTRICTS)], graded_on=graded_on, valid_until=valid_until)
        rows.append(r)
        world.groups[group].append(r["统一社会信用代码"])
    import_ledger(boss, [write_ledger(tmp_path / "sweep-ledger.csv", rows)])
    clock.set(at("2023-06-01", "10:00"))
    open_campaign(boss, CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True, ledger_due_on=date(2023, 9, 4))
    clock.set(at("2023-08-01", "16:00"))
    records = [{"credit_code": code, "campaign": CAMPAIGN, "assessed_on": "2023-08-01", "assessors": ["王工"],
                "methods": ["资料审查"], "deductions": DEDUCTIONS[g]}
               for g, codes in world.groups.items() if g != "idle" for code in codes]
    path = tmp_path / "sweep-assessments.yaml"
    path.write_text(yaml.safe_dump(records, allow_unicode=True), encoding="utf-8")
    import_assessments(boss, [path])
    clock.set(at("2023-08-02", "10:00"))
    fire_many(boss, [FireRequest(code, "hold_interview", "约谈", {"attendees": "法人", "record": "限期整改"})
                     for code in world.groups["major"]], strict=True)
    return world


# --- what one sweep must do, from the timetable ---------------------------------------------------------

def due_deadlines(ctx: Context, today: date = SWEEP_DAY) -> list[dict[str, Any]]:
    """The deadlines a sweep on `today` takes, with their enterprise's state and credit code."""
    query = (select(DEADLINE, ENTERPRISE.c.state, ENTERPRISE.c.credit_code)
             .join(ENTERPRISE, ENTERPRISE.c.id == DEADLINE.c.enterprise_id, isouter=True)
             .where(DEADLINE.c.next_on <= today))
    with ctx.store.read() as session:
        return [dict(r) for r in session.execute(query).mappings()]


def _districts_left(ctx: Context) -> set[tuple[int, str]]:
    """(campaign, district) pairs with an enterprise still to assess: their campaign window still runs."""
    with ctx.store.read() as session:
        return {(c, d) for c, d in session.execute(
            select(MEMBER.c.campaign_id, MEMBER.c.district).where(
                MEMBER.c.assessed_on.is_(None), MEMBER.c.excluded_reason.is_(None)).distinct())}


def expected_messages(ctx: Context, due: list[dict[str, Any]], today: date = SWEEP_DAY) -> dict[int, dict[Key, str]]:
    """Per due deadline, every message one sweep on `today` must queue, with its status: each due action to
    the kind's `remind` audiences (a reminder) or its escalation's `notice` audiences. Of the reminders that
    fall due together only the latest is sent (`pending`); the earlier steps are kept as `superseded`."""
    left = _districts_left(ctx)
    out: dict[int, dict[Key, str]] = {}
    for d in due:
        # none is moot here
        assert d["status"] == "open", d
        assert d["state"] not in ("revoked", "excluded"), d
        if d["kind"] == "campaign_window" and (d["campaign_id"], d["district"]) not in left:
            continue  # met: the district has assessed everyone
        kind = ctx.rules.deadlines.kind(d["kind"])
        actions = timetable.due_actions(kind, d["due_on"], d["done_through"], today,
                                        escalated=d["escalation"] is not None)
        reminders = [a for a in actions if not a.escalation]
        messages = out.setdefault(d["id"], {})
        for a in reminders:
            status = "pending" if a == reminders[-1] else "superseded"
            messages.update({(d["subject"], d["due_on"], a.step, who): status for who in kind.remind})
        if kind.escalate is not None and any(a.escalation for a in actions):
            messages.update({(d["subject"], d["due_on"], timetable.ESCALATION, who): "pending"
                             for who in kind.escalate.notice})
    return out


def expected_outbox(ctx: Context, due: list[dict[str, Any]], today: date = SWEEP_DAY) -> dict[Key, str]:
    """Every message one sweep on `today` must queue (expected_messages of all due deadlines), with its status."""
    return {k: v for messages in expected_messages(ctx, due, today).values() for k, v in messages.items()}


def expected_escalations(ctx: Context, due: list[dict[str, Any]], today: date = SWEEP_DAY) -> Counter[tuple[str, str]]:
    """(credit code, event) → 1 for each enterprise whose due escalations include an event its state allows
    (the first by PRIORITY: one event per enterprise and sweep)."""
    chosen: dict[str, tuple[int, str]] = {}
    for d in due:
        kind = ctx.rules.deadlines.kind(d["kind"])
        esc = kind.escalate
        if esc is None or esc.event is None or d["escalation"] is not None or esc.on(d["due_on"]) > today:
            continue
        if d["state"] in esc.from_states:
            rank = PRIORITY.index(d["kind"])
            if d["credit_code"] not in chosen or rank < chosen[d["credit_code"]][0]:
                chosen[d["credit_code"]] = (rank, esc.event)
    return Counter({(code, event): 1 for code, (_, event) in chosen.items()})


# --- what the sweeps did ------------------------------------------------------------------------------

def outbox_counts(ctx: Context) -> Counter[Key]:
    """How many outbox rows each key has (the unique key makes more than one impossible; counted anyway)."""
    query = (select(REMINDER.c.subject, REMINDER.c.due_on, REMINDER.c.step, REMINDER.c.audience, func.count())
             .group_by(REMINDER.c.subject, REMINDER.c.due_on, REMINDER.c.step, REMINDER.c.audience))
    with ctx.store.read() as session:
        return Counter({(s, d, st, a): n for s, d, st, a, n in session.execute(query)})


def outbox_status(ctx: Context) -> dict[Key, str]:
    query = select(REMINDER.c.subject, REMINDER.c.due_on, REMINDER.c.step, REMINDER.c.audience, REMINDER.c.status)
    with ctx.store.read() as session:
        return {(s, d, st, a): status for s, d, st, a, status in session.execute(query)}


def system_events(ctx: Context) -> Counter[tuple[str, str]]:
    """(credit code, event) → how many times the system actor recorded it in the audit trail."""
    query = (select(ENTERPRISE.c.credit_code, EVENT.c.event, func.count())
             .join(ENTERPRISE, ENTERPRISE.c.id == EVENT.c.enterprise_id)
             .where(EVENT.c.actor == "system").group_by(ENTERPRISE.c.credit_code, EVENT.c.event))
    with ctx.store.read() as session:
        return Counter({(code, event): n for code, event, n in session.execute(query)})


def events_total(ctx: Context) -> int:
    with ctx.store.read() as session:
        return int(session.execute(select(func.count()).select_from(EVENT)).scalar_one())


def still_due(ctx: Context, today: date = SWEEP_DAY) -> int:
    with ctx.store.read() as session:
        return int(session.execute(select(func.count()).select_from(DEADLINE)
                                   .where(DEADLINE.c.next_on <= today)).scalar_one())


def deadline_states(ctx: Context) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(kind, subject) → what the sweep leaves on a deadline (status, done_through, next_on, escalation)."""
    query = select(DEADLINE.c.kind, DEADLINE.c.subject, DEADLINE.c.status, DEADLINE.c.done_through,
                   DEADLINE.c.next_on, DEADLINE.c.escalation, DEADLINE.c.escalated_on, DEADLINE.c.due_on)
    with ctx.store.read() as session:
        return {(r[0], r[1]): tuple(r[2:]) for r in session.execute(query)}


def group_escalations(world: SweepWorld) -> Counter[tuple[str, str]]:
    """What the world was built to escalate, by group (a check on expected_escalations)."""
    return Counter({(code, ESCALATES[g]): 1 for g, codes in world.groups.items() if g in ESCALATES
                    for code in codes})


def escalation_deadlines(ctx: Context, due: list[dict[str, Any]], today: date = SWEEP_DAY) -> dict[str, list[int]]:
    """Credit code → the due deadlines whose escalation may fire an event from the enterprise's state: the
    enterprise is escalated once, in the batch that takes the first of them."""
    out: dict[str, list[int]] = {}
    for d in due:
        esc = ctx.rules.deadlines.kind(d["kind"]).escalate
        if (esc is not None and esc.event is not None and d["escalation"] is None and esc.on(d["due_on"]) <= today
                and d["state"] in esc.from_states):
            out.setdefault(d["credit_code"], []).append(d["id"])
    return out


def taken(ctx: Context, ids: list[int], today: date = SWEEP_DAY) -> set[int]:
    """Which of these deadlines a sweep on `today` has taken (moved on past today)."""
    with ctx.store.read() as session:
        rows = session.execute(select(DEADLINE.c.id, DEADLINE.c.next_on).where(DEADLINE.c.id.in_(ids))).all()
    return {i for i, nxt in rows if nxt is None or nxt > today}


def outbox_rows(ctx: Context) -> int:
    with ctx.store.read() as session:
        return int(session.execute(select(func.count()).select_from(REMINDER)).scalar_one())
