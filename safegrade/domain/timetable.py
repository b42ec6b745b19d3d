"""When each reminder and escalation of a deadline is due: rules/deadlines.yaml `kinds`, parsed, and the
pure arithmetic on them. No database and no clock: the sweep, `deadlines plan` and the tests share it.

A deadline's actions are dated: reminders `before` the due date, reminders every `overdue_every` days
after it (at most `overdue_max`), and one escalation. Each has a `step` ("-7", "0", "+3", "escalation")
that, with the deadline's subject and due date, keys its messages in the outbox: a step is taken once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from safegrade.domain.workday import WorkCalendar, add_working_days

AUDIENCES = ("enterprise", "district", "bureau")
AUDIENCE_LABELS = {"enterprise": "企业", "district": "区应急管理局", "bureau": "市应急管理局"}
# the kinds the engine sets (each has its own rule for when it is met or no longer applies)
KINDS = ("finding", "major_finding", "rectification_followup", "campaign_window", "ledger_submission", "interview",
         "publicity", "validity")
ESCALATION = "escalation"

Problem = Callable[[str, str], None]  # (key, message)


@dataclass(frozen=True)
class Escalation:
    after_days: int | None = None
    after_working_days: int | None = None
    event: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    from_states: tuple[str, ...] = ()
    notice: tuple[str, ...] = ()
    # the rules' working days (rules/holidays.yaml, then the package); None: the package's alone
    calendar: WorkCalendar | None = field(default=None, compare=False, repr=False)

    def on(self, due_on: date) -> date:
        """The day the escalation is due."""
        if self.after_working_days is not None:
            if self.calendar is not None:
                return self.calendar.add_working_days(due_on, self.after_working_days)
            return add_working_days(due_on, self.after_working_days)
        return due_on + timedelta(days=self.after_days or 0)


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per kind per loaded rules, cached below
class DeadlineKind:
    key: str
    label: str
    before: tuple[int, ...]
    overdue_every: int
    overdue_max: int
    remind: tuple[str, ...]
    escalate: Escalation | None
    todo: Mapping[str, str]


@dataclass(frozen=True, order=True)
class Action:
    on: date
    order: int  # reminders before the escalation on the same day
    step: str
    due_on: date

    @property
    def escalation(self) -> bool:
        return self.step == ESCALATION

    @property
    def days_left(self) -> int:
        """Days from this action to the due date (negative: overdue)."""
        return (self.due_on - self.on).days


@lru_cache(maxsize=65536)
def actions(kind: DeadlineKind, due_on: date) -> tuple[Action, ...]:
    """Every action of a deadline due on `due_on`, in date order (cached: many deadlines share a date)."""
    out = [Action(due_on - timedelta(days=b), 0, f"-{b}" if b else "0", due_on) for b in kind.before]
    if kind.overdue_every:
        out += [Action(due_on + timedelta(days=k * kind.overdue_every), 0, f"+{k * kind.overdue_every}", due_on)
                for k in range(1, kind.overdue_max + 1)]
    if kind.escalate is not None:
        out.append(Action(kind.escalate.on(due_on), 1, ESCALATION, due_on))
    return tuple(sorted(set(out)))


def due_actions(kind: DeadlineKind, due_on: date, after: date, until: date, *, escalated: bool) -> list[Action]:
    """The actions to take by `until`: reminders dated after `after` (the day through which all was done),
    and the escalation, if not yet taken, once its day has come — however long ago: a deadline set late
    (a ledger imported with a grade already expired) is still escalated, but its old reminders are not sent."""
    return [a for a in actions(kind, due_on)
            if a.on <= until and (a.on > after if not a.escalation else not escalated)]


def next_on(kind: DeadlineKind, due_on: date, after: date, *, escalated: bool) -> date | None:
    """The first day after `after` on which an action is due (an untaken escalation counts however old);
    None when none is left."""
    days = [a.on for a in actions(kind, due_on) if (a.on > after if not a.escalation else not escalated)]
    return min(days, default=None)


def days_text(days_left: int) -> str:
    if days_left > 0:
        return f"距期限还有{days_left}天"
    if days_left == 0:
        return "今天到期"
    return f"已逾期{-days_left}天"


# --- parsing rules/deadlines.yaml `kinds` ------------------------------------------------------------

_KIND_KEYS = ("label", "before", "overdue_every", "overdue_max", "remind", "escalate", "todo")
_ESCALATE_KEYS = ("after_days", "after_working_days", "event", "data", "from", "notice")


def _count(value: Any, key: str, problem: Problem, default: int = 0) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        problem(key, f"{value!r} must be a whole number of days, 0 or more")
        return default
    return value


def _audiences(value: Any, key: str, problem: Problem) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value or [])
    bad = [str(a) for a in items if a not in AUDIENCES]
    if bad:
        problem(key, f"unknown audience(s) {', '.join(bad)}; allowed: {', '.join(AUDIENCES)}")
    return tuple(a for a in items if a in AUDIENCES)


def _escalation(raw: Any, key: str, problem: Problem, check_event: Callable[[str, str, Mapping[str, str],
                tuple[str, ...]], None], calendar: WorkCalendar | None = None) -> Escalation | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problem(key, "must be a mapping with after_days or after_working_days, and event and/or notice")
        return None
    unknown = sorted(set(map(str, raw)) - set(_ESCALATE_KEYS))
    if unknown:
        problem(key, f"unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(_ESCALATE_KEYS)}")
    if ("after_days" in raw) == ("after_working_days" in raw):
        problem(key, "give exactly one of after_days, after_working_days")
    event = str(raw["event"]) if raw.get("event") else None
    data = {str(k): str(v) for k, v in (raw.get("data") or {}).items()}
    from_states = tuple(str(s) for s in (raw.get("from") or ()))
    notice = _audiences(raw.get("notice"), f"{key}.notice", problem)
    if event is None and not notice:
        problem(key, "an escalation fires an event, gives a notice, or both")
    if event is None and (data or from_states):
        problem(key, "data and from go with an event")
    if event is not None:
        if not from_states:
            problem(key, f"event {event} needs `from`: the states the sweep may fire it from")
        check_event(f"{key}.event", event, data, from_states)
    return Escalation(
        after_days=_count(raw.get("after_days"), f"{key}.after_days", problem) if "after_days" in raw else None,
        after_working_days=(_count(raw.get("after_working_days"), f"{key}.after_working_days", problem)
                            if "after_working_days" in raw else None),
        event=event, data=data, from_states=from_states, notice=notice, calendar=calendar)


def parse_kinds(raw: Any, problem: Problem,
                check_event: Callable[[str, str, Mapping[str, str], tuple[str, ...]], None],
                calendar: WorkCalendar | None = None) -> dict[str, DeadlineKind]:
    """deadlines.yaml `kinds`; every problem goes to `problem(key, message)`. `check_event(key, event, data,
    from_states)` checks an escalation's event against the lifecycle (it reports through `problem` too).
    `calendar`: the working days an escalation counts in (the rules'; None: the package's)."""
    if not isinstance(raw, Mapping):
        problem("kinds", f"must be a mapping of the deadline kinds {', '.join(KINDS)}")
        return {}
    out: dict[str, DeadlineKind] = {}
    for name in sorted(set(map(str, raw)) - set(KINDS)):
        problem(f"kinds.{name}", f"unknown kind of deadline; the engine sets {', '.join(KINDS)}")
    for name in KINDS:
        body = raw.get(name)
        key = f"kinds.{name}"
        if not isinstance(body, Mapping):
            problem(key, "missing: every kind the engine sets needs its reminders (before, remind, …)")
            continue
        unknown = sorted(set(map(str, body)) - set(_KIND_KEYS))
        if unknown:
            problem(key, f"unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(_KIND_KEYS)}")
        before_raw = body.get("before") or []
        before = tuple(sorted({_count(b, f"{key}.before", problem) for b in before_raw}, reverse=True)) \
            if isinstance(before_raw, list) else ()
        if not isinstance(before_raw, list):
            problem(f"{key}.before", "must be a list of days before the due date, e.g. [7, 3, 1, 0]")
        remind = _audiences(body.get("remind"), f"{key}.remind", problem)
        escalate = _escalation(body.get("escalate"), f"{key}.escalate", problem, check_event, calendar)
        todo = {str(k): str(v) for k, v in (body.get("todo") or {}).items()}
        needed = set(remind) | set(escalate.notice if escalate else ())
        missing = sorted(needed - set(todo))
        if missing:
            problem(f"{key}.todo", f"says nothing to {', '.join(missing)}, who are reminded or told")
        if not body.get("label"):
            problem(key, "missing required key 'label'")
        out[name] = DeadlineKind(
            key=name, label=str(body.get("label", name)), before=before,
            overdue_every=_count(body.get("overdue_every"), f"{key}.overdue_every", problem),
            overdue_max=_count(body.get("overdue_max"), f"{key}.overdue_max", problem),
            remind=remind, escalate=escalate, todo=todo)
    return out
