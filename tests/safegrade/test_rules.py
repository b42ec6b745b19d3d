"""The rules loader: every problem of every file, as 'file: key: what is wrong, what is allowed'."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from safegrade.cli import main
from safegrade.errors import RulesError
from safegrade.rules import RULE_FILES, Rules, load_rules, rules_version
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import timeline
from safegrade.services.lifecycle import fire_event
from safegrade.services.sweep import sweep_deadlines
from safegrade.settings import PROJECT_ROOT
from states.names import NEEDED_BY, SECTIONS, RecordEvent
from tests.conftest import at
from tests.factories import build_world, edit, plain, problems

REAL = PROJECT_ROOT / "rules"
KNOWN_FILES = "lifecycle.yaml, sectors.yaml, districts.yaml, triggers.yaml, deadlines.yaml, assessment.yaml"
ALL_FILES = f"{KNOWN_FILES}, holidays.yaml"  # holidays.yaml may be there (the years it gives), need not
GUARDS = ("result_is_poor, has_major_hazard, has_open_findings, all_findings_verified, publicity_over, "
          "validity_ended, grade_expired, revocation_bar_over, new_validity_in_future")


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


# --- the real rules ---------------------------------------------------------------------------------

def test_real_rules_load(real: Rules) -> None:
    assert len(real.districts) == 16
    assert len(real.sectors) == 8
    assert real.deadlines.publicity_working_days == 5
    assert real.deadlines.grade_validity_years == 3
    assert real.revocation_reasons["poor_operation"] == "运行质量差（情节严重）"
    assert real.revocation_sources["assessment"] == "运行质量评估"
    assert real.lifecycle.initial == "graded"
    assert real.state_label("revocation_pending") == "撤销公示中"
    assert real.district_name("120114") == "武清区"
    assert real.district_name("999999") == "999999"
    assert real.path == REAL


# --- each way of breaking the rules, with the exact problem text ------------------------------------

def _rename(old: str, new: str) -> Callable[[Path], None]:
    return lambda d: (d / old).rename(d / new)


def _delete(name: str) -> Callable[[Path], None]:
    return lambda d: (d / name).unlink()


def _raw(name: str, text: str) -> Callable[[Path], None]:
    return lambda d: write(d, name, text)


def _edit(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    return lambda d: edit(d, name, change)


BREAKAGES = [
    pytest.param(_rename("lifecycle.yaml", "lifecycle.yml"), [
        f"lifecycle.yml: (file): unknown rules file; known files are {ALL_FILES}",
        f"lifecycle.yaml: (file): missing; a rules directory holds {KNOWN_FILES}",
    ], id="lifecycle.yml-typo"),
    pytest.param(_raw("calendar.yaml", "2024: []\n"), [
        f"calendar.yaml: (file): unknown rules file; known files are {ALL_FILES}",
    ], id="unknown-extra-file"),
    pytest.param(_delete("sectors.yaml"), [
        f"sectors.yaml: (file): missing; a rules directory holds {KNOWN_FILES}",
    ], id="missing-sectors"),
    pytest.param(_delete("triggers.yaml"), [
        f"triggers.yaml: (file): missing; a rules directory holds {KNOWN_FILES}",
        "lifecycle.yaml: (top): not checked until triggers.yaml gives revocation_reasons and revocation_sources: "
        "its fields choose from them",
    ], id="missing-triggers"),
    pytest.param(_raw("districts.yaml", "districts: [unclosed\n"), [
        "districts.yaml: (file): not valid YAML: while parsing a flow sequence",
    ], id="invalid-yaml"),
    pytest.param(_raw("deadlines.yaml", "- 5\n- 3\n"), [
        "deadlines.yaml: (top): must be a mapping, got list",
    ], id="deadlines-not-a-mapping"),
    pytest.param(_edit("districts.yaml", lambda d: d.update(provinces={})), [
        "districts.yaml: (top): unknown key(s) provinces; allowed keys are districts",
    ], id="districts-unknown-top-key"),
    pytest.param(_edit("districts.yaml", lambda d: d["districts"]["120101"].update(population=1)), [
        "districts.yaml: districts.120101: unknown key(s) population; allowed keys are name, aliases",
    ], id="districts-unknown-key"),
    pytest.param(_edit("districts.yaml", lambda d: d["districts"]["120101"].pop("name")), [
        "districts.yaml: districts.120101: missing required key 'name'",
    ], id="district-without-name"),
    pytest.param(_edit("districts.yaml", lambda d: d["districts"].update({"12010": {"name": "某区"}})), [
        "districts.yaml: districts.12010: a district code is 6 digits (行政区划代码)",
    ], id="district-code-5-digits"),
    pytest.param(_edit("districts.yaml", lambda d: d["districts"].update({"12010A": {"name": "某区"}})), [
        "districts.yaml: districts.12010A: a district code is 6 digits (行政区划代码)",
    ], id="district-code-letter"),
    pytest.param(_edit("districts.yaml", lambda d: d.update(districts={})), [
        "districts.yaml: districts: must list at least one entry",
    ], id="no-districts"),
    pytest.param(_edit("sectors.yaml", lambda d: d["sectors"]["metallurgy"].update(code="C31")), [
        "sectors.yaml: sectors.metallurgy: unknown key(s) code; allowed keys are label, aliases",
    ], id="sectors-unknown-key"),
    pytest.param(_edit("sectors.yaml", lambda d: d["sectors"]["metallurgy"].pop("label")), [
        "sectors.yaml: sectors.metallurgy: missing required key 'label'",
    ], id="sector-without-label"),
    pytest.param(_raw("sectors.yaml", "sectors: {}\n"), [
        "sectors.yaml: sectors: must list at least one entry",
    ], id="empty-sectors"),
    pytest.param(_raw("sectors.yaml", "sectors:\n"), [
        "sectors.yaml: sectors: must list at least one entry",
    ], id="null-sectors"),
    pytest.param(_edit("triggers.yaml", lambda d: d.update(revocation_reason={})), [
        "triggers.yaml: (top): unknown key(s) revocation_reason; allowed keys are revocation_reasons, "
        "revocation_sources, campaign_exclusions",
    ], id="triggers-unknown-key"),
    pytest.param(_edit("triggers.yaml", lambda d: d.update(revocation_sources=["assessment"])), [
        "triggers.yaml: revocation_sources: must be a mapping, got list",
        "triggers.yaml: revocation_sources: must list at least one entry as key: 中文名称",
        "lifecycle.yaml: (top): not checked until triggers.yaml gives revocation_sources: its fields choose from them",
    ], id="triggers-list-not-mapping"),
    pytest.param(_edit("deadlines.yaml", lambda d: d.update(publicity_days=5)), [
        "deadlines.yaml: (top): unknown key(s) publicity_days; allowed keys are publicity_working_days, "
        "grade_validity_years",
    ], id="deadlines-unknown-key"),
    pytest.param(_edit("deadlines.yaml", lambda d: d.update(publicity_working_days=0)), [
        "deadlines.yaml: publicity_working_days: 0 must be a whole number of at least 1",
    ], id="deadlines-zero"),
    pytest.param(_edit("deadlines.yaml", lambda d: d.update(grade_validity_years=-3)), [
        "deadlines.yaml: grade_validity_years: -3 must be a whole number of at least 1",
    ], id="deadlines-negative"),
    pytest.param(_edit("deadlines.yaml", lambda d: d.update(publicity_working_days="five")), [
        "deadlines.yaml: publicity_working_days: 'five' must be a whole number of at least 1",
    ], id="deadlines-text"),
    pytest.param(_edit("deadlines.yaml", lambda d: d.update(publicity_working_days=2.5)), [
        "deadlines.yaml: publicity_working_days: 2.5 must be a whole number of at least 1",
    ], id="deadlines-float"),
    pytest.param(_edit("deadlines.yaml", lambda d: d.update(grade_validity_years=True)), [
        "deadlines.yaml: grade_validity_years: True must be a whole number of at least 1",
    ], id="deadlines-bool"),
    pytest.param(_edit("lifecycle.yaml", lambda d: d["events"]["revoke"]["transitions"][0].update(
        guards=["publicity_ovr"])), [
        "lifecycle.yaml: events.revoke.transitions[0].guards: unknown guard 'publicity_ovr'; "
        f"known guards are {GUARDS}",
    ], id="lifecycle-unknown-guard"),
    pytest.param(_edit("lifecycle.yaml", lambda d: d["states"].update(archived={"label": "归档"})), [
        "lifecycle.yaml: states: unreachable from 'graded': archived",
        "lifecycle.yaml: states: trap state(s) with no way out and not final: archived",
    ], id="lifecycle-unreachable-trap"),
    pytest.param(_edit("triggers.yaml", lambda d: d["revocation_reasons"].pop("poor_operation")), [
        "lifecycle.yaml: events.record_assessment.transitions[1].sets.revocation_reason: 'poor_operation' is not "
        "allowed; choose one of major_hazard_overdue, relocated, deregistered, not_gongmao, false_materials, "
        "fatal_accident, serious_violation, concealed_accident",
        "lifecycle.yaml: events.escalate.transitions[2].sets.revocation_reason: 'poor_operation' is not allowed",
    ], id="reason-removed-from-triggers-used-by-lifecycle"),
    pytest.param(_raw("lifecycle.yaml", ""),
                 ["lifecycle.yaml: (top): empty; it must hold initial, states, roles and events"],
                 id="lifecycle-empty"),
]


@pytest.mark.parametrize(("breaks", "expected"), BREAKAGES)
def test_each_breakage_is_reported(rules_dir: Path, breaks: Callable[[Path], None], expected: list[Any]) -> None:
    """Each expected line starts one problem; `...` at the end means more (consequential) problems follow."""
    breaks(rules_dir)
    found = problems(rules_dir)
    listed = [e for e in expected if e is not ...]
    for fragment in listed:
        assert any(p.startswith(fragment) for p in found), (fragment, found)
    if ... in expected:
        assert len(found) > len(listed), found
    else:
        assert len(found) == len(listed), found


def test_lifecycle_problems_carry_the_file_prefix(rules_dir: Path) -> None:
    edit(rules_dir, "lifecycle.yaml", lambda d: d["roles"]["bureau"].update(scope="province"))
    assert problems(rules_dir) == [
        "lifecycle.yaml: roles.bureau.scope: 'province' is not a scope; allowed are all, district, enterprise, none"]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path / "nowhere")
    assert info.value.problems == [
        f"{tmp_path / 'nowhere'}: not a directory; point rules_dir in config.yaml at the rules"]


def test_several_problems_at_once_are_all_listed(rules_dir: Path) -> None:
    (rules_dir / "lifecycle.yaml").rename(rules_dir / "lifecycle.yml")
    write(rules_dir, "sectors.yaml", "sectors: {}\n")
    edit(rules_dir, "districts.yaml", lambda d: d["districts"].update({"1201": {"name": "某区", "pop": 1}}))
    edit(rules_dir, "deadlines.yaml", lambda d: d.update(publicity_working_days=0))
    edit(rules_dir, "triggers.yaml", lambda d: d.update(extra={}))
    assert sorted(problems(rules_dir)) == sorted([
        f"lifecycle.yml: (file): unknown rules file; known files are {ALL_FILES}",
        f"lifecycle.yaml: (file): missing; a rules directory holds {KNOWN_FILES}",
        "sectors.yaml: sectors: must list at least one entry",
        "districts.yaml: districts.1201: unknown key(s) pop; allowed keys are name, aliases",
        "districts.yaml: districts.1201: a district code is 6 digits (行政区划代码)",
        "deadlines.yaml: publicity_working_days: 0 must be a whole number of at least 1",
        "triggers.yaml: (top): unknown key(s) extra; allowed keys are revocation_reasons, revocation_sources, "
        "campaign_exclusions",
    ])


def test_empty_lifecycle_is_reported_beside_other_problems(rules_dir: Path) -> None:
    write(rules_dir, "lifecycle.yaml", "# emptied by mistake\n")
    write(rules_dir, "sectors.yaml", "sectors: {}\n")
    found = problems(rules_dir)
    assert "sectors.yaml: sectors: must list at least one entry" in found
    assert any(p.startswith("lifecycle.yaml: ") for p in found), found


# --- looking up districts and sectors as ledgers spell them -------------------------------------------

@pytest.mark.parametrize("text", ["120114", "武清区", "武清", " 武清区 ", "武 清 区", "武清\u3000区", "\t120114\n"])
def test_district_lookup(real: Rules, text: str) -> None:
    district = real.district(text)
    assert district is not None
    assert (district.code, district.name) == ("120114", "武清区")


@pytest.mark.parametrize(("text", "code"), [("滨海", "120116"), ("滨海新区", "120116"), ("河北", "120105"),
                                            ("120119", "120119"), ("蓟州区", "120119")])
def test_district_lookup_table(real: Rules, text: str, code: str) -> None:
    district = real.district(text)
    assert district is not None
    assert district.code == code


@pytest.mark.parametrize("text", ["", "浦东新区", "120000", "武清县", "Wuqing"])
def test_unknown_district(real: Rules, text: str) -> None:
    assert real.district(text) is None


@pytest.mark.parametrize(("text", "key"), [
    pytest.param("机械", "machinery", id="label"),
    pytest.param("机械行业", "machinery", id="alias"),
    pytest.param(" 机 械 ", "machinery", id="spaces"),
    pytest.param("有色金属", "nonferrous", id="alias-2"),
    pytest.param("商贸（仓储）", "commerce", id="full-width-brackets"),
    pytest.param("商贸(仓储)", "commerce", id="ascii-brackets"),
    pytest.param("商贸 ( 仓储 )", "commerce", id="ascii-brackets-spaces"),
    pytest.param("仓储", "commerce", id="alias-3"),
    pytest.param("metallurgy", "metallurgy", id="key"),
])
def test_sector_lookup(real: Rules, text: str, key: str) -> None:
    sector = real.sector(text)
    assert sector is not None
    assert sector.key == key


@pytest.mark.parametrize("text", ["化工", "危险化学品", "建筑施工", "矿山", "", "其他"])
def test_sector_outside_gongmao_is_none(real: Rules, text: str) -> None:
    assert real.sector(text) is None


# --- the rules' version -----------------------------------------------------------------------------

def test_version_is_stable_for_the_same_files(real: Rules, rules_dir: Path) -> None:
    assert load_rules(REAL).version == real.version
    assert load_rules(rules_dir).version == real.version  # content, not location
    assert rules_version(rules_dir) == real.version
    assert len(real.version) == 16
    assert int(real.version, 16) >= 0


@pytest.mark.parametrize("name", RULE_FILES)
def test_version_changes_when_a_file_changes(real: Rules, rules_dir: Path, name: str) -> None:
    with (rules_dir / name).open("a", encoding="utf-8") as handle:
        handle.write("\n# amended\n")
    assert load_rules(rules_dir).version != real.version


def test_version_ignores_files_that_are_not_rules(real: Rules, rules_dir: Path) -> None:
    write(rules_dir, "README.md", "notes\n")
    assert load_rules(rules_dir).version == real.version


# --- the CLI: safegrade rules check ------------------------------------------------------------------

def _broken(rules_dir: Path) -> list[str]:
    (rules_dir / "lifecycle.yaml").rename(rules_dir / "lifecycle.yml")
    write(rules_dir, "sectors.yaml", "sectors: {}\n")
    return [
        f"lifecycle.yml: (file): unknown rules file; known files are {ALL_FILES}",
        "sectors.yaml: sectors: must list at least one entry",
        f"lifecycle.yaml: (file): missing; a rules directory holds {KNOWN_FILES}",
    ]


def test_cli_rules_check_reports_every_problem(rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _broken(rules_dir)
    assert main(["rules", "check", "--rules-dir", str(rules_dir)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == "safegrade: error: 3 problem(s) in the rules (each listed below)"
    assert lines[1:] == [f"  {p}" for p in expected]
    assert captured.out == ""


def test_cli_rules_check_ok(real: Rules, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", "--rules-dir", str(REAL)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines() == [
        f"{REAL}: OK (version {real.version}): 9 states, 13 events, 16 districts, 8 sectors",
        "holiday schedule (节假日安排) from rules/holidays.yaml: 2025, 2026",
        "holiday schedule (节假日安排) from chinesecalendar 1.11.0: 2004–2024",
        "other years: no schedule — deadlines counted in them are refused unless config.yaml allows "
        "calendar.weekday_fallback (Monday–Friday)"]
    assert captured.err == ""


def test_cli_rules_check_json_broken(rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _broken(rules_dir)
    assert main(["--json", "rules", "check", "--rules-dir", str(rules_dir)]) == 1
    assert json.loads(capsys.readouterr().out) == {"ok": False, "problems": expected}


def test_cli_rules_check_json_ok(real: Rules, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "rules", "check", "--rules-dir", str(REAL)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "ok": True, "rules_dir": str(REAL), "version": real.version,
        "states": 9, "events": 13, "districts": 16, "sectors": 8,
        "holidays": {"rules/holidays.yaml": [2025, 2026], "chinesecalendar 1.11.0": list(range(2004, 2025))},
    }


# --- the names the engine needs (states.names), checked at load ----------------------------------------

NEEDED = [pytest.param(section, name, id=f"{section}-{name}") for section, names in SECTIONS for name in names]


@pytest.mark.parametrize(("section", "name"), NEEDED)
def test_a_lifecycle_without_a_name_the_engine_needs_is_refused(rules_dir: Path, section: str, name: str) -> None:
    """Removing a state or event also breaks what refers to it (transitions, deadlines.yaml), reported as
    before; the name itself is one problem, saying who needs it."""
    edit(rules_dir, "lifecycle.yaml", lambda d: d[section].pop(name))
    found = problems(rules_dir)
    assert f"lifecycle.yaml: {section}: the engine needs '{name}' ({NEEDED_BY[name]})" in found
    assert [p for p in found if "the engine needs" in p] == [
        f"lifecycle.yaml: {section}: the engine needs '{name}' ({NEEDED_BY[name]})"]


def test_the_problem_names_the_part_that_needs_the_state(rules_dir: Path) -> None:
    edit(rules_dir, "lifecycle.yaml", lambda d: d["record_events"].pop("register"))
    assert problems(rules_dir) == ["lifecycle.yaml: record_events: the engine needs 'register' (ledger import)"]


def test_a_lifecycle_without_record_events_lacks_all_five(rules_dir: Path) -> None:
    edit(rules_dir, "lifecycle.yaml", lambda d: d.pop("record_events"))
    assert problems(rules_dir) == [f"lifecycle.yaml: record_events: the engine needs '{r}' ({NEEDED_BY[r]})"
                                   for r in RecordEvent]


def test_a_malformed_section_is_reported_once_not_as_every_name_missing(rules_dir: Path) -> None:
    edit(rules_dir, "lifecycle.yaml", lambda d: d.update(record_events=["register"]))
    assert problems(rules_dir) == ["lifecycle.yaml: record_events: must be a mapping, got list"]


def test_cli_rules_check_reports_a_missing_name(rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(rules_dir, "lifecycle.yaml", lambda d: d["record_events"].pop("finding_verified"))
    assert main(["rules", "check", "--rules-dir", str(rules_dir)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "safegrade: error: 1 problem(s) in the rules (each listed below)",
        "  lifecycle.yaml: record_events: the engine needs 'finding_verified' (findings, oversight, loop report)"]


# --- derived from the rules: the ended states and the escalation order ---------------------------------

# what services/sweep.py hard-coded before they were derived from the rules, with the second step of escalation
# (rectification_followup, issue 10) after a major hazard's revocation
TODAYS_PRIORITY = ("major_finding", "rectification_followup", "validity", "finding", "interview", "publicity",
                   "campaign_window", "ledger_submission")
TODAYS_GONE = ("revoked", "excluded")


def test_the_derived_values_equal_the_ones_hard_coded_before(real: Rules) -> None:
    assert real.lifecycle.final_states == ("excluded",)
    assert real.ended_states == set(TODAYS_GONE)
    assert real.deadlines.escalation_order == TODAYS_PRIORITY
    assert sorted(TODAYS_PRIORITY, key=real.deadlines.rank) == list(TODAYS_PRIORITY)


def test_ended_states_are_the_final_marks_and_where_revoke_leads(rules_dir: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["states"]["archived"] = {"label": "已归档", "final": True}
        d["events"]["archive"] = {"roles": ["bureau"], "transitions": [{"source": "revoked", "dest": "archived"}]}
    edit(rules_dir, "lifecycle.yaml", change)
    assert load_rules(rules_dir).ended_states == {"revoked", "excluded", "archived"}


ORDER_BREAKAGES = [
    pytest.param(lambda d: d.pop("escalation_order"),
                 "deadlines.yaml: escalation_order: missing: list every kind once, gravest first (finding, "
                 "major_finding, rectification_followup, campaign_window, ledger_submission, interview, publicity, "
                 "validity)", id="missing"),
    pytest.param(lambda d: d.update(escalation_order="major_finding"),
                 "deadlines.yaml: escalation_order: 'major_finding': list every kind once, gravest first (finding, "
                 "major_finding, rectification_followup, campaign_window, ledger_submission, interview, publicity, "
                 "validity)", id="not-a-list"),
    pytest.param(lambda d: d["escalation_order"].remove("publicity"),
                 "deadlines.yaml: escalation_order: leaves out publicity; list every kind once, gravest first",
                 id="left-out"),
    pytest.param(lambda d: d["escalation_order"].append("finding"),
                 "deadlines.yaml: escalation_order: lists finding more than once", id="twice"),
    pytest.param(lambda d: d["escalation_order"].insert(0, "holiday"),
                 "deadlines.yaml: escalation_order: unknown kind 'holiday'; the kinds are finding, major_finding, "
                 "rectification_followup, campaign_window, ledger_submission, interview, publicity, validity",
                 id="unknown"),
]


@pytest.mark.parametrize(("breaks", "expected"), ORDER_BREAKAGES)
def test_each_mistake_in_the_escalation_order_is_reported(rules_dir: Path, breaks: Callable[[dict[str, Any]], None],
                                                          expected: str) -> None:
    edit(rules_dir, "deadlines.yaml", breaks)
    assert problems(rules_dir) == [expected]


FINDING_FIRST = ("finding", "major_finding", "rectification_followup", "validity", "interview", "publicity",
                 "campaign_window", "ledger_submission")


class TestTheSweepTakesItsPriorityFromTheRules:
    """A finding and a major hazard of one enterprise overdue the same day: the kind first in escalation_order
    fires, the other is skipped. By the real rules the hazard's revocation is proposed; with the finding put
    first, the finding's escalation fires instead (from rectifying, with a major hazard, it too leads to
    revocation_pending)."""

    @pytest.fixture
    def rules(self, real: Rules, order: tuple[str, ...]) -> Rules:  # make_ctx's rules, in this class only
        return replace(real, deadlines=replace(real.deadlines, escalation_order=order))

    @pytest.mark.parametrize(("order", "fired"), [
        pytest.param(TODAYS_PRIORITY, "propose_revocation", id="real-order-major-hazard-first"),
        pytest.param(FINDING_FIRST, "escalate", id="finding-first"),
    ])
    def test_the_kind_first_in_the_order_fires(self, make_ctx: Callable[..., Any], tmp_path: Path, clock: Any,
                                               order: tuple[str, ...], fired: str) -> None:
        code = build_world(make_ctx, tmp_path, per_district=1).wuqing[0]
        open_campaign(make_ctx("boss"), "2023年运行质量评估", date(2023, 6, 1), date(2023, 8, 31), all_=True)
        clock.set(at("2023-07-10 16:00"))
        path = tmp_path / "assess.yaml"
        path.write_text(yaml.safe_dump([{
            "credit_code": code, "campaign": "2023年运行质量评估", "assessed_on": "2023-07-10", "assessors": ["王工"],
            "methods": ["资料审查"], "deductions": [
                {"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"},
                {"item": "ZD02", "points": 5, "content": "粉尘涉爆除尘系统未按规定采用防爆设计"}]}],
            allow_unicode=True), encoding="utf-8")
        import_assessments(make_ctx("wq"), [path])
        clock.set(at("2023-07-11 10:00"))
        fire_event(make_ctx("wq"), code, "hold_interview", reason="约谈", data={"attendees": "法人", "record": "整改"})
        clock.set(at("2023-08-14 08:00"))  # both are due: the finding's escalation and the hazard's
        report = sweep_deadlines(make_ctx("system", source="flow"))
        assert (report.escalations, report.skipped) == (1, 1)
        assert [e["event"] for e in plain(timeline(make_ctx(), code)) if e["actor"] == "system"] == [fired]
        assert make_ctx().rules.deadlines.escalation_order == order
def test_libyaml_and_the_pure_parser_read_the_rules_alike() -> None:
    """load_rules parses with libyaml where it is installed; every rules file reads the same either way."""
    for name in RULE_FILES:
        text = (PROJECT_ROOT / "rules" / name).read_text(encoding="utf-8")
        assert yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == yaml.safe_load(text), name
