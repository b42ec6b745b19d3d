"""Errors carry fields, not CLI flags: each refusal of the services carries a code, the field, the bad value
and what is allowed; the services' text names no option or command; the CLI words every field and hint
the services use, once, at its edge."""

from __future__ import annotations

import ast
import pickle
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date as D  # noqa: N817  (short: dates fill these tables)
from pathlib import Path
from typing import Any

import pytest

from safegrade.cli.errors import CLI, COMMANDS, OPTIONS, error_lines
from safegrade.clock import parse_instant
from safegrade.errors import (
    HINTS,
    PLAIN,
    EventNotAllowed,
    FieldError,
    Forbidden,
    InputErrors,
    InvalidInput,
    NotFound,
    Problem,
    SafegradeError,
    render,
    speaking,
    spoken,
)
from safegrade.services.actors import add_actor
from safegrade.services.campaign import open_campaign
from safegrade.services.deadlines import list_deadlines
from safegrade.services.enterprise import list_enterprises, show_enterprise
from safegrade.services.finding import list_findings, submit_finding, verify_finding
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.plan import plan_deadlines
from safegrade.services.reminders import send_reminders
from safegrade.services.reporting.loop import loop_report
from safegrade.settings import PROJECT_ROOT, find_config
from tests.factories import World, build_world, credit_code, row, write_ledger

CLI_WORDS = re.compile(r"--[a-z]|safegrade ")
UNKNOWN = "91350100M000100Y43"  # a valid credit code nobody registered
PLAIN_PACKAGES = ["safegrade/services", "safegrade/io", "safegrade/domain", "states"]
RAISING = [*PLAIN_PACKAGES, "safegrade/rules.py", "safegrade/settings.py", "safegrade/clock.py"]


@pytest.fixture
def world(make_ctx, tmp_path) -> World:
    return build_world(make_ctx, tmp_path, per_district=2)


# --- each structured error of the services ---------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """A call that the services refuse, and the parts the refusal must carry."""

    call: Callable[[Callable[..., Any], World, Path], object]
    error: type[Exception]
    code: str
    field: str | None
    value: object
    allowed: object = None  # None: not checked; a callable: a predicate on `allowed`


def _codes_file(tmp: Path) -> Path:
    return tmp / "missing-codes.txt"


def _changed_ledger(ctx: Callable[..., Any], _world: World, tmp: Path) -> object:
    changed = dict(row(1, "武清区"), 有效期至="2025-03-31")
    return import_ledger(ctx("boss"), [write_ledger(tmp / "changed.csv", [changed])])


CASES = {
    "ledger import: a file of another type": Case(
        lambda ctx, _w, tmp: import_ledger(ctx("boss"), [tmp / "ledger.ods"]),
        InvalidInput, "wrong_file_type", "paths", "{tmp}/ledger.ods", [".csv", ".xlsx"]),
    "ledger import: changed values without amending": Case(
        _changed_ledger, InputErrors, "invalid_rows", "paths", ["{tmp}/changed.csv"]),
    "campaign open: the end before the start": Case(
        lambda ctx, _w, _tmp: open_campaign(ctx("boss"), "x", D(2023, 9, 1), D(2023, 8, 31), all_=True),
        InvalidInput, "before_start", "ends_on", D(2023, 8, 31), "on or after 2023-09-01"),
    "campaign open: an unknown district": Case(
        lambda ctx, _w, _tmp: open_campaign(ctx("boss"), "x", D(2023, 6, 1), D(2023, 8, 31), district="塘沽"),
        InvalidInput, "unknown_district", "district", "塘沽", lambda allowed: "武清区" in allowed),
    "campaign open: two selections": Case(
        lambda ctx, _w, _tmp: open_campaign(ctx("boss"), "x", D(2023, 6, 1), D(2023, 8, 31), all_=True,
                                          district="武清"),
        InvalidInput, "choose_one", "all", ["all", "district"], ["all", "district", "codes_file"]),
    "campaign open: no codes file": Case(
        lambda ctx, _w, tmp: open_campaign(ctx("boss"), "x", D(2023, 6, 1), D(2023, 8, 31),
                                          codes_file=_codes_file(tmp)),
        InvalidInput, "no_such_file", "codes_file", "{tmp}/missing-codes.txt"),
    "fire: an unknown enterprise": Case(
        lambda ctx, _w, _tmp: fire_event(ctx("boss"), UNKNOWN, "open_assessment", reason="x", via_service=True),
        NotFound, "unknown_enterprise", "credit_code", UNKNOWN),
    "fire: an event the state does not allow": Case(
        lambda ctx, w, _tmp: fire_event(ctx("wq"), w.wuqing[0], "revoke", reason="x"),
        EventNotAllowed, "event_not_allowed", "event", "revoke", lambda allowed: "open_assessment" in allowed),
    "fire: no reason": Case(
        lambda ctx, w, _tmp: fire_event(ctx("wq"), w.wuqing[0], "open_assessment", reason=" ", via_service=True),
        InvalidInput, "required", "reason", " "),
    "fire: a value of the wrong type": Case(
        lambda ctx, w, _tmp: fire_event(ctx("wq"), w.wuqing[0], "propose_revocation", reason="x",
                                       data={"revocation_reason": "nonsense"}),
        FieldError, "invalid_value", "revocation_reason", "nonsense", lambda allowed: len(allowed) > 1),
    "finding: an unknown one": Case(
        lambda ctx, _w, _tmp: verify_finding(ctx("boss"), 999),
        NotFound, "unknown_finding", "finding_id", 999),
    "finding: submitted without evidence": Case(
        lambda ctx, _w, _tmp: submit_finding(ctx("wq"), 1, []),
        InvalidInput, "required", "evidence", [], "one or more files"),
    "finding: listed by an unknown status": Case(
        lambda ctx, _w, _tmp: list_findings(ctx("boss"), status="lost"),
        InvalidInput, "unknown_choice", "status", "lost", ["open", "submitted", "verified"]),
    "deadlines: listed by an unknown kind": Case(
        lambda ctx, _w, _tmp: list_deadlines(ctx("boss"), kind="holiday"),
        InvalidInput, "unknown_choice", "kind", "holiday", lambda allowed: "interview" in allowed),
    "deadlines: a plan that ends before it starts": Case(
        lambda ctx, _w, _tmp: plan_deadlines(ctx("boss"), D(2023, 9, 1), D(2023, 8, 1)),
        InvalidInput, "before_start", "end", D(2023, 8, 1), "on or after 2023-09-01"),
    "reports: a loop report of neither an enterprise nor a campaign": Case(
        lambda ctx, _w, _tmp: loop_report(ctx("boss")),
        InvalidInput, "choose_one", "campaign", None, ["credit_code", "campaign"]),
    "reports: a district without a campaign": Case(
        lambda ctx, w, _tmp: loop_report(ctx("boss"), w.wuqing[0], district="武清"),
        InvalidInput, "not_applicable", "district", "武清"),
    "reminders: a limit below one": Case(
        lambda ctx, _w, _tmp: send_reminders(ctx("boss"), limit=0),
        InvalidInput, "out_of_range", "limit", 0, "1 or more"),
    "enterprises: listed by an unknown state": Case(
        lambda ctx, _w, _tmp: list_enterprises(ctx("boss"), state="asleep"),
        InvalidInput, "unknown_state", "state", "asleep", lambda allowed: "graded" in allowed),
    "enterprises: one shown before it was registered": Case(
        lambda ctx, w, _tmp: show_enterprise(ctx("boss"), w.wuqing[0], as_of=parse_instant("2001-01-01", "UTC")),
        NotFound, "unknown_enterprise", "credit_code", credit_code(1)),  # as if nothing later was recorded
    "actors: an unknown role": Case(
        lambda ctx, _w, _tmp: add_actor(ctx("boss"), "someone", "mayor"),
        InvalidInput, "unknown_role", "role", "mayor", lambda allowed: "bureau" in allowed),
    "actors: no actor named": Case(
        lambda ctx, w, _tmp: fire_event(ctx(None), w.wuqing[0], "open_assessment", reason="x", via_service=True),
        Forbidden, "no_actor", "actor", None),
}


def _expected(value: object, tmp: Path) -> object:
    if isinstance(value, str):
        return value.replace("{tmp}", str(tmp))
    if isinstance(value, list):
        return [_expected(v, tmp) for v in value]
    return value


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_refusal_carries_its_code_field_value_and_what_is_allowed(make_ctx, world, tmp_path, case):
    with pytest.raises(case.error) as info:
        case.call(make_ctx, world, tmp_path)
    exc: Any = info.value
    assert (exc.code, exc.field, exc.value) == (case.code, case.field, _expected(case.value, tmp_path))
    if callable(case.allowed):
        assert case.allowed(exc.allowed), exc.allowed
    elif case.allowed is not None:
        assert exc.allowed == case.allowed
    if isinstance(exc, SafegradeError):  # said plainly, the message names the field by itself, no option
        plain = exc.render(PLAIN)
        assert not CLI_WORDS.search(plain), plain
        assert exc.render(CLI) == str(exc)  # the tests run as the CLI's process speaks
        assert all(field in OPTIONS for field in exc.fields), exc.fields


def test_the_problems_of_an_import_are_typed_and_their_hint_is_worded_by_the_door(make_ctx, world, tmp_path):
    with pytest.raises(InputErrors) as info:
        _changed_ledger(make_ctx, world, tmp_path)
    problem = info.value.problems[0]
    assert isinstance(problem, Problem)
    assert (problem.file, problem.row, problem.column, problem.hint) == (
        str(tmp_path / "changed.csv"), 2, "统一社会信用代码", "amend")
    assert problem.reason.startswith("already registered with other values (valid_until: 2025-02-28 → 2025-03-31)")
    assert problem.endswith("; import with --amend to record the change")  # made while the CLI speaks
    with speaking(PLAIN):
        again = Problem(problem.file, problem.row, problem.column, problem.value, problem.reason, hint="amend")
    assert again.endswith("; import it as an amendment to record the change")
    assert not CLI_WORDS.search(again)


@pytest.mark.usefixtures("world")
def test_a_plain_process_says_the_fields_and_hints_in_domain_terms(make_ctx):
    with speaking(PLAIN):
        with pytest.raises(InvalidInput) as dates:
            open_campaign(make_ctx("boss"), "x", D(2023, 9, 1), D(2023, 8, 31), all_=True)
        with pytest.raises(NotFound) as missing:
            fire_event(make_ctx("boss"), UNKNOWN, "open_assessment", reason="x", via_service=True)
        assert str(dates.value) == "ends_on 2023-08-31 is before starts_on 2023-09-01"
        assert str(missing.value) == f"no enterprise with credit code {UNKNOWN}; see the list of enterprises"
    assert missing.value.hint == "list_enterprises"
    assert str(dates.value) == dates.value.render(CLI) == "--end 2023-08-31 is before --start 2023-09-01"
    assert str(missing.value).endswith("; see `safegrade enterprise list`")


# --- the parts and their wording --------------------------------------------------------------------------------

def test_a_bare_error_still_works_and_has_its_class_code():
    exc = InvalidInput("something is wrong")
    assert (str(exc), exc.code, exc.field, exc.value, exc.allowed, exc.hint) == (
        "something is wrong", "invalid_input", None, None, None, None)
    assert (NotFound("x").code, Forbidden("x").code, InputErrors("x", []).code) == (
        "not_found", "forbidden", "invalid_rows")


def test_only_the_declared_fields_are_worded_and_other_braces_stay():
    exc = InvalidInput("{limit}: {'a': 1} and {district} stay; {limit} is worded", field="limit", value=0)
    assert exc.render(CLI) == "--limit: {'a': 1} and {district} stay; --limit is worded"
    assert exc.render(PLAIN) == "limit: {'a': 1} and {district} stay; limit is worded"


def test_a_hint_follows_the_message_or_stands_where_it_says():
    assert render("no actor", [], "add_actor", CLI) == "no actor; add one with `safegrade actor add`"
    assert render("it needs an actor: {hint}", [], "name_actor", PLAIN) == "it needs an actor: name the actor who acts"
    assert render("due date ({hint})", [], "set_ledger_due", CLI) == "due date (campaign open --ledger-due)"


def test_allowed_is_kept_as_a_list_or_a_text():
    assert InvalidInput("x", allowed=("a", "b")).allowed == ["a", "b"]
    assert InvalidInput("x", allowed={"a": 1}.keys()).allowed == ["a"]
    assert InvalidInput("x", allowed="1 or more").allowed == "1 or more"


def test_a_problem_is_its_line():
    p = Problem("x.csv", 7, "区", "塘沽", "why")
    assert p == "x.csv:7, column 区, value '塘沽': why"
    assert (p.file, p.row, p.column, p.value, p.reason, p.hint, p.field) == (
        "x.csv", 7, "区", "塘沽", "why", None, None)
    no_column = Problem("codes.txt", 2, "", UNKNOWN, "no such enterprise")
    assert no_column == f"codes.txt:2, value '{UNKNOWN}': no such enterprise"
    with speaking(CLI):
        assert Problem("", 0, "代码", "X", "unused", field="check_overrides").startswith("(--accept-check):0, column")
    with speaking(PLAIN):
        assert Problem("", 0, "代码", "X", "unused", field="check_overrides").startswith("(check_overrides):0, column")


def test_an_error_and_its_problems_keep_their_parts_through_pickling():
    problem = Problem("c.txt", 2, "", UNKNOWN, "no such enterprise", hint="list_enterprises")
    exc = InputErrors("campaign x: {codes_file} c.txt", [problem], field="codes_file", value="c.txt")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is InputErrors
    assert str(again) == str(exc)
    assert (again.code, again.field, again.value, again.problems) == ("invalid_rows", "codes_file", "c.txt", [problem])
    assert (again.problems[0].reason, again.problems[0].hint) == ("no such enterprise", "list_enterprises")
    with speaking(PLAIN):  # a problem stays the line it was made as
        assert pickle.loads(pickle.dumps(problem)) == problem


def test_speaking_is_undone_when_the_block_ends():
    before = spoken()
    with speaking(PLAIN):
        assert spoken() is PLAIN
        with speaking(CLI):
            assert spoken() is CLI
        assert spoken() is PLAIN
    assert spoken() is before


def test_the_cli_prints_one_line_then_each_problem():
    exc = InputErrors("campaign x: {codes_file} c.txt", [Problem("c.txt", 2, "", UNKNOWN, "no such enterprise")],
                      field="codes_file")
    assert error_lines(exc) == [
        "safegrade: error: campaign x: --codes c.txt: 1 problem(s); nothing was written",
        f"  c.txt:2, value '{UNKNOWN}': no such enterprise",
    ]
    assert error_lines(EventNotAllowed("revoke", "graded", ["open_assessment"])) == [
        "safegrade: error: event 'revoke' is not allowed in state 'graded'; allowed here: open_assessment"]


def test_the_settings_and_the_clock_carry_fields_too(tmp_path):
    with pytest.raises(InvalidInput) as clock:
        parse_instant("yesterday", "Asia/Shanghai")
    assert (clock.value.code, clock.value.field, clock.value.value) == ("invalid_date", "as_of", "yesterday")
    assert clock.value.render(PLAIN).startswith("as_of: 'yesterday' is not a date")
    with pytest.raises(SafegradeError) as config:
        find_config(tmp_path / "nope.yaml", env={})
    assert (config.value.code, config.value.field, config.value.value) == (
        "no_such_file", "config", str(tmp_path / "nope.yaml"))


# --- the services' text names no option, no command; the CLI words every field they use --------------------------

def _sources(roots: list[str]) -> Iterator[tuple[Path, ast.Module]]:
    for root in roots:
        path = PROJECT_ROOT / root
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            yield source, ast.parse(source.read_text(encoding="utf-8"), str(source))


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_no_string_of_the_services_io_domain_or_states_names_a_cli_option_or_command():
    found = []
    for source, tree in _sources(PLAIN_PACKAGES):
        docstrings = _docstrings(tree)
        found += [f"{source.relative_to(PROJECT_ROOT)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and CLI_WORDS.search(node.value)]
    assert found == []


def _keyword_strings(roots: list[str], names: set[str]) -> dict[str, set[str]]:
    """Every string given as one of `names` (or in a list given as one) to any call, by keyword."""
    out: dict[str, set[str]] = {name: set() for name in names}
    for source, tree in _sources(roots):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg in names:
                        values = kw.value.elts if isinstance(kw.value, ast.List | ast.Tuple) else [kw.value]
                        out[kw.arg] |= {f"{v.value}@{source.name}:{v.lineno}" for v in values
                                        if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return out


def test_the_cli_words_every_field_and_hint_the_services_use():
    used = _keyword_strings(RAISING, {"field", "others", "hint"})
    fields = {where.split("@")[0] for where in used["field"] | used["others"]}
    hints = {where.split("@")[0] for where in used["hint"]}
    # the scan finds them
    assert len(fields) > 20
    assert len(hints) > 5
    assert sorted(f for f in fields if f not in OPTIONS) == []
    assert sorted(h for h in hints if h not in HINTS or h not in COMMANDS) == []
    assert set(COMMANDS) == set(HINTS)
    assert all(not CLI_WORDS.search(text) for text in HINTS.values())
