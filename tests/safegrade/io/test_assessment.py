"""Reading assessment documents: the same assessments from YAML, JSON and a workbook; every bad value
reported at its exact row and field; files that cannot be read refused with what is allowed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from safegrade.domain import creditcode
from safegrade.domain.scoring import AssessmentRules, Deduction, load_assessment_rules
from safegrade.errors import InvalidInput
from safegrade.io.assessment import (
    CONTENT_RULE,
    AssessmentInput,
    assessments_to_yaml,
    read_assessments,
    write_assessments_xlsx,
)
from safegrade.io.cells import RowProblem
from safegrade.settings import PROJECT_ROOT

REAL = PROJECT_ROOT / "rules" / "assessment.yaml"
CODE_A = creditcode.make("91120114MA05K1234")
CODE_B = creditcode.make("91120116MA06AB12C")
CAMPAIGN = "2023年运行质量评估"
CODE_HINT = ("item codes look like GZ01, PX01, WW01, FX01, ZP01, ZN01, ZD01 (the full list of 29 items is under "
             "elements: in the assessment rules, rules/assessment.yaml)")
NA_HINT = "items that may: WW01, WW02, WW03, WW04, FX06, ZN03"


@pytest.fixture(scope="module")
def arules() -> AssessmentRules:
    rules, problems = load_assessment_rules(REAL)
    assert problems == []
    assert rules is not None
    return rules


def expected() -> list[AssessmentInput]:
    """The two assessments every good file below holds."""
    return [
        AssessmentInput(
            "", 0, CODE_A, CAMPAIGN, date(2023, 6, 15), ("张建强", "王伟"), ("资料审查", "现场检查", "现场询问"),
            (Deduction("ZP01", 5.0, "未开展2022年度安全生产标准化自评", True),
             Deduction("ZN01", 2.0, "未建立安全生产信息化管理系统", True),
             Deduction("FX03", 1.5, "3项隐患无整改验收记录", True),
             Deduction("ZP02", 1.0, "2021年自评报告未分析运行缺陷", False)),   # ZP02 is rectify: false
            ("WW01", "WW02", "WW03", "WW04"), {"口袋书": 120, "明白卡": 300}, "企业无外委作业"),
        AssessmentInput(
            "", 0, CODE_B, CAMPAIGN, date(2023, 7, 3), ("李娜",), ("资料审查",),
            (Deduction("ZN01", 4.0, "未推进信息化、数字化建设", False),),             # 否 overrides the item
            (), {}, ""),
    ]


YAML_A = f"""\
统一社会信用代码: {CODE_A}
campaign: {CAMPAIGN}
assessed_on: 2023-06-15
assessors: 张建强、王伟
methods: [资料审查, 现场检查, 现场询问]
not_applicable: [WW01, WW02, WW03, WW04]
materials: {{口袋书: 120, 明白卡: 300}}
remarks: 企业无外委作业
deductions:
  - {{item: ZP01, points: 5, content: 未开展2022年度安全生产标准化自评, element: 标准化定期自评}}
  - {{item: ZN01, points: 2, content: 未建立安全生产信息化管理系统, rectify: true}}
  - {{item: fx03, points: 1.5, content: 3项隐患无整改验收记录, element: risk_hazard}}
  - {{item: ZP02, points: 1, content: 2021年自评报告未分析运行缺陷}}
"""
YAML_B = f"""\
credit_code: {CODE_B}
campaign: {CAMPAIGN}
assessed_on: 2023年7月3日
assessors: [李娜]
methods: 资料审查
deductions:
  - {{item: ZN01, points: 4, content: 未推进信息化、数字化建设, rectify: false}}
"""


def as_list(*docs: str) -> str:
    return "".join("- " + doc.replace("\n", "\n  ").rstrip() + "\n" for doc in docs)


def origins(items: Sequence[AssessmentInput]) -> list[tuple[str, int]]:
    return [(a.file, a.row) for a in items]


def test_yaml_single_document(tmp_path: Path, arules: AssessmentRules) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(YAML_A, encoding="utf-8")
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got == expected()[:1]
    assert (got[0].file, got[0].row) == (str(path), 1)


def test_yaml_list_and_yaml_documents(tmp_path: Path, arules: AssessmentRules) -> None:
    listed = tmp_path / "list.yml"
    listed.write_text(as_list(YAML_A, YAML_B), encoding="utf-8")
    documents = tmp_path / "documents.yaml"
    documents.write_text(YAML_A + "---\n" + YAML_B, encoding="utf-8")
    for path in (listed, documents):
        got, problems = read_assessments(path, arules)
        assert problems == []
        assert got == expected()
        assert origins(got) == [(str(path), 1), (str(path), 2)]


def test_json(tmp_path: Path, arules: AssessmentRules) -> None:
    docs = [yaml.safe_load(YAML_A), yaml.safe_load(YAML_B)]
    docs[0]["assessed_on"] = "2023-06-15"
    path = tmp_path / "a.json"
    path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got == expected()


ZH_ASSESSMENT = ("统一社会信用代码", "评估批次", "评估日期", "评估人员", "评估方式", "不适用项", "口袋书", "小册子",
                 "明白卡", "备注")
EN_ASSESSMENT = ("credit_code", "campaign", "assessed_on", "assessors", "methods", "not_applicable", "口袋书",
                 "小册子", "明白卡", "remarks")
ZH_DEDUCTION = ("统一社会信用代码", "评估批次", "要素", "扣分项", "扣分", "扣分内容", "需整改")
EN_DEDUCTION = ("credit_code", "campaign", "element", "item", "points", "content", "rectify")


def assessment_rows() -> list[list[object]]:
    return [
        [CODE_A, CAMPAIGN, date(2023, 6, 15), "张建强、王伟", "资料审查、现场检查、现场询问", "WW01、WW02、WW03、WW04",
         120, None, 300, "企业无外委作业"],
        [CODE_B, CAMPAIGN, "2023/7/3", "李娜", "资料审查", None, None, None, None, None],
    ]


def deduction_rows() -> list[list[object]]:
    return [
        [CODE_A, CAMPAIGN, "标准化定期自评", "ZP01", 5, "未开展2022年度安全生产标准化自评", None],
        [CODE_B, CAMPAIGN, "智能化建设", "ZN01", 4, "未推进信息化、数字化建设", "否"],
        [CODE_A, CAMPAIGN, None, "ZN01", 2, "未建立安全生产信息化管理系统", "是"],
        [CODE_A, CAMPAIGN, "risk_hazard", "FX03", 1.5, "3项隐患无整改验收记录", None],
        [CODE_A, CAMPAIGN, None, "ZP02", "1", "2021年自评报告未分析运行缺陷", None],
    ]


def workbook(path: Path, assessments: Sequence[Sequence[object]], deductions: Sequence[Sequence[object]],
             headers: tuple[Sequence[str], Sequence[str]] = (ZH_ASSESSMENT, ZH_DEDUCTION),
             sheets: tuple[str, str] = ("评估", "扣分"), title_row: str | None = None) -> Path:
    wb = Workbook()
    first = wb.active
    first.title = sheets[0]
    if title_row:
        first.append([title_row])
    first.append(list(headers[0]))
    for row in assessments:
        first.append(list(row))
    second = wb.create_sheet(sheets[1])
    second.append(list(headers[1]))
    for row in deductions:
        second.append(list(row))
    wb.create_sheet("说明").append(["填表说明：每条扣分须写明扣分项和扣分内容"])
    wb.save(path)
    return path


def test_xlsx_with_both_sheets(tmp_path: Path, arules: AssessmentRules) -> None:
    path = workbook(tmp_path / "a.xlsx", assessment_rows(), deduction_rows())
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got == expected()
    assert origins(got) == [(str(path), 2), (str(path), 3)]


def test_xlsx_english_headers(tmp_path: Path, arules: AssessmentRules) -> None:
    path = workbook(tmp_path / "en.xlsx", assessment_rows(), deduction_rows(), (EN_ASSESSMENT, EN_DEDUCTION))
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got == expected()


def test_xlsx_title_row_and_excel_serial_date(tmp_path: Path, arules: AssessmentRules) -> None:
    rows = assessment_rows()
    rows[0][2] = 45092   # 2023-06-15 typed into a cell formatted as a number
    path = workbook(tmp_path / "t.xlsx", rows, deduction_rows(), title_row="2023年武清区运行质量评估汇总")
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got == expected()
    assert origins(got) == [(str(path), 3), (str(path), 4)]


def test_same_assessments_from_every_format(tmp_path: Path, arules: AssessmentRules) -> None:
    yaml_path = tmp_path / "a.yaml"
    yaml_path.write_text(as_list(YAML_A, YAML_B), encoding="utf-8")
    xlsx_path = workbook(tmp_path / "a.xlsx", assessment_rows(), deduction_rows())
    from_yaml, from_xlsx = read_assessments(yaml_path, arules)[0], read_assessments(xlsx_path, arules)[0]
    assert from_yaml == from_xlsx == expected()
    assert [a.row for a in from_yaml] != [a.row for a in from_xlsx]   # where they came from differs


def test_writers_round_trip(tmp_path: Path, arules: AssessmentRules) -> None:
    xlsx_path, yaml_path = tmp_path / "w.xlsx", tmp_path / "w.yaml"
    write_assessments_xlsx(expected(), xlsx_path, arules)
    yaml_path.write_text(assessments_to_yaml(expected()), encoding="utf-8")
    assert read_assessments(xlsx_path, arules) == (expected(), [])
    assert read_assessments(yaml_path, arules) == (expected(), [])


NAMES = ("张建强", "王伟", "李娜", "刘洋", "Zhang Wei")
TEXTS = ("未开展2022年度安全生产标准化自评", "隐患整改无验收记录，未闭环", "培训档案缺少2023年3月记录",
         "现场询问：员工不掌握操作规程", "风险告知卡未张贴 in 车间二")


@st.composite
def assessments(draw: st.DrawFn, rules: AssessmentRules) -> list[AssessmentInput]:
    count = draw(st.integers(0, 3))
    firsts = draw(st.lists(st.text(creditcode.ALPHABET, min_size=17, max_size=17), min_size=count,
                           max_size=count, unique=True))
    out = []
    for first in firsts:
        deductions = []
        for code in draw(st.lists(st.sampled_from(sorted(rules.items)), max_size=5)):
            item = rules.items[code]
            halves = draw(st.integers(1, int(item.points * 2)))
            rectify = True if item.veto else draw(st.booleans())
            deductions.append(Deduction(code, halves / 2, draw(st.sampled_from(TEXTS)), rectify))
        used = {d.item for d in deductions}
        may = [c for c, i in rules.items.items() if i.not_applicable and c not in used]
        out.append(AssessmentInput(
            "", 0, creditcode.make(first), draw(st.sampled_from(("2023", "2023年运行质量评估", "第二批"))),
            draw(st.dates(date(2021, 1, 1), date(2026, 12, 31))),
            tuple(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))),
            tuple(draw(st.lists(st.sampled_from(rules.methods), min_size=1, max_size=3, unique=True))),
            tuple(deductions), tuple(draw(st.lists(st.sampled_from(may), unique=True))) if may else (),
            draw(st.dictionaries(st.sampled_from(rules.materials), st.integers(0, 10_000))),
            draw(st.sampled_from(("", "企业无外委作业", "复查时间另行通知"))),
        ))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_writers_round_trip_anything_valid(tmp_path: Path, arules: AssessmentRules, data: st.DataObject) -> None:
    items = data.draw(assessments(arules))
    xlsx_path, yaml_path = tmp_path / "h.xlsx", tmp_path / "h.yaml"
    write_assessments_xlsx(items, xlsx_path, arules)
    yaml_path.write_text(assessments_to_yaml(items), encoding="utf-8")
    assert read_assessments(xlsx_path, arules) == (items, [])
    assert read_assessments(yaml_path, arules) == (items, [])


# --- every bad value in a YAML file, at its exact row and field ---------------------------------------

def _good_a() -> dict[str, Any]:
    doc = yaml.safe_load(YAML_A)
    assert isinstance(doc, dict)
    return doc


def _ded(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is ...:
                del doc["deductions"][index][key]
            else:
                doc["deductions"][index][key] = value
    return change


def _top(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is ...:
                del doc[key]
            else:
                doc[key] = value
    return change


DUPLICATE = ("the same 统一社会信用代码 and 评估批次 appear twice in the file; one assessment per enterprise "
             "and campaign")
BOTH = ("is also marked not applicable (不适用项) in this assessment; either deduct points on it or mark it not "
        "applicable, not both")
NO_ASSESSMENT = ("no assessment in sheet 评估 has 统一社会信用代码 {} and 评估批次 {}; add its row there or correct "
                 "this one")
ZP01_MAX = "above the item's maximum of 5 points (ZP01 未按规定开展年度自评)"
CREDIT_ALLOWED = ("credit_code, campaign, assessed_on, assessors, methods, not_applicable, remarks, materials, "
                  "deductions")

YAML_BAD = [
    pytest.param(_ded(0, content=""), "deductions[0].content", "", "empty: " + CONTENT_RULE, id="content-empty"),
    pytest.param(_ded(0, content="   "), "deductions[0].content", "   ", "empty: " + CONTENT_RULE,
                 id="content-whitespace"),
    pytest.param(_ded(0, content=...), "deductions[0].content", "", "empty: " + CONTENT_RULE, id="content-missing"),
    pytest.param(_ded(0, content="未 自 评"), "deductions[0].content", "未 自 评",
                 "only 3 character(s): " + CONTENT_RULE, id="content-3-characters"),
    pytest.param(_ded(1, item=...), "deductions[1].item", "",
                 "required: every deduction must record its item (扣分项) and specific content; " + CODE_HINT,
                 id="item-missing"),
    pytest.param(_ded(1, item="GZ99"), "deductions[1].item", "GZ99", f"unknown item code GZ99; {CODE_HINT}",
                 id="item-unknown"),
    pytest.param(_ded(0, points=0), "deductions[0].points", "0",
                 "must be above 0; a deduction takes points off (leave an item without deductions out)",
                 id="points-zero"),
    pytest.param(_ded(0, points=-1), "deductions[0].points", "-1",
                 "must be above 0; a deduction takes points off (leave an item without deductions out)",
                 id="points-negative"),
    pytest.param(_ded(0, points="两分"), "deductions[0].points", "两分",
                 "not a number; write the points deducted, e.g. 2 or 0.5", id="points-not-a-number"),
    pytest.param(_ded(0, points=True), "deductions[0].points", "True",
                 "not a number; write the points deducted, e.g. 2 or 0.5", id="points-boolean"),
    pytest.param(_ded(0, points=...), "deductions[0].points", "", "required; write the points deducted (扣分)",
                 id="points-missing"),
    pytest.param(_ded(0, points=5.5), "deductions[0].points", "5.5", ZP01_MAX, id="points-above-maximum"),
    pytest.param(_ded(1, item="WW02", points=1), "deductions[1].item", "WW02",
                 f"item WW02 {BOTH}", id="deduction-on-not-applicable-item"),
    pytest.param(_ded(0, element="培训教育"), "deductions[0].element", "培训教育",
                 "item ZP01 belongs to 标准化定期自评 (self_assessment), not to 培训教育", id="element-mismatch"),
    pytest.param(_ded(1, rectify="也许"), "deductions[1].rectify", "也许",
                 "write 是 or 否 (whether the deduction opens a finding to rectify), or leave it empty for the item's "
                 "default", id="rectify-unknown"),
    pytest.param(_ded(1, item="ZD01", rectify=False), "deductions[1].rectify", "False",
                 "a major accident hazard (重大事故隐患) is always rectified; write 是 or leave it empty",
                 id="veto-not-rectified"),
    pytest.param(_ded(1, note="x"), "deductions[1].note", "",
                 "unknown key note; allowed keys are element, item, points, content, rectify", id="deduction-key"),
    pytest.param(_top(not_applicable=["WW01", "GZ01"]), "not_applicable[1]", "GZ01",
                 "item GZ01 (安全生产规章制度不健全或未根据法律法规、标准变化及时修订) may not be marked "
                 f"not applicable; {NA_HINT}", id="not-applicable-not-allowed"),
    pytest.param(_top(not_applicable="WW01、XX01"), "not_applicable", "XX01", f"unknown item code XX01; {CODE_HINT}",
                 id="not-applicable-unknown"),
    pytest.param(_top(methods=["资料审查", "电话询问"]), "methods[1]", "电话询问",
                 "unknown method; the methods are 资料审查、现场检查、现场询问", id="method-unknown"),
    pytest.param(_top(methods=[]), "methods", "[]",
                 "required; name at least one method (评估方式): 资料审查、现场检查、现场询问", id="methods-empty"),
    pytest.param(_top(assessors=""), "assessors", "", "required; name at least one assessor (评估人员)",
                 id="assessors-empty"),
    pytest.param(_top(assessors=["", " "]), "assessors", "['', ' ']", "required; name at least one assessor (评估人员)",
                 id="assessors-blank"),
    pytest.param(_top(assessed_on=...), "assessed_on", "", "required; it is empty or missing", id="date-missing"),
    pytest.param(_top(assessed_on="2023-13-01"), "assessed_on", "2023-13-01",
                 "no such day in the calendar; write YYYY-MM-DD", id="date-no-such-day"),
    pytest.param(_top(assessed_on="六月中旬"), "assessed_on", "六月中旬",
                 "not a date; write YYYY-MM-DD (also accepted: YYYY/M/D, YYYY.M.D, YYYY年M月D日)", id="date-text"),
    pytest.param(_top(统一社会信用代码=CODE_A[:-1] + "0"), "统一社会信用代码", CODE_A[:-1] + "0",
                 "check character is '0', expected '6'", id="credit-code-check"),
    pytest.param(_top(统一社会信用代码="91120114MA05K123"), "统一社会信用代码", "91120114MA05K123",
                 "has 16 character(s), 18 needed", id="credit-code-short"),
    pytest.param(_top(campaign=...), "campaign", "", "required; it is empty or missing", id="campaign-missing"),
    pytest.param(_top(materials={"口袋书": 120, "宣传册": 10}), "materials.宣传册", "10",
                 "unknown material 宣传册; the materials counted are 口袋书、小册子、明白卡", id="material-unknown"),
    pytest.param(_top(materials={"口袋书": -5}), "materials.口袋书", "-5", "must be 0 or more copies",
                 id="material-negative"),
    pytest.param(_top(materials={"口袋书": 2.5}), "materials.口袋书", "2.5", "must be a whole number of copies",
                 id="material-fraction"),
    pytest.param(_top(score=95), "score", "", f"unknown key score; allowed keys are {CREDIT_ALLOWED}",
                 id="unknown-key"),
    pytest.param(_top(credit_code=CODE_A), "credit_code", "",
                 "given twice, as 统一社会信用代码 and credit_code; keep one", id="key-twice"),
    pytest.param(_top(deductions={"item": "ZP01"}), "deductions", "{'item': 'ZP01'}",
                 "must be a list of deductions, each with element, item, points, content, rectify",
                 id="deductions-not-a-list"),
    pytest.param(_top(deductions=["ZP01 扣5分"]), "deductions[0]", "ZP01 扣5分",
                 "must be a mapping with keys element, item, points, content, rectify", id="deduction-not-a-mapping"),
]


@pytest.mark.parametrize(("change", "column", "value", "reason"), YAML_BAD)
def test_each_bad_yaml_value(tmp_path: Path, arules: AssessmentRules, change: Callable[[dict[str, Any]], None],
                             column: str, value: str, reason: str) -> None:
    bad = _good_a()
    change(bad)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump([yaml.safe_load(YAML_B), bad], allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    got, problems = read_assessments(path, arules)
    assert problems == [RowProblem(str(path), 2, column, value, reason)]
    assert got == expected()[1:]   # the good one is still read; the caller decides


def test_duplicate_assessment_names_the_first(tmp_path: Path, arules: AssessmentRules) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(as_list(YAML_A, YAML_B, YAML_A.replace("2023-06-15", "2023-06-16")), encoding="utf-8")
    got, problems = read_assessments(path, arules)
    assert problems == [RowProblem(str(path), 3, "统一社会信用代码", CODE_A, f"duplicate of row 1: {DUPLICATE}")]
    assert got == expected()


def test_every_problem_of_one_assessment_is_reported(tmp_path: Path, arules: AssessmentRules) -> None:
    bad = _good_a()
    bad.update(assessed_on="", methods=["电话"], assessors=[])
    bad["deductions"][0].update(content="", points=9)
    bad["deductions"][2].update(item="QQ01")
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True, sort_keys=False), encoding="utf-8")
    got, problems = read_assessments(path, arules)
    assert got == []
    assert [(p.row, p.column) for p in problems] == [
        (1, "assessed_on"), (1, "assessors"), (1, "methods[0]"),
        (1, "deductions[0].points"), (1, "deductions[0].content"), (1, "deductions[2].item"),
    ]


def test_accepted_codes_let_a_failing_check_character_through(tmp_path: Path, arules: AssessmentRules) -> None:
    wrong = CODE_A[:-1] + "0"
    path = tmp_path / "a.yaml"
    path.write_text(YAML_A.replace(CODE_A, wrong), encoding="utf-8")
    assert read_assessments(path, arules)[1][0].reason == "check character is '0', expected '6'"
    got, problems = read_assessments(path, arules, accepted_codes=[wrong.lower()])
    assert problems == []
    assert got[0].credit_code == wrong


def test_veto_deduction_is_read(tmp_path: Path, arules: AssessmentRules) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(YAML_B.replace("item: ZN01, points: 4", "item: ZD02, points: 1").replace(", rectify: false", ""),
                    encoding="utf-8")
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got[0].deductions == (Deduction("ZD02", 1.0, "未推进信息化、数字化建设", True),)


# --- bad values in a workbook, at their spreadsheet row and sheet!column ------------------------------

def _cell(rows: Callable[[], list[list[object]]], row: int, column: int, value: object,
          *more: tuple[int, int, object]) -> list[list[object]]:
    """rows() with the cell at (row, column) — and each further (row, column, value) — changed."""
    changed = rows()
    for r, c, v in ((row, column, value), *more):
        changed[r][c] = v
    return changed


XLSX_BAD = [
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 2, 5, "  "), [
        (4, "扣分!扣分内容", "  ", "empty: " + CONTENT_RULE)], id="content-empty"),
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 0, 5, "未自评"), [
        (2, "扣分!扣分内容", "未自评", "only 3 character(s): " + CONTENT_RULE)], id="content-short"),
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 0, 2, "培训教育"), [
        (2, "扣分!要素", "培训教育", "item ZP01 belongs to 标准化定期自评 (self_assessment), not to 培训教育")],
        id="element-mismatch"),
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 3, 2, None, (3, 3, "WW03")), [
        (5, "扣分!扣分项", "WW03", f"item WW03 {BOTH}")], id="not-applicable-item"),
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 0, 4, 6), [
        (2, "扣分!扣分", "6", ZP01_MAX)], id="points-above-maximum"),
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 0, 4, "五分"), [
        (2, "扣分!扣分", "五分", "not a number; write the points deducted, e.g. 2 or 0.5")], id="points-text"),
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 1, 1, "2022"), [
        (3, "扣分!统一社会信用代码", CODE_B, NO_ASSESSMENT.format(CODE_B, "2022"))],
        id="deduction-without-assessment"),
    pytest.param(assessment_rows, lambda: _cell(deduction_rows, 1, 0, None), [
        (3, "扣分!统一社会信用代码", "", "required; the cell is empty: it names the assessment (in sheet 评估) this "
                                  "deduction belongs to")], id="deduction-without-code"),
    pytest.param(lambda: _cell(assessment_rows, 1, 0, 911201160000000000), deduction_rows, [
        (3, "评估!统一社会信用代码", "911201160000000000",
         "a number, not text: a spreadsheet keeps only 15 digits, so the code is damaged; write it as text (format "
         "the column as 文本, or quote it in YAML)"),
        (3, "扣分!统一社会信用代码", CODE_B, NO_ASSESSMENT.format(CODE_B, CAMPAIGN))],
        id="credit-code-number"),
    pytest.param(lambda: _cell(assessment_rows, 0, 6, -120), deduction_rows, [
        (2, "评估!口袋书", "-120", "must be 0 or more copies")], id="material-negative"),
    pytest.param(lambda: _cell(assessment_rows, 0, 6, "很多"), deduction_rows, [
        (2, "评估!口袋书", "很多", "must be a whole number of copies")], id="material-text"),
    pytest.param(lambda: _cell(assessment_rows, 1, 4, "资料审查、抽查"), deduction_rows, [
        (3, "评估!评估方式", "抽查", "unknown method; the methods are 资料审查、现场检查、现场询问")],
        id="method-unknown"),
    pytest.param(lambda: _cell(assessment_rows, 1, 3, " "), deduction_rows, [
        (3, "评估!评估人员", " ", "required; name at least one assessor (评估人员)")], id="assessors-empty"),
    pytest.param(lambda: _cell(assessment_rows, 1, 2, None), deduction_rows, [
        (3, "评估!评估日期", "", "required; it is empty or missing")], id="date-missing"),
    pytest.param(lambda: _cell(assessment_rows, 1, 2, 9999999), deduction_rows, [
        (3, "评估!评估日期", "9999999", "a number, but not an Excel date serial (1 to 2958465); write YYYY-MM-DD, "
                                  "or use an Excel date cell")], id="date-number"),
    pytest.param(lambda: _cell(assessment_rows, 0, 5, "WW01、ZD01"), deduction_rows, [
        (2, "评估!不适用项", "ZD01", "item ZD01 (存在通用类重大事故隐患（承包承租单位管理、特种作业人员持证、"
                                "主要负责人考核等）) may not be marked not applicable; " + NA_HINT)],
        id="not-applicable-veto"),
    pytest.param(lambda: [*assessment_rows(), assessment_rows()[0]], deduction_rows, [
        (4, "评估!统一社会信用代码", CODE_A, f"duplicate of row 2: {DUPLICATE}")], id="duplicate-assessment"),
]


@pytest.mark.parametrize(("assessments_of", "deductions_of", "problems"), XLSX_BAD)
def test_each_bad_xlsx_value(tmp_path: Path, arules: AssessmentRules,
                             assessments_of: Callable[[], list[list[object]]],
                             deductions_of: Callable[[], list[list[object]]],
                             problems: list[tuple[int, str, str, str]]) -> None:
    path = workbook(tmp_path / "bad.xlsx", assessments_of(), deductions_of())
    assert read_assessments(path, arules)[1] == [RowProblem(str(path), *p) for p in problems]


def test_xlsx_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path: Path, arules: AssessmentRules) -> None:
    rows = assessment_rows()
    path = workbook(tmp_path / "b.xlsx", [rows[0], [None] * 10, rows[1]], [[None] * 7, *deduction_rows()])
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got == expected()
    assert [a.row for a in got] == [2, 4]


# --- files that cannot be read as assessments ---------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "message"), [
    ("a.csv", "x", "unknown file type '.csv'; an assessment file is .yaml, .yml, .json, .xlsx"),
    ("a.yaml", "", "empty; an assessment file holds one assessment"),
    ("a.yaml", "just text\n", "holds str; an assessment file holds one assessment"),
    ("a.yaml", "campaign: [unclosed\n", "not valid YAML: while parsing a flow sequence"),
    ("a.yaml", "campaign: a\ncampaign: b\n", "not valid YAML: while constructing a mapping"),
    ("a.json", '{"campaign": "a", "campaign": "b"}', "not valid JSON: key 'campaign' written twice"),
    ("a.json", "[1,", "not valid JSON"),
])
def test_unreadable_files(tmp_path: Path, arules: AssessmentRules, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        read_assessments(path, arules)
    assert str(info.value).startswith(f"{path}: {message}")


def test_missing_file(tmp_path: Path, arules: AssessmentRules) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        read_assessments(tmp_path / "none.yaml", arules)


def test_workbook_without_deduction_sheet(tmp_path: Path, arules: AssessmentRules) -> None:
    path = workbook(tmp_path / "s.xlsx", assessment_rows(), deduction_rows(), sheets=("评估", "Sheet2"))
    with pytest.raises(InvalidInput) as info:
        read_assessments(path, arules)
    assert str(info.value) == (f"{path}: no worksheet named 扣分; an assessment workbook has a sheet 评估 (one row per "
                               f"assessment) and a sheet 扣分 (one row per deduction); it has '评估', 'Sheet2', '说明'")


def test_workbook_with_unknown_and_missing_headers(tmp_path: Path, arules: AssessmentRules) -> None:
    headers = tuple("宣传册" if h == "小册子" else h for h in ZH_ASSESSMENT)
    path = workbook(tmp_path / "h.xlsx", assessment_rows(), deduction_rows(),
                    headers=(headers, ZH_DEDUCTION))
    with pytest.raises(InvalidInput) as info:
        read_assessments(path, arules)
    assert str(info.value).startswith(f"{path} (sheet 评估), header row 1: unknown column header(s) '宣传册'. "
                                      f"Allowed headers: 统一社会信用代码 (credit_code), ")
    assert "口袋书 (copies, optional)" in str(info.value)


def test_deduction_sheet_missing_content_column(tmp_path: Path, arules: AssessmentRules) -> None:
    path = workbook(tmp_path / "h.xlsx", assessment_rows(), [r[:5] for r in deduction_rows()],
                    headers=(ZH_ASSESSMENT, ZH_DEDUCTION[:5]))
    with pytest.raises(InvalidInput) as info:
        read_assessments(path, arules)
    assert str(info.value).startswith(f"{path} (sheet 扣分), header row 1: "
                                      "missing required column(s) 扣分内容 (content)")


def test_yaml_dates_and_datetimes(tmp_path: Path, arules: AssessmentRules) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(YAML_B.replace("2023年7月3日", "2023-07-03 09:30:00"), encoding="utf-8")
    got, problems = read_assessments(path, arules)
    assert problems == []
    assert got[0].assessed_on == date(2023, 7, 3)
    assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8"))["assessed_on"], datetime)


def test_problem_as_text(tmp_path: Path, arules: AssessmentRules) -> None:
    bad = copy.deepcopy(_good_a())
    bad["deductions"][1]["content"] = ""
    path = tmp_path / "p.json"
    path.write_text(json.dumps(bad | {"assessed_on": "2023-06-15"}, ensure_ascii=False), encoding="utf-8")
    problem = read_assessments(path, arules)[1][0]
    assert str(problem) == f"{path}:1, column deductions[1].content, value '': empty: {CONTENT_RULE}"
