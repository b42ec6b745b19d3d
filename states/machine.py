"""The one lifecycle machine, built once from the spec and applied to any enterprise snapshot.

`transitions` holds the graph and picks the first transition whose guards hold; it is fired
model-less on a small cursor object, so one Machine serves every enterprise (a Machine per row costs
~60 KB and grows quadratically with `add_model`). An internal transition of the rules is one of
`transitions`' internal transitions (dest None): the state is kept.

`judge` answers the question a reader asks before acting: could this event be fired here now, once its
fields are given? It tries the same transitions, leaving a guard that reads the event's data to the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from transitions import Machine

from states.errors import EventNotAllowed, FieldError, GuardFailed
from states.guard import GUARDS
from states.snapshot import EnterpriseSnapshot
from states.spec import EventSpec, LifecycleSpec, TransitionSpec

_WHOLE = re.compile(r"^[0-9]+$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass(frozen=True)
class Outcome:
    event: str
    source: str
    dest: str
    data: Mapping[str, Any]
    sets: Mapping[str, str]  # constant field values fixed by the transition taken (rules' `sets`)


class _Cursor:
    """What transitions mutates: just the state, beside the snapshot it came from."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class Lifecycle:
    def __init__(self, spec: LifecycleSpec) -> None:
        self.spec = spec
        self._machine = Machine(
            model=None,
            states=list(spec.states),
            initial=None,
            auto_transitions=False,
            send_event=True,
            queued=False,
        )
        for event in spec.events.values():
            for t in event.transitions:
                self._machine.add_transition(event.name, list(t.sources), t.dest, conditions=[self._condition(t)])
                # (dest None: an internal transition, the state is neither left nor entered)
        self._allowed: dict[str, tuple[str, ...]] = {
            s: tuple(e.name for e in spec.events.values() if s in e.sources) for s in spec.states
        }

    @staticmethod
    def _condition(transition: TransitionSpec) -> Callable[[Any], bool]:
        def holds(ev: Any) -> bool:
            snap, now, data, failures = (ev.kwargs[k] for k in ("snapshot", "now", "data", "failures"))
            for name in transition.guards:
                guard = GUARDS[name]
                if not guard(snap, now, data):
                    failures.append((name, guard.refusal(snap, now, data)))
                    return False
            ev.kwargs["taken"].append(transition)
            return True

        return holds

    def allowed_events(self, state: str) -> tuple[str, ...]:
        """Events that have a transition from `state` (their guards may still refuse)."""
        return self._allowed.get(state, ())

    def event(self, name: str, state: str = "") -> EventSpec:
        spec = self.spec.events.get(name)
        if spec is None:
            raise EventNotAllowed(name, state, self.allowed_events(state) if state else tuple(self.spec.events),
                                  known=False)
        return spec

    def coerce(self, event: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Typed event data from raw values (strings from a command line, or typed values).

        Refuses unknown fields, missing required ones and values of the wrong type or choice.
        """
        spec = self.event(event)
        allowed = (*spec.requires, *spec.allows)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if value is None:  # absent, not the text "None"
                continue
            if key not in allowed:
                raise FieldError(event, key, f"not a field of this event; allowed: {', '.join(allowed) or 'none'}",
                                 code="unknown_field", value=value, allowed=allowed)
            out[key] = self._value(event, key, value)
        for key in spec.requires:
            if key not in out or out[key] in ("", None):
                raise FieldError(event, key, f"required ({self.spec.fields[key].label})", code="missing_field")
        return out

    def _value(self, event: str, key: str, value: Any) -> Any:
        field = self.spec.fields[key]
        if field.type == "int":
            if isinstance(value, bool):
                raise FieldError(event, key, f"{value!r} is not a whole number", value=value, allowed="a whole number")
            text = str(value).strip()
            if isinstance(value, int) and value < 0 or text.startswith("-") and _WHOLE.match(text[1:]):
                raise FieldError(event, key, f"{text} is negative; must be 0 or more", value=value, allowed="0 or more")
            if not _WHOLE.match(text):
                raise FieldError(event, key, f"{value!r} is not a whole number; write digits 0-9", value=value,
                                 allowed="a whole number")
            return int(text)
        if field.type == "date":
            if isinstance(value, datetime):
                raise FieldError(event, key, f"{value!r} is a date-time; give a date (YYYY-MM-DD)", value=value,
                                 allowed="YYYY-MM-DD")
            if isinstance(value, date):
                return value
            m = _DATE.match(str(value).strip())
            try:
                if not m:
                    raise ValueError
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise FieldError(event, key, f"{value!r} is not a date; use YYYY-MM-DD", value=value,
                                 allowed="YYYY-MM-DD") from None
        text = str(value).strip()
        if field.type == "choice" and text not in field.choices:
            raise FieldError(event, key, f"{text!r} is not allowed; choose one of {', '.join(field.choices)}",
                             value=text, allowed=field.choices)
        return text

    def fire(
        self, snapshot: EnterpriseSnapshot, event: str, now: datetime, data: Mapping[str, Any] | None = None
    ) -> Outcome:
        """Where `event` takes `snapshot` at `now`, or a refusal naming the event, state and reason.

        `data` must already be coerced (see `coerce`). Nothing is mutated: the caller persists.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if snapshot.state not in self.spec.states:
            raise EventNotAllowed(event, snapshot.state, (), known=True, state_known=False)
        self.event(event, snapshot.state)
        if event not in self.allowed_events(snapshot.state):
            raise EventNotAllowed(event, snapshot.state, self.allowed_events(snapshot.state))
        cursor = _Cursor(snapshot.state)
        failures: list[tuple[str, str]] = []
        taken: list[TransitionSpec] = []
        data = data or {}
        moved = self._machine.events[event].trigger(cursor, snapshot=snapshot, now=now, data=data,
                                                    failures=failures, taken=taken)
        if not moved:
            raise GuardFailed(event, snapshot.state, list(dict.fromkeys(failures)))  # each refusal said once
        return Outcome(event, snapshot.state, cursor.state, data, dict(taken[-1].sets))

    def judge(self, snapshot: EnterpriseSnapshot, event: str, now: datetime) -> list[tuple[str, str]]:
        """Whether `event` could be fired on `snapshot` at `now` once its fields are given: [] when one of its
        transitions from the state has every guard holding, a guard that reads one of the event's fields
        being left to the data (it is judged when they are given); else the refusals, (guard, message), each
        once. Refuses an unknown event or one with no transition from the state, as `fire` does."""
        if snapshot.state not in self.spec.states:
            raise EventNotAllowed(event, snapshot.state, (), known=True, state_known=False)
        spec = self.event(event, snapshot.state)
        if event not in self.allowed_events(snapshot.state):
            raise EventNotAllowed(event, snapshot.state, self.allowed_events(snapshot.state))
        given_later = {*spec.requires, *spec.allows}
        failures: list[tuple[str, str]] = []
        for t in spec.transitions:
            if snapshot.state not in t.sources:
                continue
            judged = [GUARDS[g] for g in t.guards if not given_later.intersection(GUARDS[g].reads)]
            refused = next((g for g in judged if not g(snapshot, now, {})), None)
            if refused is None:
                return []
            failure = (refused.name, refused.refusal(snapshot, now, {}))
            if failure not in failures:
                failures.append(failure)
        return failures
