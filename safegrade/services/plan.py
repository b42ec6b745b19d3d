"""`deadlines plan --from A --to B`: every reminder and escalation the daily sweep would take between two
days, day by day, changing nothing. It reads the same deadlines with the same timetable and judges them
the same way as the sweep; escalations are played on a copy of each enterprise through the lifecycle
machine, so a second escalation of one enterprise sees the state the first would leave."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import bindparam, select

from safegrade.domain import timetable
from safegrade.domain.workday import add_working_days
from safegrade.errors import DOMAIN_ERRORS, InvalidInput
from safegrade.models import Campaign, Enterprise, table
from safegrade.services.asof import AsOf, as_of
from safegrade.services.context import Context
from safegrade.services.deadlines import DEADLINE, OPEN, PAUSED, enterprise_subject
from safegrade.services.due import gather, judge, outstanding, subject
from safegrade.services.lifecycle import snapshot
from safegrade.services.scope import PLAN_DEADLINES
from states.names import State

ENTERPRISE, CAMPAIGN = table(Enterprise), table(Campaign)
AUDIENCE_LABELS = timetable.AUDIENCE_LABELS  # the names of a planned item's `audiences`, for its readers
MAX_DAYS = 400
Day = date  # a field named `date` below shadows the type in its class


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One action the daily sweep would take on a day: a reminder (or one superseded), a progress note,
    an escalation event, a notice, or an escalation skipped, with whom it goes to."""

    on: Day
    kind: str
    label: str
    subject: str
    who: str
    district_name: str
    due_on: Day
    step: str
    what: str  # reminder | superseded | progress | event | notice | skipped
    audiences: list[str]
    detail: str


@dataclass(frozen=True, slots=True)
class PlanDay:
    date: Day
    items: list[PlanItem]


@dataclass(frozen=True, slots=True)
class DeadlinePlan:
    """Day by day, what the sweep would do between two days; changes nothing."""

    from_: Annotated[Day, Field(alias="from")]
    to: Day
    days: list[PlanDay]
    reminders: int  # messages (one per audience)
    escalations: int  # lifecycle events
    paused: int  # deadlines paused, awaiting the verification of evidence
    assumes: str


def plan_deadlines(ctx: Context, start: date, end: date) -> DeadlinePlan:
    if end < start:
        raise InvalidInput(f"{{end}} {end} is before {{start}} {start}", code="before_start", field="end", value=end,
                           allowed=f"on or after {start}", others=["start"])
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(f"{{start}} {start} {{end}} {end} spans more than {MAX_DAYS} days; plan a shorter stretch",
                           code="too_long", field="end", value=end, allowed=f"at most {MAX_DAYS} days after {start}",
                           others=["start"])
    scope = ctx.reader(PLAN_DEADLINES)
    with ctx.store.read() as session:
        then = as_of(ctx, session)  # the deadlines and what they are about as they stand at the context's now
        d, e = then.table(DEADLINE), then.table(ENTERPRISE)
        owned = scope.where_owned(d.c.district, d.c.enterprise_id, ENTERPRISE)
        mine = [] if owned is None else [owned]  # a district officer plans its district's deadlines
        rows = [dict(r) for r in session.execute(select(d).where(
            d.c.next_on <= end, d.c.status == OPEN, *mine).order_by(d.c.next_on, d.c.id)).mappings()]
        paused = len(session.execute(select(d.c.id).where(d.c.status == PAUSED, *mine)).all())
        facts = gather(session, rows, then=then)
        ids = sorted({r["enterprise_id"] for r in rows if r["enterprise_id"] is not None})
        full = {r["id"]: dict(r) for r in session.execute(select(e).where(
            e.c.id.in_(bindparam("ids", expanding=True))), {"ids": ids}).mappings()} if ids else {}
        items = _Simulation(ctx, facts, full, rows, start).run(end)
        items.extend(p for p in _progress(ctx, session, start, end, then) if scope.sees_district(p["district"]))
    days: dict[date, list[dict[str, Any]]] = defaultdict(list)
    order = {"superseded": 0, "reminder": 0, "progress": 0, "event": 1, "skipped": 1, "notice": 1}
    for item in sorted(items, key=lambda i: (i["on"], order[i["what"]], i["kind"], i["subject"])):
        days[item["on"]].append({k: v for k, v in item.items() if k != "district"})
    return DeadlinePlan(
        from_=start, to=end,
        days=[PlanDay(date=day, items=[PlanItem(**i) for i in its]) for day, its in sorted(days.items())],
        reminders=sum(len(i["audiences"]) for i in items if i["what"] in ("reminder", "progress")),
        escalations=sum(1 for i in items if i["what"] == "event"), paused=paused,
        assumes="nothing is done by hand meanwhile (no evidence submitted, no event fired by a user)")


def _item(ctx: Context, on: date, d: dict[str, Any], who: str, step: str, what: str, audiences: list[str],
          detail: str) -> dict[str, Any]:
    return {"on": on, "kind": d["kind"], "label": ctx.rules.deadlines.kind(d["kind"]).label, "subject": d["subject"],
            "who": who, "district_name": ctx.rules.district_name(d["district"]), "due_on": d["due_on"], "step": step,
            "what": what, "audiences": audiences, "detail": detail, "district": d["district"]}


class _Simulation:
    """The daily sweep played day by day on copies: the deadlines' timetables, the escalations through the
    lifecycle machine, and what an escalation does to the enterprise's other deadlines (it leaves 约谈, it
    enters 撤销公示 with a publicity period of its own …), as services.deadlines.follow_lifecycle does."""

    def __init__(self, ctx: Context, facts: Any, enterprises: dict[int, dict[str, Any]], rows: list[dict[str, Any]],
                 start: date) -> None:
        self.ctx, self.facts, self.enterprises = ctx, facts, enterprises
        self.deadlines = {d["subject"]: d for d in rows}
        self.start = start
        for d in rows:  # reminders dated before the first day are the past's, not the plan's
            d["done_through"] = max(d["done_through"], start - timedelta(days=1))
        self.items: list[dict[str, Any]] = []

    def run(self, end: date) -> list[dict[str, Any]]:
        day = self.start
        while day <= end:
            self._day(day)
            day += timedelta(days=1)
        return self.items

    def _day(self, day: date) -> None:
        escalating: list[tuple[dict[str, Any], timetable.DeadlineKind]] = []
        for d in sorted(self.deadlines.values(), key=lambda x: x.get("id") or 0):
            if d["status"] != OPEN:
                continue
            kind = self.ctx.rules.deadlines.kind(d["kind"])
            due = timetable.due_actions(kind, d["due_on"], d["done_through"], day,
                                        escalated=d["escalation"] is not None)
            if not due:
                continue
            if judge(self.ctx, d, self.facts, day) is not None:
                d["status"] = "closed"
                continue
            about = subject(self.ctx, d, self.facts)
            reminders = [a for a in due if not a.escalation]
            escalating.extend((d, kind) for a in due if a.escalation)
            for n, a in enumerate(reminders):
                self.items.append(_item(self.ctx, day, d, about.enterprise or about.district_name, a.step,
                                        "reminder" if n == len(reminders) - 1 else "superseded", list(kind.remind),
                                        f"{kind.label}：{timetable.days_text((d['due_on'] - day).days)}"))
            d["done_through"] = day
        fired: dict[int, str] = {}
        rank = self.ctx.rules.deadlines.rank
        for d, kind in sorted(escalating, key=lambda x: (rank(x[0]["kind"]), x[0].get("id") or 0)):
            d["escalation"] = "taken"
            self._escalate(day, d, kind, fired)

    def _escalate(self, day: date, d: dict[str, Any], kind: timetable.DeadlineKind, fired: dict[int, str]) -> None:
        esc = kind.escalate
        assert esc is not None
        about = subject(self.ctx, d, self.facts)
        name = about.enterprise or about.district_name
        if esc.event is None:
            self.items.append(_item(self.ctx, day, d, name, "escalation", "notice", list(esc.notice), "逾期告知"))
            return
        row = self.enterprises[d["enterprise_id"]]
        label = self.ctx.rules.lifecycle.events[esc.event].label
        # an escalation that keeps the state (expire during a case) does not compete with the day's move
        moves = not self.ctx.rules.lifecycle.keeps_state(esc.event, row["state"])
        if row["state"] not in esc.from_states or (moves and row["id"] in fired):
            why = (f"同日已因{fired[row['id']]}升级" if row["id"] in fired
                   else f"企业处于「{self.ctx.rules.state_label(row['state'])}」")
            self.items.append(_item(self.ctx, day, d, name, "escalation", "skipped", list(esc.notice),
                                    f"不自动{label}：{why}"))
            return
        try:
            at = datetime.combine(day, time(8), self.ctx.settings.zone)
            outcome = self.ctx.rules.machine.fire(snapshot(row), esc.event, at,
                                                  self.ctx.rules.machine.coerce(esc.event, esc.data))
        except DOMAIN_ERRORS as exc:
            self.items.append(_item(self.ctx, day, d, name, "escalation", "skipped", list(esc.notice),
                                    f"不能{label}：{exc}"))
            return
        self.items.append(_item(self.ctx, day, d, name, "escalation", "event", list(esc.notice),
                                f"{label}：{self.ctx.rules.state_label(row['state'])} → "
                                f"{self.ctx.rules.state_label(outcome.dest)}"))
        if moves:
            fired[row["id"]] = d["subject"]
        self._move(day, row, outcome.dest)

    def _move(self, day: date, row: dict[str, Any], dest: str) -> None:
        """The enterprise moves: its copy, and the deadlines the move sets (its others are judged as they come)."""
        source, row["state"] = row["state"], dest
        seen = self.facts.enterprises.setdefault(row["id"], dict(row))
        seen["state"] = dest
        rules = self.ctx.rules.deadlines
        new: list[tuple[str, date]] = []
        if dest == State.INTERVIEW and source != State.INTERVIEW:
            new.append(("interview", add_working_days(day, rules.interview_working_days)))
        if dest == State.REVOCATION_PENDING and source != State.REVOCATION_PENDING:
            row["publicity_ends_on"] = seen["publicity_ends_on"] = add_working_days(day, rules.publicity_working_days)
            new.append(("publicity", row["publicity_ends_on"]))
        for kind, due in new:
            key = enterprise_subject(kind, row["id"])
            self.deadlines[key] = {"kind": kind, "subject": key, "due_on": due, "district": row["district"],
                                   "enterprise_id": row["id"], "campaign_id": None, "finding_id": None,
                                   "status": OPEN, "done_through": day, "escalation": None,
                                   "id": 10**12 + len(self.deadlines)}  # set during the day's sweep: after it


def _progress(ctx: Context, session: Any, start: date, end: date, then: AsOf) -> list[dict[str, Any]]:
    """The weekly progress notes: the first day of each ISO week (or `start`) inside an open window."""
    ct = then.table(CAMPAIGN)
    campaigns = [dict(r) for r in session.execute(select(ct).where(ct.c.starts_on <= end, ct.c.ends_on >= start))
                 .mappings()]
    counts = outstanding(session, [c["id"] for c in campaigns], then)
    out = []
    for c in campaigns:
        day, seen = max(start, c["starts_on"]), set()
        while day <= min(end, c["ends_on"]):
            week = day.isocalendar()[:2]
            if week not in seen:
                seen.add(week)
                for (cid, district), (total, left) in sorted(counts.items()):
                    if cid == c["id"] and left:
                        d = {"kind": "campaign_window", "subject": f"campaign:{cid}:{district}", "district": district,
                             "due_on": c["ends_on"]}
                        out.append(_item(ctx, day, d, ctx.rules.district_name(district),
                                         f"progress:{week[0]}-W{week[1]:02d}", "progress", ["district"],
                                         f"{c['name']}：尚有{left}/{total}家未完成评估"))
            day += timedelta(days=1)
    return out
