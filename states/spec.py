"""The lifecycle rules as frozen typed objects, checked when they are built.

`parse_lifecycle` takes the parsed YAML document and returns a LifecycleSpec, or raises
DefinitionError listing every problem found (unknown keys, unknown states, roles, fields or guards,
unreachable states, trap states, states with no path to a final state), each naming its key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from states.errors import DefinitionError
from states.guard import GUARDS

FIELD_TYPES = ("text", "int", "date", "choice")
SCOPES = ("all", "district", "enterprise", "none")


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: str
    label_en: str
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
    dest: str
    guards: tuple[str, ...] = ()
    sets: Mapping[str, str] = field(default_factory=dict)  # fields this transition fixes (e.g. the reason)


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
        return tuple(n for n, s in self.states.items() if s.final)


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
    choice_lists = choice_lists or {}
    if not p.keys("(top)", doc, ("initial", "states", "roles", "fields", "events", "actions", "record_events"),
                  ("initial", "states", "roles", "events")):
        raise DefinitionError(p.items, source)

    states: dict[str, StateSpec] = {}
    for name, body in p.mapping("states", doc.get("states")).items():
        key = f"states.{name}"
        if p.keys(key, body, ("label", "label_en", "final"), ("label",)):
            if not isinstance(body.get("final", False), bool):
                p.add(f"{key}.final", f"{body['final']!r} is not true or false")
            states[str(name)] = StateSpec(str(name), str(body.get("label", name)),
                                          str(body.get("label_en", name)), bool(body.get("final", False)))
    if not states:
        p.add("states", "at least one state is required")

    initial = str(doc.get("initial"))
    if states and initial not in states:
        p.add("initial", f"unknown state '{initial}'; known states are {', '.join(states)}")

    roles: dict[str, RoleSpec] = {}
    for name, body in p.mapping("roles", doc.get("roles")).items():
        key = f"roles.{name}"
        if p.keys(key, body, ("label", "scope"), ("scope",)):
            scope = str(body.get("scope"))
            if scope not in SCOPES:
                p.add(f"{key}.scope", f"'{scope}' is not a scope; allowed are {', '.join(SCOPES)}")
            roles[str(name)] = RoleSpec(str(name), str(body.get("label", name)), scope)

    fields: dict[str, FieldSpec] = {}
    for name, body in p.mapping("fields", doc.get("fields")).items():
        key = f"fields.{name}"
        if not p.keys(key, body, ("type", "label", "choices", "choices_from"), ("type",)):
            continue
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
        fields[str(name)] = FieldSpec(str(name), ftype, str(body.get("label", name)), choices)

    events: dict[str, EventSpec] = {}
    for name, body in p.mapping("events", doc.get("events")).items():
        key = f"events.{name}"
        if not p.keys(key, body, ("label", "roles", "requires", "allows", "transitions", "via"),
                      ("roles", "transitions")):
            continue
        ev_roles = _names(body.get("roles"))
        for r in ev_roles:
            if r not in roles:
                p.add(f"{key}.roles", f"unknown role '{r}'; known roles are {', '.join(roles)}")
        requires, allows = _names(body.get("requires")), _names(body.get("allows"))
        for which, names in (("requires", requires), ("allows", allows)):
            for f in names:
                if f not in fields:
                    p.add(f"{key}.{which}", f"unknown field '{f}'; known fields are {', '.join(fields)}")
        transitions: list[TransitionSpec] = []
        raw_transitions = body.get("transitions") or []
        if not isinstance(raw_transitions, list) or not raw_transitions:
            p.add(f"{key}.transitions", "must be a non-empty list")
            raw_transitions = []
        for i, t in enumerate(raw_transitions):
            tkey = f"{key}.transitions[{i}]"
            if not p.keys(tkey, t, ("source", "dest", "guards", "sets"), ("source", "dest")):
                continue
            sources, dest, guards = _names(t.get("source")), str(t.get("dest")), _names(t.get("guards"))
            sets = {str(k): str(v) for k, v in p.mapping(f"{tkey}.sets", t.get("sets")).items()}
            for fname, value in sets.items():
                fspec = fields.get(fname)
                if fspec is None:
                    p.add(f"{tkey}.sets", f"unknown field '{fname}'; known fields are {', '.join(fields)}")
                elif fspec.type == "choice" and value not in fspec.choices:
                    p.add(f"{tkey}.sets.{fname}", f"'{value}' is not allowed; choose one of {', '.join(fspec.choices)}")
            for s in (*sources, dest):
                if s not in states:
                    p.add(tkey, f"unknown state '{s}'; known states are {', '.join(states)}")
            for s in sources:
                if s in states and states[s].final:
                    p.add(tkey, f"state '{s}' is final: no event may leave it")
            for g in guards:
                if g not in GUARDS:
                    p.add(f"{tkey}.guards", f"unknown guard '{g}'; known guards are {', '.join(GUARDS)}")
            transitions.append(TransitionSpec(sources, dest, guards, sets))
        events[str(name)] = EventSpec(str(name), str(body.get("label", name)), ev_roles,
                                      tuple(transitions), requires, allows,
                                      str(body["via"]) if body.get("via") else None)

    actions: dict[str, tuple[str, ...]] = {}
    for name, who in p.mapping("actions", doc.get("actions")).items():
        actions[str(name)] = _names(who)
        for r in actions[str(name)]:
            if r not in roles:
                p.add(f"actions.{name}", f"unknown role '{r}'; known roles are {', '.join(roles)}")

    record_events = {str(k): str(v) for k, v in p.mapping("record_events", doc.get("record_events")).items()}
    for name in record_events.keys() & events.keys():
        p.add(f"record_events.{name}", "is also a lifecycle event; give record events their own names")

    if states and initial in states:
        _check_graph(p, initial, states, events)
    if p.items:
        raise DefinitionError(p.items, source)
    return LifecycleSpec(initial, states, roles, fields, events, actions, record_events)


def _check_graph(p: _Problems, initial: str, states: Mapping[str, StateSpec],
                 events: Mapping[str, EventSpec]) -> None:
    edges: dict[str, set[str]] = {s: set() for s in states}
    for ev in events.values():
        for t in ev.transitions:
            for s in t.sources:
                if s in edges and t.dest in states:
                    edges[s].add(t.dest)
    reached, todo = {initial}, [initial]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    unreachable = [s for s in states if s not in reached]
    if unreachable:
        p.add("states", f"unreachable from '{initial}': {', '.join(unreachable)}")
    finals = {s for s, spec in states.items() if spec.final}
    if not finals:
        p.add("states", "no final state: mark at least one with 'final: true'")
    traps = [s for s in states if not states[s].final and not edges[s]]
    if traps:
        p.add("states", f"trap state(s) with no way out and not final: {', '.join(traps)}")
    # states from which no final state can be reached (reverse reachability from the finals)
    reverse: dict[str, set[str]] = {s: set() for s in states}
    for s, dests in edges.items():
        for d in dests:
            reverse[d].add(s)
    can_end, todo = set(finals), list(finals)
    while todo:
        for prev in reverse[todo.pop()]:
            if prev not in can_end:
                can_end.add(prev)
                todo.append(prev)
    stuck = [s for s in states if s not in can_end and s not in traps]
    if finals and stuck:
        p.add("states", f"no path to a final state from: {', '.join(stuck)}")
