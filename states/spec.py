"""The lifecycle rules as frozen typed objects, checked when they are built.

`parse_lifecycle` takes the parsed YAML document and returns a LifecycleSpec, or raises
DefinitionError listing every problem found (unknown keys, unknown states, roles, fields or guards,
unreachable states, trap states, states with no path to a final state, a transition both internal and
with a destination, grades missing or unknown), each naming its key.

A transition written `internal: true` (and no `dest`) keeps the state: the event is recorded and its
effects apply, but the enterprise stays where it is (`expire` during a rectification case records the
end of the grade's validity; the case goes on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from states.errors import DefinitionError
from states.guard import GUARDS
from states.names import Grade

FIELD_TYPES = ("text", "int", "date", "choice")
SCOPES = ("all", "district", "enterprise", "none")


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: str
    final: bool = False


@dataclass(frozen=True)
class RoleSpec:
    name: str
    label: str
    scope: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransitionSpec:
    sources: tuple[str, ...]
    dest: str | None  # None: an internal transition (`internal: true`), which keeps the state
    guards: tuple[str, ...] = ()
    sets: Mapping[str, str] = field(default_factory=dict)  # fields this transition fixes (e.g. the reason)

    @property
    def internal(self) -> bool:
        return self.dest is None

    def dest_from(self, source: str) -> str:
        """Where the transition leads from `source` (an internal one stays there)."""
        return source if self.dest is None else self.dest


@dataclass(frozen=True)
class EventSpec:
    name: str
    label: str
    roles: tuple[str, ...]
    transitions: tuple[TransitionSpec, ...]
    requires: tuple[str, ...] = ()
    allows: tuple[str, ...] = ()
    via: str | None = None  # the command that fires it, deriving its data; not fired by hand

    @property
    def sources(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.update(dict.fromkeys(t.sources))
        return tuple(seen)


@dataclass(frozen=True)
class LifecycleSpec:
    initial: str
    states: Mapping[str, StateSpec]
    roles: Mapping[str, RoleSpec]
    fields: Mapping[str, FieldSpec]
    events: Mapping[str, EventSpec]
    actions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # non-event action -> roles
    record_events: Mapping[str, str] = field(default_factory=dict)  # audit-only event -> label
    grades: Mapping[str, str] = field(default_factory=dict)  # grade (states.names.Grade) -> label

    def event_label(self, name: str) -> str:
        """The Chinese label of a lifecycle event or an audit-only record event."""
        spec = self.events.get(name)
        return spec.label if spec else self.record_events.get(name, name)

    def may(self, role: str, action: str) -> bool:
        return role in self.actions.get(action, ())

    def label(self, state: str) -> str:
        spec = self.states.get(state)
        return spec.label if spec else state

    @property
    def final_states(self) -> tuple[str, ...]:
        """The states marked `final: true`, which no event leaves."""
        return tuple(n for n, s in self.states.items() if s.final)

    def destinations(self, event: str) -> tuple[str, ...]:
        """The states an event can move to, in the order its transitions are tried (an internal transition moves
        nowhere); () for an unknown event."""
        spec = self.events.get(event)
        return tuple(dict.fromkeys(t.dest for t in spec.transitions if t.dest is not None)) if spec else ()

    def keeps_state(self, event: str, state: str) -> bool:
        """Whether `event` fired in `state` leaves the enterprise there: every transition of it from `state`
        is internal (and there is at least one)."""
        spec = self.events.get(event)
        routes = [t for t in spec.transitions if state in t.sources] if spec else []
        return bool(routes) and all(t.internal for t in routes)

    def grade_label(self, grade: str) -> str:
        return self.grades.get(grade, grade)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key}: {message}")

    def mapping(self, key: str, value: Any) -> Mapping[Any, Any]:
        """The value when it is a mapping (or absent); otherwise record the problem and give {}."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(key, f"must be a mapping, got {type(value).__name__}")
            return {}
        return value

    def keys(self, key: str, value: Any, allowed: Sequence[str], required: Sequence[str] = ()) -> bool:
        """Check a mapping's keys; False (with the problem recorded) when it is not a mapping."""
        if not isinstance(value, Mapping):
            self.add(key, f"must be a mapping, got {type(value).__name__}")
            return False
        unknown = sorted(set(map(str, value)) - set(allowed))
        if unknown:
            self.add(key, f"unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(allowed)}")
        for name in required:
            if name not in value:
                self.add(key, f"missing required key '{name}'")
        return True


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def parse_lifecycle(
    doc: Any, choice_lists: Mapping[str, Sequence[str]] | None = None, source: str = "lifecycle.yaml"
) -> LifecycleSpec:
    """Build the spec from a parsed document; `choice_lists` resolves fields' `choices_from`."""
    p = _Problems()
    if not p.keys("(top)", doc, ("initial", "states", "roles", "fields", "events", "actions", "record_events",
                                 "grades"), ("initial", "states", "roles", "events")):
        raise DefinitionError(p.items, source)
    states = _states(p, doc.get("states"))
    initial = str(doc.get("initial"))
    if states and initial not in states:
        p.add("initial", f"unknown state '{initial}'; known states are {', '.join(states)}")
    roles = _roles(p, doc.get("roles"))
    fields = _fields(p, doc.get("fields"), choice_lists or {})
    events = _events(p, doc.get("events"), states, roles, fields)
    actions = _actions(p, doc.get("actions"), roles)
    record_events = _record_events(p, doc.get("record_events"), events)
    grades = _grades(p, doc.get("grades"))
    if states and initial in states:
        _check_graph(p, initial, states, events)
    if p.items:
        raise DefinitionError(p.items, source)
    return LifecycleSpec(initial, states, roles, fields, events, actions, record_events, grades)


# --- the sections, each checked against those parsed before it ------------------------------------------

def _states(p: _Problems, raw: Any) -> dict[str, StateSpec]:
    states: dict[str, StateSpec] = {}
    for name, body in p.mapping("states", raw).items():
        key = f"states.{name}"
        # label_en stays an accepted key (lifecycle.yaml documents each state in English with it); nothing reads it
        if p.keys(key, body, ("label", "label_en", "final"), ("label",)):
            if not isinstance(body.get("final", False), bool):
                p.add(f"{key}.final", f"{body['final']!r} is not true or false")
            states[str(name)] = StateSpec(str(name), str(body.get("label", name)), bool(body.get("final", False)))
    if not states:
        p.add("states", "at least one state is required")
    return states


def _roles(p: _Problems, raw: Any) -> dict[str, RoleSpec]:
    roles: dict[str, RoleSpec] = {}
    for name, body in p.mapping("roles", raw).items():
        key = f"roles.{name}"
        if p.keys(key, body, ("label", "scope"), ("scope",)):
            scope = str(body.get("scope"))
            if scope not in SCOPES:
                p.add(f"{key}.scope", f"'{scope}' is not a scope; allowed are {', '.join(SCOPES)}")
            roles[str(name)] = RoleSpec(str(name), str(body.get("label", name)), scope)
    return roles


def _fields(p: _Problems, raw: Any, choice_lists: Mapping[str, Sequence[str]]) -> dict[str, FieldSpec]:
    fields: dict[str, FieldSpec] = {}
    for name, body in p.mapping("fields", raw).items():
        key = f"fields.{name}"
        if p.keys(key, body, ("type", "label", "choices", "choices_from"), ("type",)):
            fields[str(name)] = _field(p, key, str(name), body, choice_lists)
    return fields


def _field(p: _Problems, key: str, name: str, body: Mapping[str, Any],
           choice_lists: Mapping[str, Sequence[str]]) -> FieldSpec:
    ftype = str(body.get("type"))
    if ftype not in FIELD_TYPES:
        p.add(f"{key}.type", f"'{ftype}' is not a field type; allowed are {', '.join(FIELD_TYPES)}")
    choices: tuple[str, ...] = _names(body.get("choices"))
    if "choices_from" in body:
        ref = str(body["choices_from"])
        if ref not in choice_lists:
            p.add(f"{key}.choices_from", f"no list named '{ref}'; known lists are "
                  f"{', '.join(choice_lists) or 'none'}")
        else:
            choices = tuple(choice_lists[ref])
    if ftype == "choice" and not choices and "choices_from" not in body:
        p.add(key, "a choice field needs 'choices' or 'choices_from'")
    return FieldSpec(name, ftype, str(body.get("label", name)), choices)


def _events(p: _Problems, raw: Any, states: Mapping[str, StateSpec], roles: Mapping[str, RoleSpec],
            fields: Mapping[str, FieldSpec]) -> dict[str, EventSpec]:
    events: dict[str, EventSpec] = {}
    for name, body in p.mapping("events", raw).items():
        key = f"events.{name}"
        if p.keys(key, body, ("label", "roles", "requires", "allows", "transitions", "via"),
                  ("roles", "transitions")):
            events[str(name)] = _event(p, key, str(name), body, states, roles, fields)
    return events


def _event(p: _Problems, key: str, name: str, body: Mapping[str, Any], states: Mapping[str, StateSpec],
           roles: Mapping[str, RoleSpec], fields: Mapping[str, FieldSpec]) -> EventSpec:
    ev_roles = _names(body.get("roles"))
    for r in ev_roles:
        if r not in roles:
            p.add(f"{key}.roles", f"unknown role '{r}'; known roles are {', '.join(roles)}")
    requires, allows = _names(body.get("requires")), _names(body.get("allows"))
    for which, names in (("requires", requires), ("allows", allows)):
        for f in names:
            if f not in fields:
                p.add(f"{key}.{which}", f"unknown field '{f}'; known fields are {', '.join(fields)}")
    raw_transitions = body.get("transitions") or []
    if not isinstance(raw_transitions, list) or not raw_transitions:
        p.add(f"{key}.transitions", "must be a non-empty list")
        raw_transitions = []
    transitions: list[TransitionSpec] = []
    for i, t in enumerate(raw_transitions):
        tkey = f"{key}.transitions[{i}]"
        if p.keys(tkey, t, ("source", "dest", "internal", "guards", "sets"), ("source",)):
            transitions.append(_transition(p, tkey, t, states, fields))
    return EventSpec(name, str(body.get("label", name)), ev_roles, tuple(transitions), requires, allows,
                     str(body["via"]) if body.get("via") else None)


def _dest(p: _Problems, tkey: str, t: Mapping[str, Any]) -> str | None:
    """The transition's destination; None for an internal one (`internal: true`, no `dest`)."""
    internal = t.get("internal", False)
    if not isinstance(internal, bool):
        p.add(f"{tkey}.internal", f"{internal!r} is not true or false")
        internal = False
    if internal and "dest" in t:
        p.add(tkey, "an internal transition keeps the state: give `internal: true` or a `dest`, not both")
    elif not internal and "dest" not in t:
        p.add(tkey, "missing required key 'dest' (or `internal: true` for a transition that keeps the state)")
    return None if internal else str(t.get("dest"))


def _transition(p: _Problems, tkey: str, t: Mapping[str, Any], states: Mapping[str, StateSpec],
                fields: Mapping[str, FieldSpec]) -> TransitionSpec:
    sources, dest, guards = _names(t.get("source")), _dest(p, tkey, t), _names(t.get("guards"))
    sets = {str(k): str(v) for k, v in p.mapping(f"{tkey}.sets", t.get("sets")).items()}
    for fname, value in sets.items():
        fspec = fields.get(fname)
        if fspec is None:
            p.add(f"{tkey}.sets", f"unknown field '{fname}'; known fields are {', '.join(fields)}")
        elif fspec.type == "choice" and value not in fspec.choices:
            p.add(f"{tkey}.sets.{fname}", f"'{value}' is not allowed; choose one of {', '.join(fspec.choices)}")
    for s in (*sources, *([dest] if dest is not None else [])):
        if s not in states:
            p.add(tkey, f"unknown state '{s}'; known states are {', '.join(states)}")
    for s in sources:
        if s in states and states[s].final:
            p.add(tkey, f"state '{s}' is final: no event may leave it")
    for g in guards:
        if g not in GUARDS:
            p.add(f"{tkey}.guards", f"unknown guard '{g}'; known guards are {', '.join(GUARDS)}")
    return TransitionSpec(sources, dest, guards, sets)


def _actions(p: _Problems, raw: Any, roles: Mapping[str, RoleSpec]) -> dict[str, tuple[str, ...]]:
    actions: dict[str, tuple[str, ...]] = {}
    for name, who in p.mapping("actions", raw).items():
        actions[str(name)] = _names(who)
        for r in actions[str(name)]:
            if r not in roles:
                p.add(f"actions.{name}", f"unknown role '{r}'; known roles are {', '.join(roles)}")
    return actions


def _grades(p: _Problems, raw: Any) -> dict[str, str]:
    """The label of each grade the engine reads beside the state (states/grade.py); no other. (That every one is
    labelled is checked with the other names the engine needs: states.names.missing_names.)"""
    grades = {str(k): str(v) for k, v in p.mapping("grades", raw).items()}
    for name in sorted(grades.keys() - set(Grade)):
        p.add(f"grades.{name}", f"unknown grade; the engine knows {', '.join(Grade)}")
    return grades


def _record_events(p: _Problems, raw: Any, events: Mapping[str, EventSpec]) -> dict[str, str]:
    record_events = {str(k): str(v) for k, v in p.mapping("record_events", raw).items()}
    for name in record_events.keys() & events.keys():
        p.add(f"record_events.{name}", "is also a lifecycle event; give record events their own names")
    return record_events


# --- the graph: every state reachable, none a trap, a final state reachable from each ------------------

def _check_graph(p: _Problems, initial: str, states: Mapping[str, StateSpec],
                 events: Mapping[str, EventSpec]) -> None:
    edges = _edges(states, events)
    unreachable = [s for s in states if s not in _reach(edges, {initial})]
    if unreachable:
        p.add("states", f"unreachable from '{initial}': {', '.join(unreachable)}")
    finals = {s for s, spec in states.items() if spec.final}
    if not finals:
        p.add("states", "no final state: mark at least one with 'final: true'")
    traps = [s for s in states if not states[s].final and not edges[s]]
    if traps:
        p.add("states", f"trap state(s) with no way out and not final: {', '.join(traps)}")
    # states from which no final state can be reached (reachability from the finals, edges reversed)
    reverse: dict[str, set[str]] = {s: set() for s in states}
    for s, dests in edges.items():
        for d in dests:
            reverse[d].add(s)
    can_end = _reach(reverse, finals)
    stuck = [s for s in states if s not in can_end and s not in traps]
    if finals and stuck:
        p.add("states", f"no path to a final state from: {', '.join(stuck)}")


def _edges(states: Mapping[str, StateSpec], events: Mapping[str, EventSpec]) -> dict[str, set[str]]:
    """state -> the known states some transition leads to from it."""
    edges: dict[str, set[str]] = {s: set() for s in states}
    for t in (t for ev in events.values() for t in ev.transitions):
        if t.dest is not None and t.dest in states:
            for s in t.sources:
                if s in edges:
                    edges[s].add(t.dest)
    return edges


def _reach(edges: Mapping[str, set[str]], start: set[str]) -> set[str]:
    """Every state reached from `start` along `edges` (start included)."""
    reached, todo = set(start), list(start)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    return reached
