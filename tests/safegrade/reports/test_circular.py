"""The circular (通报) of a campaign built through the real services, with every count known in advance:
each figure of the json checked, on SQLite and on PostgreSQL, and the same figures found in md, html
and docx.

The campaign (window 2023-06-01 – 2023-08-31, 台账 due 2023-12-15), 8 enterprises selected:
  武清区 W1 优 (ZN01, ZP01; a finding's evidence rejected once)   W2 良 (ZN01, FX03, GZ01, PX01)
         W3 差 (ZD01 major hazard, ZN01; interviewed twice: 2 家次)  W4 excluded (注销)
  河西区 H1 优 (ZN01, ZP02 which opens no finding; then propose_revocation + revoke)
         H2 良, assessed late on 2023-09-04 (ZP01, FX03, FX01; plus a legacy deduction without content)
         H3 差 (26 points: revocation pending, then revoke)      H4 never assessed (outstanding)
Results 2/2/2 of 6: a third each, where rounding each share alone gives 99.9 %.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter

from safegrade.errors import NotFound
from safegrade.reports.circular import render as render_contract
from safegrade.services.campaign import campaign_status
from safegrade.services.reporting.circular import CircularFigures, circular_figures
from tests.safegrade.reports.circular_world import CAMPAIGN, EXPECTED


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def figures(request, built) -> dict[str, Any]:
    return asdict(built(request.param)[0])  # the contract as the dict of its fields, which the tests read


@pytest.fixture(scope="module")
def sqlite_figures(built) -> dict[str, Any]:
    return asdict(built("sqlite")[0])


def render(figures: dict[str, Any], fmt: str) -> bytes:
    """The reports' render of the figures given as the dict of the contract's fields (which tests change):
    the contract is rebuilt from it by pydantic, as the API will."""
    return render_contract(TypeAdapter(CircularFigures).validate_python(figures), fmt)


def _district(figures: dict[str, Any], name: str, key: str = "by_district") -> dict[str, Any]:
    return next(d for d in figures[key] if d["district_name"] == name)


# --- the figures ---------------------------------------------------------------------------------


def test_selection_exclusion_and_assessment(figures):
    assert figures["campaign"] == {"name": CAMPAIGN, "starts_on": date(2023, 6, 1), "ends_on": date(2023, 8, 31),
                                   "ledger_due_on": date(2023, 12, 15)}
    assert figures["as_of"] == date(2023, 9, 15)
    assert (figures["selected"], figures["excluded"], figures["assessed"]) == (8, 1, 6)
    assert (figures["outstanding"], figures["late_assessments"]) == (1, 1)
    assert figures["excluded_by_reason"] == [{"reason": "deregistered", "label": "企业已注销，不予评估", "count": 1}]
    assert figures["issuer"] == "市应急管理局"
    assert figures["addressees"] == "各区应急管理局"


def test_results_and_percentages_add_up_to_100_by_the_largest_remainder(figures):
    assert figures["results"] == {"优": 2, "良": 2, "差": 2}
    # a third each: 33.3 three times would make 99.9; the first of the equal remainders gets the tenth
    assert figures["percent"] == {"优": 33.4, "良": 33.3, "差": 33.3}
    assert figures["rounding"]["method"] == "largest_remainder"
    assert figures["rounding"]["decimals"] == 1
    assert "最大余数法" in figures["rounding"]["text"]


def test_methods_problems_major_hazards_and_materials(figures):
    assert figures["methods"] == [{"method": "资料审查", "assessments": 6}, {"method": "现场检查", "assessments": 6},
                                  {"method": "现场询问", "assessments": 3}]
    assert figures["elements"][0] == "规章制度和操作规程"
    assert len(figures["elements"]) == 7
    # 19 deductions imported + 1 legacy; findings: every deduction but ZP02 (no finding) and the legacy one
    assert (figures["deductions"], figures["findings"]) == (20, 18)
    assert (figures["major_hazards"], figures["major_hazard_enterprises"]) == (1, 1)
    assert figures["materials_printed"] == {"by_kind": {"口袋书": 200, "小册子": 35, "明白卡": 20}, "total": 255}


def test_interviews_count_each_one_held_and_revocations_per_district(figures):
    assert (figures["interviews"], figures["revocations"]) == (2, 2)
    wuqing, hexi = _district(figures, "武清区"), _district(figures, "河西区")
    assert (wuqing["interviews"], wuqing["revocations"]) == (2, 0)
    assert (hexi["interviews"], hexi["revocations"]) == (0, 2)


def test_by_district(figures):
    assert [d["district_name"] for d in figures["by_district"]] == ["河西区", "武清区"]  # by district code
    wuqing, hexi = _district(figures, "武清区"), _district(figures, "河西区")
    assert {k: wuqing[k] for k in ("selected", "excluded", "assessed", "outstanding", "late")} == \
        {"selected": 4, "excluded": 1, "assessed": 3, "outstanding": 0, "late": 0}
    assert {k: hexi[k] for k in ("selected", "excluded", "assessed", "outstanding", "late")} == \
        {"selected": 4, "excluded": 0, "assessed": 3, "outstanding": 1, "late": 1}
    assert wuqing["results"] == {"优": 1, "良": 1, "差": 1}
    assert hexi["results"] == {"优": 1, "良": 1, "差": 1}
    assert (wuqing["deductions"], wuqing["findings"], wuqing["major_hazards"]) == (8, 8, 1)
    assert (hexi["deductions"], hexi["findings"], hexi["major_hazards"]) == (12, 10, 0)
    assert wuqing["excluded_by_reason"] == [{"reason": "deregistered", "label": "企业已注销，不予评估", "count": 1}]
    assert wuqing["materials"] == {"口袋书": 150, "小册子": 30, "明白卡": 20}
    assert hexi["materials"] == {"口袋书": 50, "小册子": 5, "明白卡": 0}


def test_top_problems_by_element_most_enterprises_first(figures):
    top = [(p["label"], p["enterprises"], p["deductions"]) for p in figures["top_problems"]]
    assert top == [("智能化建设", 4, 4),
                   ("安全风险管控及隐患排查治理", 3, 6),  # ties keep the rules' order of elements
                   ("标准化定期自评", 3, 3),
                   ("规章制度和操作规程", 2, 3), ("培训教育", 2, 2),
                   ("外委作业施工单位管理", 1, 1), ("重大事故隐患", 1, 1)]
    risk = figures["top_problems"][1]["items"]
    assert [(i["item"], i["enterprises"]) for i in risk] == [("FX03", 3), ("FX01", 2), ("FX02", 1)]
    assert risk[0]["label"] == "隐患排查治理未形成闭环"


def test_late_districts_and_district_failings(figures):
    assert figures["late_districts"] == ["河西区"]
    wuqing, hexi = _district(figures, "武清区", "district_failings"), _district(figures, "河西区", "district_failings")
    assert wuqing == {"district": "120114", "district_name": "武清区", "late": False, "late_assessments": 0,
                      "outstanding_after_window": 0, "deductions_without_content": 0, "rejected_findings": 1,
                      "flags": 0, "flags_by_kind": {}}
    assert hexi == {"district": "120103", "district_name": "河西区", "late": True, "late_assessments": 1,
                    "outstanding_after_window": 1, "deductions_without_content": 1, "rejected_findings": 0,
                    # the late assessment is dated after the window; the legacy deduction without content
                    # leaves the stored score at odds with the deductions (safegrade.services.reporting.oversight)
                    "flags": 2, "flags_by_kind": {"assessed_outside_window": 1, "score_mismatch": 1}}


def test_the_oversight_flags_are_counted_per_district(built, monkeypatch):
    """The circular counts what `report districts` flags (its detection is tested in test_oversight),
    less the deductions without content, which it counts on their own."""
    import safegrade.services.reporting.circular as circular

    _, make, _ = built("sqlite")
    monkeypatch.setattr(circular, "flag_counts_in", lambda _ctx, _session, _campaign, _then: {
        "120114": {"assessed_on_rest_day": 2, "shared_evidence": 1, "deduction_without_content": 5},
        "120103": {"copied_deductions": 0}})
    figures = asdict(circular_figures(make("rev"), CAMPAIGN))
    wuqing, hexi = _district(figures, "武清区", "district_failings"), _district(figures, "河西区", "district_failings")
    assert (wuqing["flags"], wuqing["flags_by_kind"]) == (3, {"assessed_on_rest_day": 2, "shared_evidence": 1})
    assert (hexi["flags"], hexi["flags_by_kind"]) == (0, {})
    assert "四是报送数据存在质量问题（武清区3项）" in render(figures, "md").decode("utf-8")


def test_deadlines_come_from_the_rules_and_the_campaign(figures):
    assert figures["deadlines"] == {"ledger_due_on": date(2023, 12, 15), "finding_working_days": 20,
                                    "major_finding_working_days": 10, "publicity_working_days": 5}


def test_the_counts_agree_with_campaign_status(built):
    figures, make, _ = built("sqlite")
    figures, status = asdict(figures), asdict(campaign_status(make("rev"), CAMPAIGN))
    assert {k: figures[k] for k in ("selected", "excluded", "assessed", "interviews", "revocations")} == \
        {k: status["total"][k] for k in ("selected", "excluded", "assessed", "interviews", "revocations")}
    assert figures["results"] == status["total"]["results"]


def test_an_unknown_campaign_is_refused(built):
    _, make, _ = built("sqlite")
    with pytest.raises(NotFound, match="no campaign named '2024年'"):
        circular_figures(make("rev"), "2024年")


def test_json_holds_every_figure_under_its_stable_key(sqlite_figures):
    import json

    data = json.loads(render(sqlite_figures, "json"))
    for key in ("selected", "excluded", "assessed", "results", "percent", "findings", "major_hazards", "interviews",
                "revocations", "by_district", "top_problems", "materials_printed", "late_districts", "campaign",
                "methods", "excluded_by_reason", "district_failings", "rounding"):
        assert key in data, key
    assert data["percent"] == {"优": 33.4, "良": 33.3, "差": 33.3}
    assert data["campaign"]["ledger_due_on"] == "2023-12-15"
    assert {d["district_name"]: d["flags"] for d in data["district_failings"]} == {"河西区": 2, "武清区": 0}


# --- the documents ---------------------------------------------------------------------------------


def test_markdown_says_every_figure(sqlite_figures):
    md = render(sqlite_figures, "md").decode("utf-8")
    for phrase in EXPECTED:
        assert phrase in md, phrase
    assert "| 河西区 | 4 | 0 | 3 | 1 | 1 | 1 | 10 | 0 | 0 | 2 |" in md
    assert "| 合计 | 8 | 1 | 6 | 2 | 2 | 2 | 18 | 1 | 2 | 2 |" in md
    headings = [md.index(f"## {h}") for h in ("一、工作情况", "二、评估情况", "三、存在问题", "四、工作要求")]
    assert headings == sorted(headings)


def test_html_is_one_self_contained_page_with_the_figures_and_an_svg_chart(sqlite_figures):
    html = render(sqlite_figures, "html").decode("utf-8")
    for phrase in EXPECTED:
        assert phrase in html, phrase
    assert "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "<link" not in html
    assert html.count("<svg") == 1
    assert 'data-district="武清区" data-result="差" data-count="1"' in html


def test_docx_has_the_figures_the_tables_and_the_chart(sqlite_figures):
    from docx import Document

    doc = Document(io.BytesIO(render(sqlite_figures, "docx")))
    body = "\n".join(p.text for p in doc.paragraphs)
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    for phrase in EXPECTED:
        assert phrase in body or any(phrase in c for row in cells for c in row), phrase
    assert doc.paragraphs[0].text == "市应急管理局关于2023年运行质量评估工作的通报"
    assert ["合计", "8", "1", "6", "2", "2", "2", "18", "1", "2", "2"] in cells
    assert ["河西区", "1", "1", "1", "0", "2"] in cells  # table 2: the districts' failings, with their flags
    assert len(doc.inline_shapes) == 1  # the chart
    assert doc.core_properties.title == doc.paragraphs[0].text


# --- the text in other situations (the same figures, changed) ----------------------------------------


def _changed(figures: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(figures)


def test_flags_once_wired_in_are_written_and_tabled(sqlite_figures):
    f = _changed(sqlite_figures)
    _district(f, "武清区", "district_failings")["flags"] = 3
    _district(f, "河西区", "district_failings")["flags"] = 0
    md = render(f, "md").decode("utf-8")
    assert "四是报送数据存在质量问题（武清区3项）" in md
    assert "| 整改材料被退回（项） | 数据质量标记（项） |\n" in md
    assert "| 武清区 | 0 | 0 | 0 | 1 | 3 |" in md


def test_several_districts_are_counted_with_their_share(sqlite_figures):
    f = _changed(sqlite_figures)
    _district(f, "河西区")["interviews"], f["interviews"] = 1, 3
    _district(f, "武清区")["excluded_by_reason"] = _district(f, "河西区")["excluded_by_reason"] = \
        [{"reason": "deregistered", "label": "企业已注销，不予评估", "count": 1}]
    f["excluded_by_reason"][0]["count"] = 2
    md = render(f, "md").decode("utf-8")
    assert "2个区应急管理局通报约谈有关企业3家次（河西区1家次、武清区2家次）" in md
    assert "2个区在评估中共摸排出2家定级企业（企业已注销，不予评估：河西区1家、武清区1家）" in md


def test_a_campaign_without_assessments_or_failings_says_so(sqlite_figures):
    f = _changed(sqlite_figures)
    f["assessed"] = f["findings"] = f["deductions"] = 0
    f["results"] = {"优": 0, "良": 0, "差": 0}
    f["top_problems"], f["methods"] = [], []
    for d in f["district_failings"]:
        d.update(late=False, late_assessments=0, outstanding_after_window=0, deductions_without_content=0,
                 rejected_findings=0, flags=0, flags_by_kind={})
    md = render(f, "md").decode("utf-8")
    assert "各区尚未报送评估结果" in md
    assert "占比" not in md
    assert "此次评估未发现扣分事项" in md
    assert "各区均在规定期限（2023年8月31日）内完成评估" in md
    assert "表2" not in md


def test_no_ledger_due_date_no_ledger_request(sqlite_figures):
    f = _changed(sqlite_figures)
    f["campaign"]["ledger_due_on"] = None
    md = render(f, "md").decode("utf-8")
    assert "台账报送" not in md
    assert "附件" not in md
    assert md.rstrip().endswith("2023年9月15日</p>")
