"""parse_lifecycle: every kind of mistake is refused at load time, naming the key and what is allowed."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from states import DefinitionError, LifecycleSpec, parse_lifecycle
from states.guard import GUARDS

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
STATES_DIR = ROOT / "states"
LISTS = {"reasons": ("relocated", "deregistered"), "sources": ("complaint",)}
GUARD_NAMES = ", ".join(GUARDS)


def base() -> dict[str, Any]:
    """A small, valid lifecycle: new -> open -> done (final), open -> dropped (final)."""
    return {
        "initial": "new",
        "states": {
            "new": {"label": "新建"},
            "open": {"label": "办理中", "label_en": "open"},
            "done": {"label": "办结", "final": True},
            "dropped": {"label": "撤销", "final": True},
        },
        "roles": {"officer": {"label": "经办人", "scope": "district"}, "boss": {"scope": "all"}},
        "fields": {
            "result": {"type": "choice", "choices": ["好", "差"], "label": "结果"},
            "reason": {"type": "choice", "choices_from": "reasons"},
            "count": {"type": "int"},
            "note": {"type": "text"},
        },
        "events": {
            "start": {"label": "开始", "roles": ["officer"], "transitions": [{"source": "new", "dest": "open"}]},
            "finish": {"roles": ["officer", "boss"], "requires": ["result"], "allows": ["note"],
                       "transitions": [{"source": "open", "dest": "done", "guards": ["has_open_findings"]},
                                       {"source": "open", "dest": "done"}]},
            "drop": {"roles": "boss", "requires": ["reason"],
                     "transitions": [{"source": ["new", "open"], "dest": "dropped", "sets": {"result": "差"}}]},
        },
        "actions": {"import_ledger": ["boss", "officer"]},
    }


def problems(doc: Any, lists: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        parse_lifecycle(doc, LISTS if lists is None else lists)
    assert str(info.value).startswith(f"lifecycle.yaml: {len(info.value.problems)} problem(s): ")
    return info.value.problems


def edited(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(base())
    change(doc)
    return doc


def test_the_small_lifecycle_parses() -> None:
    spec = parse_lifecycle(base(), LISTS)
    assert isinstance(spec, LifecycleSpec)
    assert spec.initial == "new"
    assert spec.final_states == ("done", "dropped")
    assert spec.fields["reason"].choices == LISTS["reasons"]
    assert spec.events["drop"].roles == ("boss",)
    assert spec.events["drop"].transitions[0].sets == {"result": "差"}
    assert spec.events["finish"].sources == ("open",)
    assert spec.events["finish"].label == "finish"  # label defaults to the name
    assert spec.label("open") == "办理中"
    assert spec.label("nowhere") == "nowhere"
    assert spec.may("boss", "import_ledger")
    assert not spec.may("boss", "checkpoint")


def test_the_real_rules_parse() -> None:
    doc = yaml.safe_load((RULES_DIR / "lifecycle.yaml").read_text(encoding="utf-8"))
    triggers = yaml.safe_load((RULES_DIR / "triggers.yaml").read_text(encoding="utf-8"))
    spec = parse_lifecycle(doc, {k: tuple(v) for k, v in triggers.items()})
    assert spec.initial == "graded"
    assert spec.final_states == ("excluded",)
    assert len(spec.states) == 9
    assert len(spec.events) == 13
    for event in spec.events.values():
        for t in event.transitions:
            assert set(t.guards) <= set(GUARDS)  # every guard name resolves (transitions fails only when fired)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets doc[a][b]... = value; value DELETE removes the key."""
    keys = path.split("/")

    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        if value is DELETE:
            del node[keys[-1]]
        elif isinstance(node, list):
            node[int(keys[-1])] = value
        else:
            node[keys[-1]] = value

    return change


DELETE = object()

MISTAKES = [
    pytest.param(_set("stats", {}), "(top): unknown key(s) stats; allowed keys are initial, states, roles, fields, "
                 "events, actions, record_events, grades", id="unknown-top-level-key"),
    pytest.param(_set("events", DELETE), "(top): missing required key 'events'", id="missing-top-level-key"),
    pytest.param(_set("states/new/colour", "red"), "states.new: unknown key(s) colour; allowed keys are label, "
                 "label_en, final", id="unknown-state-key"),
    pytest.param(_set("states/open/label", DELETE), "states.open: missing required key 'label'", id="missing-label"),
    pytest.param(_set("states/open", "办理中"), "states.open: must be a mapping, got str", id="state-not-a-mapping"),
    pytest.param(_set("events/start/transitions/0/dest", "opened"), "events.start.transitions[0]: unknown state "
                 "'opened'; known states are new, open, done, dropped", id="unknown-dest-state"),
    pytest.param(_set("events/drop/transitions/0/source", ["new", "pending"]), "events.drop.transitions[0]: "
                 "unknown state 'pending'; known states are new, open, done, dropped", id="unknown-source-state"),
    pytest.param(_set("events/finish/transitions/0/guards", ["is_sunny"]), "events.finish.transitions[0].guards: "
                 f"unknown guard 'is_sunny'; known guards are {GUARD_NAMES}", id="unknown-guard"),
    pytest.param(_set("events/start/roles", ["officer", "mayor"]), "events.start.roles: unknown role 'mayor'; "
                 "known roles are officer, boss", id="unknown-role-in-event"),
    pytest.param(_set("actions/import_ledger", ["mayor"]), "actions.import_ledger: unknown role 'mayor'; "
                 "known roles are officer, boss", id="unknown-role-in-actions"),
    pytest.param(_set("roles/boss/scope", "province"), "roles.boss.scope: 'province' is not a scope; allowed are "
                 "all, district, enterprise, none", id="unknown-scope"),
    pytest.param(_set("roles/boss/rank", 1), "roles.boss: unknown key(s) rank; allowed keys are label, scope",
                 id="unknown-role-key"),
    pytest.param(_set("events/finish/requires", ["result", "colour"]), "events.finish.requires: unknown field "
                 "'colour'; known fields are result, reason, count, note", id="unknown-field-in-requires"),
    pytest.param(_set("events/finish/allows", ["memo"]), "events.finish.allows: unknown field 'memo'; known fields "
                 "are result, reason, count, note", id="unknown-field-in-allows"),
    pytest.param(_set("events/finish/colour", 1), "events.finish: unknown key(s) colour; allowed keys are label, "
                 "roles, requires, allows, transitions, via", id="unknown-event-key"),
    pytest.param(_set("events/finish/transitions/0/when", "x"), "events.finish.transitions[0]: unknown key(s) when; "
                 "allowed keys are source, dest, internal, guards, sets", id="unknown-transition-key"),
    pytest.param(_set("events/finish/transitions/1/internal", True), "events.finish.transitions[1]: an internal "
                 "transition keeps the state: give `internal: true` or a `dest`, not both", id="internal-and-dest"),
    pytest.param(_set("events/finish/transitions/1/dest", DELETE), "events.finish.transitions[1]: missing required "
                 "key 'dest' (or `internal: true` for a transition that keeps the state)", id="no-dest-not-internal"),
    pytest.param(_set("events/start/transitions/0/internal", "yes"), "events.start.transitions[0].internal: 'yes' "
                 "is not true or false", id="internal-not-a-boolean"),
    pytest.param(_set("grades", {"valid": "有效", "suspended": "暂停"}), "grades.suspended: unknown grade; the engine "
                 "knows valid, expired, revoked, excluded", id="unknown-grade"),
    pytest.param(_set("events/finish/transitions", []), "events.finish.transitions: must be a non-empty list",
                 id="no-transitions"),
    pytest.param(_set("fields/result/choices", DELETE), "fields.result: a choice field needs 'choices' or "
                 "'choices_from'", id="choice-without-choices"),
    pytest.param(_set("fields/count/type", "float"), "fields.count.type: 'float' is not a field type; allowed are "
                 "text, int, date, choice", id="unknown-field-type"),
    pytest.param(_set("fields/reason/choices_from", "motives"), "fields.reason.choices_from: no list named 'motives'; "
                 "known lists are reasons, sources", id="unknown-choices-from"),
    pytest.param(_set("events/drop/transitions/0/sets", {"colour": "红"}), "events.drop.transitions[0].sets: "
                 "unknown field 'colour'; known fields are result, reason, count, note", id="sets-unknown-field"),
    pytest.param(_set("events/drop/transitions/0/sets", {"result": "中"}), "events.drop.transitions[0].sets.result: "
                 "'中' is not allowed; choose one of 好, 差", id="sets-value-not-a-choice"),
    pytest.param(_set("events/drop/transitions/0/sets", {"reason": "fire"}), "events.drop.transitions[0].sets.reason:"
                 " 'fire' is not allowed; choose one of relocated, deregistered", id="sets-value-not-in-choices-from"),
    pytest.param(_set("events/drop/transitions/0/source", ["new", "open", "done"]), "events.drop.transitions[0]: "
                 "state 'done' is final: no event may leave it", id="transition-leaving-final"),
    pytest.param(_set("initial", "start"), "initial: unknown state 'start'; known states are new, open, done, dropped",
                 id="initial-not-a-state"),
    pytest.param(_set("states", {}), "states: at least one state is required", id="no-states"),
]


@pytest.mark.parametrize(("change", "expected"), MISTAKES)
def test_each_mistake_is_named(change: Callable[[dict[str, Any]], None], expected: str) -> None:
    assert expected in problems(edited(change))


def test_unknown_choices_from_is_one_problem() -> None:
    assert problems(edited(_set("fields/reason/choices_from", "motives"))) == [
        "fields.reason.choices_from: no list named 'motives'; known lists are reasons, sources"]


def test_choices_from_with_no_lists_says_none() -> None:
    assert "fields.reason.choices_from: no list named 'reasons'; known lists are none" in problems(base(), {})


@pytest.mark.parametrize("doc", [None, [], "initial: new"], ids=["empty", "list", "text"])
def test_document_not_a_mapping(doc: Any) -> None:
    assert problems(doc) == [f"(top): must be a mapping, got {type(doc).__name__}"]


# --- the graph: reachability, traps, a way to a final state ----------------------------------------------

def _add_state(doc: dict[str, Any], name: str, **body: Any) -> None:
    doc["states"][name] = {"label": name.upper(), **body}


def _add_event(doc: dict[str, Any], name: str, source: str | list[str], dest: str) -> None:
    doc["events"][name] = {"roles": ["boss"], "transitions": [{"source": source, "dest": dest}]}


def test_unreachable_state() -> None:
    def change(doc: dict[str, Any]) -> None:
        _add_state(doc, "orphan")
        _add_event(doc, "leave_orphan", "orphan", "done")

    assert problems(edited(change)) == ["states: unreachable from 'new': orphan"]


def test_trap_state() -> None:
    def change(doc: dict[str, Any]) -> None:
        _add_state(doc, "stuck")
        _add_event(doc, "get_stuck", "open", "stuck")

    assert problems(edited(change)) == ["states: trap state(s) with no way out and not final: stuck"]


def test_no_path_to_a_final_state() -> None:
    def change(doc: dict[str, Any]) -> None:
        _add_state(doc, "ping")
        _add_state(doc, "pong")
        _add_event(doc, "to_ping", "open", "ping")
        _add_event(doc, "to_pong", "ping", "pong")
        _add_event(doc, "back_to_ping", "pong", "ping")

    assert problems(edited(change)) == ["states: no path to a final state from: ping, pong"]


def test_no_final_state_at_all() -> None:
    def change(doc: dict[str, Any]) -> None:
        for state in doc["states"].values():
            state.pop("final", None)
        _add_event(doc, "reopen", ["done", "dropped"], "new")

    assert problems(edited(change)) == ["states: no final state: mark at least one with 'final: true'"]


def test_several_mistakes_are_all_reported() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["stats"] = {}
        del doc["states"]["open"]["label"]
        doc["events"]["start"]["roles"] = ["mayor"]
        doc["events"]["finish"]["transitions"][0]["guards"] = ["is_sunny"]
        doc["fields"]["count"]["type"] = "float"
        doc["actions"]["checkpoint"] = ["robot"]

    found = problems(edited(change))
    for fragment in ("(top): unknown key(s) stats", "states.open: missing required key 'label'",
                     "events.start.roles: unknown role 'mayor'", "unknown guard 'is_sunny'",
                     "fields.count.type: 'float' is not a field type", "actions.checkpoint: unknown role 'robot'"):
        assert any(fragment in p for p in found), fragment
    assert len(found) == 6


# --- states/ stays pure ----------------------------------------------------------------------------------

FORBIDDEN_IMPORTS = ("safegrade", "flows", "sqlmodel", "sqlalchemy", "prefect", "apscheduler", "logging", "time")
WALL_CLOCK = ("now", "today", "utcnow", "utcfromtimestamp", "fromtimestamp")


@pytest.mark.parametrize("path", sorted(STATES_DIR.glob("*.py")), ids=lambda p: p.name)
def test_states_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                bad.append(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WALL_CLOCK:
            bad.append(f"line {node.lineno}: .{node.func.attr}()")
    assert bad == [], f"{path.name} must stay pure: {bad}"


def test_the_purity_check_catches_what_it_looks_for() -> None:
    sample = "import sqlalchemy\nfrom safegrade.rules import x\nfrom datetime import date\nd = date.today()\n"
    tree = ast.parse(sample)
    names = [n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert names == ["today"]
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert {m.split(".")[0] for m in imported} & set(FORBIDDEN_IMPORTS) == {"sqlalchemy", "safegrade"}


# --- internal transitions: the state is kept ------------------------------------------------------------

def _with_internal_note(doc: dict[str, Any]) -> None:
    doc["events"]["annotate"] = {"label": "备注", "roles": ["officer"], "requires": ["note"],
                                 "transitions": [{"source": ["new", "open"], "internal": True}]}


def test_an_internal_transition_keeps_the_state_and_adds_no_edge() -> None:
    spec = parse_lifecycle(edited(_with_internal_note), LISTS)
    (t,) = spec.events["annotate"].transitions
    assert (t.internal, t.dest, t.dest_from("open")) == (True, None, "open")
    assert spec.events["annotate"].sources == ("new", "open")
    assert spec.destinations("annotate") == ()
    assert spec.keeps_state("annotate", "open")
    assert not spec.keeps_state("finish", "open")
    assert not spec.keeps_state("annotate", "done")  # no transition from there at all


def test_an_internal_transition_is_no_way_out_of_a_state() -> None:
    """A state left only by internal transitions is a trap: they keep it there."""
    def change(doc: dict[str, Any]) -> None:
        _add_state(doc, "stuck")
        _add_event(doc, "get_stuck", "open", "stuck")
        doc["events"]["wait"] = {"roles": ["boss"], "transitions": [{"source": "stuck", "internal": True}]}

    assert problems(edited(change)) == ["states: trap state(s) with no way out and not final: stuck"]


def test_grades_are_labelled_in_the_rules() -> None:
    spec = parse_lifecycle({**base(), "grades": {"valid": "有效", "expired": "有效期届满"}}, LISTS)
    assert (spec.grade_label("valid"), spec.grade_label("expired"), spec.grade_label("revoked")) == (
        "有效", "有效期届满", "revoked")


def test_record_events_have_labels_and_may_not_shadow_lifecycle_events() -> None:
    spec = parse_lifecycle({**base(), "record_events": {"register": "登记"}}, LISTS)
    labels = (spec.event_label("register"), spec.event_label("start"), spec.event_label("nope"))
    assert labels == ("登记", "开始", "nope")
    assert problems({**base(), "record_events": {"start": "x"}}) == [
        "record_events.start: is also a lifecycle event; give record events their own names"]
