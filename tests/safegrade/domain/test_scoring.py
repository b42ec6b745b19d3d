"""Scoring an assessment (rules/assessment.yaml): each scoring rule, the real rules, and each way of
writing a bad assessment.yaml with its exact problem text."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from safegrade.domain.scoring import (
    AssessmentRules,
    Deduction,
    Item,
    load_assessment_rules,
    parse_assessment_rules,
    score,
)
from safegrade.settings import PROJECT_ROOT

REAL = PROJECT_ROOT / "rules" / "assessment.yaml"
THRESHOLDS = {"优": 90, "良": 75, "差": 0}


def make_rules(**items: dict[str, Any]) -> AssessmentRules:
    """Rules with one element per item (keys a, b, …), from item code -> item body."""
    elements = {chr(ord("a") + i): {"label": f"要素{i}", "items": {code: body}} for i, (code, body) in
                enumerate(items.items())}
    rules, problems = parse_assessment_rules(
        {"thresholds": THRESHOLDS, "methods": ["资料审查"], "elements": elements}, "test")
    assert problems == []
    assert rules is not None
    return rules


def d(item: str, points: float) -> Deduction:
    return Deduction(item, points, "现场发现的具体问题", True)


# --- the scoring rules ------------------------------------------------------------------------------

def test_not_applicable_leaves_the_denominator() -> None:
    rules = make_rules(A01={"label": "甲", "points": 60}, B01={"label": "乙", "points": 40, "not_applicable": True})
    counted = score(rules, [d("A01", 6)], [])
    assert (counted.score, counted.applicable_points, counted.deducted) == (94.0, 100.0, 6.0)
    left_out = score(rules, [d("A01", 6)], ["B01"])
    assert (left_out.score, left_out.applicable_points, left_out.deducted) == (90.0, 60.0, 6.0)
    assert left_out.result == "优"


def test_deductions_on_one_item_stop_at_zero() -> None:
    rules = make_rules(A01={"label": "甲", "points": 10}, B01={"label": "乙", "points": 90})
    result = score(rules, [d("A01", 8), d("A01", 8), d("B01", 1)], [])
    assert result.deducted == 11.0                      # A01 gives at most its 10 points, B01 its 1
    assert result.by_element == {"a": 10.0, "b": 1.0}
    assert result.score == 89.0
    assert result.result == "良"


def test_by_element_names_every_element_after_capping() -> None:
    rules = make_rules(A01={"label": "甲", "points": 5}, B01={"label": "乙", "points": 5},
                       C01={"label": "丙", "points": 5})
    assert score(rules, [d("C01", 7)], []).by_element == {"a": 0.0, "b": 0.0, "c": 5.0}


def test_veto_forces_poor_even_at_100() -> None:
    rules = make_rules(A01={"label": "甲", "points": 1000}, ZD01={"label": "重大事故隐患", "points": 1, "veto": True})
    result = score(rules, [d("ZD01", 0.1)], [])
    assert (result.score, result.veto, result.result) == (100.0, True, "差")
    assert score(rules, [], []).result == "优"


def test_no_deductions_is_100() -> None:
    rules = make_rules(A01={"label": "甲", "points": 7})
    assert score(rules, [], []) == score(rules, [], [])
    result = score(rules, [], [])
    assert (result.score, result.result, result.veto, result.deducted) == (100.0, "优", False, 0.0)


HUNDRED = {"A01": {"label": "甲", "points": 100}}


@pytest.mark.parametrize(("deducted", "expected", "result"), [
    (10.0, 90.0, "优"),
    (10.1, 89.9, "良"),
    (25.0, 75.0, "良"),
    (25.1, 74.9, "差"),
    (10.05, 90.0, "优"),    # 89.95 rounds half up to 90.0
    (10.15, 89.9, "良"),    # 89.85: half up gives 89.9; float round(100 - 10.15, 1) would give 89.8
    (25.05, 75.0, "良"),    # 74.95 → 75.0
    (25.15, 74.9, "差"),    # 74.85 → 74.9
    (0.05, 100.0, "优"),    # 99.95 → 100.0
    (100.0, 0.0, "差"),
])
def test_thresholds_at_their_edges_with_round_half_up(deducted: float, expected: float, result: str) -> None:
    rules = make_rules(**HUNDRED)
    got = score(rules, [d("A01", deducted)], [])
    assert (got.score, got.result) == (expected, result)


@pytest.mark.parametrize(("deducted", "expected"), [(1, 66.7), (2, 33.3), (0.5, 83.3), (2.5, 16.7)])
def test_rounded_to_one_decimal(deducted: float, expected: float) -> None:
    assert score(make_rules(A01={"label": "甲", "points": 3}), [d("A01", deducted)], []).score == expected


def test_result_for() -> None:
    rules = make_rules(**HUNDRED)
    assert [rules.result_for(s, False) for s in (100, 90, 89.9, 75, 74.9, 0)] == ["优", "优", "良", "良", "差", "差"]
    assert rules.result_for(100, True) == "差"


def test_score_refuses_input_the_reader_would_have_refused() -> None:
    rules = make_rules(A01={"label": "甲", "points": 60}, B01={"label": "乙", "points": 40, "not_applicable": True})
    with pytest.raises(ValueError, match="B01, which is marked not applicable"):
        score(rules, [d("B01", 1)], ["B01"])
    with pytest.raises(KeyError, match="C01"):
        score(rules, [d("C01", 1)], [])


# --- the real rules ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real() -> AssessmentRules:
    rules, problems = load_assessment_rules(REAL)
    assert problems == []
    assert rules is not None
    return rules


def test_real_rules_parse_and_total_100_points(real: AssessmentRules) -> None:
    assert sum(item.points for item in real.items.values()) == 100
    assert real.thresholds == (("优", 90.0), ("良", 75.0), ("差", 0.0))
    assert real.methods == ("资料审查", "现场检查", "现场询问")
    assert real.materials == ("口袋书", "小册子", "明白卡")
    assert real.version == hashlib.sha256(REAL.read_bytes()).hexdigest()[:16]


def test_real_rules_have_the_seven_elements_of_the_circular(real: AssessmentRules) -> None:
    assert {key: e.label for key, e in real.elements.items()} == {
        "rules_procedures": "规章制度和操作规程", "training": "培训教育", "contractors": "外委作业施工单位管理",
        "risk_hazard": "安全风险管控及隐患排查治理", "self_assessment": "标准化定期自评", "intelligence": "智能化建设",
        "major_hazard": "重大事故隐患",
    }
    for key, element in real.elements.items():
        assert 3 <= len(element.items) <= 6
        assert all(real.items[code].element == key for code in element.items)
    assert [c for e in real.elements.values() for c in e.items] == list(real.items)


def test_real_rules_items(real: AssessmentRules) -> None:
    # the circular's three most common problems are items
    assert real.items["ZN01"].label == "未推进信息化、数字化、智能化建设"
    assert real.items["ZP01"].label == "未按规定开展年度自评"
    assert real.items["FX03"].label == "隐患排查治理未形成闭环"
    vetoes = [code for code, item in real.items.items() if item.veto]
    assert vetoes
    assert all(real.items[c].element == "major_hazard" for c in vetoes)
    assert set(vetoes) == set(real.elements["major_hazard"].items)
    assert all(item.rectify and not item.not_applicable for item in map(real.items.__getitem__, vetoes))
    assert all(real.items[c].not_applicable for c in real.elements["contractors"].items)
    assert real.items["WW01"] == Item("WW01", "contractors", "未审查外委作业施工单位的资质和安全生产条件", 3.0,
                                      not_applicable=True, rectify=True, veto=False)


def test_real_rules_score_a_major_hazard_as_poor(real: AssessmentRules) -> None:
    result = score(real, [d("ZD01", 1)], [])
    assert (result.score, result.result, result.veto, result.by_element["major_hazard"]) == (99.0, "差", True, 1.0)


# --- each way of breaking assessment.yaml -----------------------------------------------------------

def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a value by a dotted path (e.g. 'elements.training.items.PX01.points')."""
    *parents, last = path.split(".")

    def change(doc: dict[str, Any]) -> None:
        for key in parents:
            doc = doc[key]
        doc[last] = value
    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def change(doc: dict[str, Any]) -> None:
        for key in parents:
            doc = doc[key]
        del doc[last]
    return change


P = "assessment.yaml"
ITEM = "elements.training.items.PX01"

BREAKAGES = [
    pytest.param(_set("weights", {}), [
        f"{P}: (top): unknown key(s) weights; allowed keys are thresholds, methods, materials, elements",
    ], id="unknown-top-key"),
    pytest.param(_set(f"{ITEM}.weight", 1), [
        f"{P}: {ITEM}: unknown key(s) weight; allowed keys are label, points, not_applicable, rectify, veto",
    ], id="unknown-item-key"),
    pytest.param(_set("elements.training.weight", 1), [
        f"{P}: elements.training: unknown key(s) weight; allowed keys are label, items",
    ], id="unknown-element-key"),
    pytest.param(_set("elements.intelligence.items.PX01", {"label": "重复", "points": 1}), [
        f"{P}: elements.intelligence.items.PX01: item code PX01 is already used in elements.training; "
        "item codes must be unique across elements",
    ], id="duplicate-code-across-elements"),
    pytest.param(_set(f"{ITEM}.points", 0), [
        f"{P}: {ITEM}.points: 0 must be a number above 0 (the item's maximum deduction)",
    ], id="points-zero"),
    pytest.param(_set(f"{ITEM}.points", -2), [
        f"{P}: {ITEM}.points: -2 must be a number above 0 (the item's maximum deduction)",
    ], id="points-negative"),
    pytest.param(_set(f"{ITEM}.points", "三"), [
        f"{P}: {ITEM}.points: '三' must be a number above 0 (the item's maximum deduction)",
    ], id="points-not-a-number"),
    pytest.param(_drop(f"{ITEM}.points"), [
        f"{P}: {ITEM}: missing required key 'points' (the item's maximum deduction)",
    ], id="points-missing"),
    pytest.param(_drop(f"{ITEM}.label"), [
        f"{P}: {ITEM}: missing required key 'label' (the deficiency, in Chinese)",
    ], id="item-label-missing"),
    pytest.param(_set(f"{ITEM}.rectify", "否"), [
        f"{P}: {ITEM}.rectify: '否' must be true or false",
    ], id="flag-not-a-boolean"),
    pytest.param(_set("elements.training.items.px06", {"label": "小写", "points": 1}), [
        f"{P}: elements.training.items.px06: an item code is capital letters and digits starting with a letter, "
        "e.g. GZ01",
    ], id="item-code-lower-case"),
    pytest.param(_set("thresholds", {"优": 75, "良": 90, "差": 0}), [
        f"{P}: thresholds.良: 90 must be below 优's 75: minimum scores descend from 优 to 差",
    ], id="thresholds-not-descending"),
    pytest.param(_set("thresholds", {"优": 90, "良": 90, "差": 0}), [
        f"{P}: thresholds.良: 90 must be below 优's 90: minimum scores descend from 优 to 差",
    ], id="thresholds-equal"),
    pytest.param(_set("thresholds", {"优": 90, "良": 75, "差": 60}), [
        f"{P}: thresholds.差: 60 must be 0, so that every score has a result",
    ], id="thresholds-not-ending-at-0"),
    pytest.param(_set("thresholds", {"优": 90, "良": 75, "合格": 60, "差": 0}), [
        f"{P}: thresholds: the results must be exactly 优, 良, 差; unknown result(s) 合格",
    ], id="unknown-result"),
    pytest.param(_set("thresholds", {"excellent": 90, "良": 75, "差": 0}), [
        f"{P}: thresholds: the results must be exactly 优, 良, 差; unknown result(s) excellent; missing 优",
    ], id="result-in-english"),
    pytest.param(_set("thresholds", {"良": 75, "优": 90, "差": 0}), [
        f"{P}: thresholds: list the results best first: 优, 良, 差 (found 良, 优, 差)",
    ], id="results-out-of-order"),
    pytest.param(_set("thresholds", {"优": 90, "良": "七十五", "差": 0}), [
        f"{P}: thresholds.良: '七十五' must be a number from 0 to 100",
    ], id="threshold-not-a-number"),
    pytest.param(_drop("thresholds"), [
        f"{P}: thresholds: missing; give each result its minimum score, best first, e.g. 优: 90, 良: 75, 差: 0",
    ], id="thresholds-missing"),
    pytest.param(_set("elements.major_hazard.items.ZD01.not_applicable", True), [
        f"{P}: elements.major_hazard.items.ZD01: a veto item (重大事故隐患) cannot be marked not applicable; "
        "remove not_applicable: true or veto: true",
    ], id="veto-not-applicable"),
    pytest.param(_set("elements.major_hazard.items.ZD01.rectify", False), [
        f"{P}: elements.major_hazard.items.ZD01: a veto item (重大事故隐患) always opens a major finding to rectify; "
        "remove rectify: false",
    ], id="veto-not-rectified"),
    pytest.param(_set("elements.training.items", {}), [
        f"{P}: elements.training.items: must list at least one item as CODE: {{label: …, points: …}}",
    ], id="empty-element"),
    pytest.param(_drop("elements.training.items"), [
        f"{P}: elements.training.items: must list at least one item as CODE: {{label: …, points: …}}",
    ], id="element-without-items"),
    pytest.param(_drop("elements.training.label"), [
        f"{P}: elements.training: missing required key 'label' (the element's Chinese name)",
    ], id="element-without-label"),
    pytest.param(_set("elements.Training", {"label": "培训", "items": {"PY01": {"label": "甲", "points": 1}}}), [
        f"{P}: elements.Training: an element key is an English identifier: lower-case letters, digits and _",
    ], id="element-key-capital"),
    pytest.param(_set("elements", {}), [
        f"{P}: elements: must list at least one element",
    ], id="no-elements"),
    pytest.param(_set("elements", ["training"]), [
        f"{P}: elements: must be a mapping, got list",
    ], id="elements-a-list"),
    pytest.param(_set("methods", []), [
        f"{P}: methods: must list at least one name",
    ], id="no-methods"),
    pytest.param(_set("methods", ["资料审查", "资料审查"]), [
        f"{P}: methods[1]: 资料审查 is listed twice",
    ], id="method-twice"),
    pytest.param(_set("materials", "口袋书"), [
        f"{P}: materials: must be a list of names, got str",
    ], id="materials-not-a-list"),
]


@pytest.mark.parametrize(("change", "expected"), BREAKAGES)
@pytest.mark.usefixtures("real")
def test_each_bad_rules_file_gives_its_problem(change: Callable[[dict[str, Any]], None],
                                                expected: list[str]) -> None:
    doc = copy.deepcopy(yaml.safe_load(REAL.read_text(encoding="utf-8")))
    change(doc)
    rules, problems = parse_assessment_rules(doc, "v")
    assert (rules, problems) == (None, expected)


def test_every_item_not_applicable_is_refused() -> None:
    doc = {"thresholds": THRESHOLDS, "methods": ["资料审查"],
           "elements": {"a": {"label": "甲", "items": {"A01": {"label": "甲", "points": 1, "not_applicable": True}}}}}
    assert parse_assessment_rules(doc, "v") == (None, [
        "assessment.yaml: elements: every item may be marked not applicable, so an assessment could have nothing to "
        "score; at least one item must not have not_applicable: true",
    ])


@pytest.mark.usefixtures("real")
def test_several_problems_are_all_reported() -> None:
    doc = copy.deepcopy(yaml.safe_load(REAL.read_text(encoding="utf-8")))
    doc["thresholds"]["差"] = 10
    doc["elements"]["training"]["items"]["PX01"]["points"] = 0
    doc["elements"]["self_assessment"]["items"]["GZ01"] = {"label": "重复", "points": 1}
    assert parse_assessment_rules(doc, "v", source="rules/assessment.yaml")[1] == [
        "rules/assessment.yaml: thresholds.差: 10 must be 0, so that every score has a result",
        "rules/assessment.yaml: elements.training.items.PX01.points: 0 must be a number above 0 "
        "(the item's maximum deduction)",
        "rules/assessment.yaml: elements.self_assessment.items.GZ01: item code GZ01 is already used in "
        "elements.rules_procedures; item codes must be unique across elements",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("", "assessment.yaml: (top): empty; it must hold thresholds, methods, materials, elements"),
    ("- 优\n", "assessment.yaml: (top): must be a mapping, got list"),
    ("thresholds: [unclosed\n", "assessment.yaml: (file): not valid YAML: while parsing a flow sequence"),
    ("elements:\n  a:\n    label: 甲\n    items:\n      A01: {label: 甲, points: 1}\n"
     "      A01: {label: 乙, points: 2}\n",
     "assessment.yaml: (file): not valid YAML: while constructing a mapping"),
])
def test_bad_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "assessment.yaml"
    path.write_text(text, encoding="utf-8")
    rules, problems = load_assessment_rules(path)
    assert rules is None
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_duplicate_key_names_the_key_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "assessment.yaml"
    path.write_text("elements:\n  a:\n    items:\n      A01: {points: 1}\n      A01: {points: 2}\n", encoding="utf-8")
    problem = load_assessment_rules(path)[1][0]
    assert "found key 'A01' written twice" in problem
    assert "line 5" in problem


def test_missing_file(tmp_path: Path) -> None:
    rules, problems = load_assessment_rules(tmp_path / "assessment.yaml")
    assert rules is None
    assert problems[0].startswith("assessment.yaml: (file): cannot be read")


def test_version_is_the_hash_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "assessment.yaml"
    path.write_bytes(REAL.read_bytes() + b"\n# a comment changes the version\n")
    rules, _ = load_assessment_rules(path)
    assert rules is not None
    assert rules.version == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert rules.version != load_assessment_rules(REAL)[0].version  # type: ignore[union-attr]
