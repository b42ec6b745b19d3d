"""The district oversight report: per district, assessments completed on time, loops closed on time,
interviews and revocations (campaign_status's), the flags with their audit events; as html, xlsx, json."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date

import pytest
from openpyxl import load_workbook

from safegrade.reports.districts import render_districts_html, write_districts
from safegrade.services.campaign import campaign_status, exclude_member
from safegrade.services.finding import list_findings, submit_finding, verify_finding
from safegrade.services.lifecycle import fire_event
from safegrade.services.reporting.districts import district_report
from tests.conftest import at
from tests.factories import plain
from tests.safegrade.services.reporting.loop_world import evidence_file, past
from tests.safegrade.services.reporting.oversight_world import (
    CAMPAIGN,
    assess,
    bound,
    build_oversight,
    event_of,
    simple,
)

WUQING, HEXI = "120114", "120103"
SELF = {"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"}
PLATFORM = {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化管理平台"}
MAJOR = {"item": "ZD01", "points": 5, "content": "粉尘涉爆除尘系统未按规定设置泄爆装置"}
POOR = [{"item": i, "points": p, "content": f"{i} 缺失整改记录"} for i, p in
        [("FX01", 5), ("FX02", 5), ("FX03", 5), ("GZ01", 4), ("GZ02", 4), ("PX01", 3)]]


@pytest.fixture
def ctxs(make_ctx, db_url):
    """Contexts on the test's database: every test here runs on SQLite and on PostgreSQL."""
    return bound(make_ctx, db_url)


@pytest.fixture
def season(ctxs, tmp_path, clock):
    """武清: two on time (one with a major hazard, interviewed), one late; 河西: one poor (revoked), one
    never assessed, one deregistered. One finding closed on time, one late, one major left overdue."""
    o = build_oversight(ctxs, tmp_path, clock, start="2023-06-01", end="2023-08-31", now="2023-07-10 16:00")
    w, h = o.w, o.h
    exclude_member(ctxs("hx"), CAMPAIGN, h[2], "deregistered", "注销公告")
    assess(ctxs, o, [simple(w[0], [SELF, PLATFORM], "2023-07-10"), simple(w[2], [MAJOR], "2023-07-10")])
    clock.set(at("2023-07-12 16:00"))
    assess(ctxs, o, [simple(h[0], POOR, "2023-07-12")], "hexi.yaml")
    ctx = ctxs()
    first, second = (f["id"] for f in plain(list_findings(ctx, credit_code=w[0])))
    proof = evidence_file(tmp_path, "自评报告.pdf", b"%PDF report")
    clock.set(at("2023-07-14 10:00"))
    plain(submit_finding(ctxs(o.user(w[0])), first, [proof]))
    plain(verify_finding(ctxs("wq2"), first))
    clock.set(at("2023-07-20 10:00"))
    fire_event(ctxs("wq"), w[2], "hold_interview", reason="重大事故隐患约谈",
               data={"attendees": "法定代表人", "record": "限期整改"})
    clock.set(at("2023-07-21 10:00"))
    fire_event(ctxs("hx"), h[0], "revoke", reason="公示期满无异议")
    clock.set(at("2023-08-22 10:00"))
    plain(submit_finding(ctxs(o.user(w[0])), second, [evidence_file(tmp_path, "平台.png", b"\x89PNG")]))
    plain(verify_finding(ctxs("wq2"), second))
    clock.set(at("2023-09-05 10:00"))
    assess(ctxs, o, [simple(w[1], [], "2023-09-05")], "late.yaml")
    clock.set(at("2023-09-30 10:00"))
    return o


def test_per_district_completion_loops_interviews_revocations_and_flags(ctxs, season):
    ctx = ctxs()
    report = asdict(district_report(ctx, CAMPAIGN))
    by = {d["district"]: d for d in report["districts"]}
    assert list(by) == [HEXI, WUQING]
    keys = ("selected", "excluded", "to_assess", "assessed", "assessed_on_time", "late", "outstanding",
            "on_time_rate", "interviews", "revocations", "findings", "verified", "verified_on_time", "overdue_open",
            "closed_on_time_rate", "flags_total")
    assert {k: by[WUQING][k] for k in keys} == dict(zip(keys, (3, 0, 3, 3, 2, 1, 0, 66.7, 1, 0, 3, 2, 1, 1, 33.3, 1),
                                                         strict=True))
    assert {k: by[HEXI][k] for k in keys} == dict(zip(keys, (3, 1, 2, 1, 1, 0, 1, 50.0, 0, 1, 6, 0, 0, 6, 0.0, 0),
                                                       strict=True))
    status = {d["district"]: d for d in asdict(campaign_status(ctx, CAMPAIGN))["districts"]}
    for code in (WUQING, HEXI):  # the campaign's own counts, not recounted
        assert all(by[code][k] == status[code][k] for k in ("interviews", "revocations", "late", "outstanding"))
    assert report["total"]["selected"] == 6
    assert report["total"]["revocations"] == 1
    assert report["total"]["findings"] == 9
    assert report["total"]["flag_counts"]["assessed_outside_window"] == 1
    assert report["late_districts"] == ["河西区", "武清区"]
    (flag,) = by[WUQING]["flags"]
    late = event_of(ctx, season.w[1], "record_assessment")
    assert flag["kind"] == "assessed_outside_window"
    assert [(e["enterprise"], e["seq"], e["hash"]) for e in flag["events"]] == [(season.w[1], late["seq"],
                                                                                  late["hash"])]
    assert report["flags"] == [flag]


def test_the_report_as_html_xlsx_and_json(ctxs, season, tmp_path):
    report = district_report(ctxs(), CAMPAIGN)
    (flag,) = asdict(report)["flags"]
    page = render_districts_html(report)
    assert "<script" not in page.lower()
    assert "https://" not in page
    assert "各区运行质量评估工作监督报告" in page
    for text in ("武清区", "河西区", "合计", "按期完成率（%）", "66.7", "评估日期不在评估期内", flag["detail"],
                 flag["events"][0]["hash"], "未发现数据质量问题"):
        assert text in page, text
    book = load_workbook(write_districts(report, tmp_path / "d.xlsx", "xlsx"), read_only=True)
    assert book.sheetnames == ["各区汇总", "数据质量问题", "审计事件"]
    header, *rows = book["各区汇总"].iter_rows(values_only=True)
    assert [r[0] for r in rows] == ["河西区", "武清区", "合计"]
    assert rows[1][header.index("按期完成")] == 2
    assert rows[1][header.index("评估日期不在评估期内")] == 1
    assert rows[0][header.index("撤销（家）")] == 1
    assert rows[1][header.index("约谈（家次）")] == 1
    (_, row), = enumerate(list(book["审计事件"].iter_rows(min_row=2, values_only=True)))
    assert row[4] == flag["events"][0]["id"]
    assert row[5] == season.w[1]
    assert row[9] == flag["events"][0]["hash"]
    (frow,) = list(book["数据质量问题"].iter_rows(min_row=2, values_only=True))
    assert frow[1] == "assessed_outside_window"
    assert frow[3] == season.w[1]
    assert frow[6] == 1
    loaded = json.loads(write_districts(report, tmp_path / "d.json", "json").read_text(encoding="utf-8"))
    assert loaded["flags"][0]["events"][0]["hash"] == flag["events"][0]["hash"]
    assert [d["district"] for d in loaded["districts"]] == [HEXI, WUQING]


def test_reused_evidence_is_counted_listed_and_rendered(ctxs, tmp_path, clock):
    o = build_oversight(ctxs, tmp_path, clock, start="2023-06-01", end="2023-08-31", now="2023-07-10 16:00")
    w = o.w
    assess(ctxs, o, [simple(w[0], [SELF, PLATFORM], "2023-07-10")])
    first, second = (f["id"] for f in plain(list_findings(ctxs(), credit_code=w[0])))
    photo = evidence_file(tmp_path, "整改照片.jpg", b"\xff\xd8 one photo for two findings")
    for finding in (first, second):
        plain(submit_finding(ctxs(o.user(w[0])), finding, [photo]))
    report = district_report(ctxs(), CAMPAIGN)
    by = {d.district: d for d in report.districts}
    assert (by[WUQING].flag_counts["reused_evidence"], by[HEXI].flag_counts["reused_evidence"]) == (1, 0)
    assert report.total.flag_counts["reused_evidence"] == 1
    label = "同一整改材料用于同一企业的多个问题"
    assert ("reused_evidence", label) in [(k.kind, k.label) for k in report.kinds]
    (flag,) = [f for f in report.flags if f["kind"] == "reused_evidence"]
    assert flag["findings"] == [first, second]
    assert by[WUQING].flags == [flag]
    page = render_districts_html(report)
    for text in (label, flag["detail"], f"问题 #{first}（ZP01）", *(e["hash"] for e in flag["events"])):
        assert text in page, text
    book = load_workbook(write_districts(report, tmp_path / "r.xlsx", "xlsx"), read_only=True)
    header, *rows = book["各区汇总"].iter_rows(values_only=True)
    assert [r[header.index(label)] for r in rows] == [0, 1, 1]  # 河西区, 武清区, 合计
    (frow,) = list(book["数据质量问题"].iter_rows(min_row=2, values_only=True))
    assert (frow[1], frow[2], frow[3], frow[6]) == ("reused_evidence", label, w[0], 2)
    loaded = json.loads(write_districts(report, tmp_path / "r.json", "json").read_text(encoding="utf-8"))
    assert loaded["flags"][0]["findings"] == [first, second]
    assert loaded["total"]["flag_counts"]["reused_evidence"] == 1


@pytest.mark.usefixtures("season")
def test_as_of_a_past_date_the_loops_and_flags_are_those_of_then(ctxs):
    """As of 07-15: 武清's first finding is verified (07-14), its second not yet (08-22), the major hazard
    not yet overdue; 武清 has no flag (the late assessment is of 09-05); the report is dated then."""
    report = asdict(district_report(past(ctxs(), "2023-07-15 12:00"), CAMPAIGN))
    assert (report["as_of"], report["generated_at"]) == (date(2023, 7, 15), at("2023-07-15 12:00"))
    by = {d["district"]: d for d in report["districts"]}
    keys = ("findings", "verified", "verified_on_time", "overdue_open", "closed_on_time_rate", "flags_total")
    assert {k: by[WUQING][k] for k in keys} == dict(zip(keys, (3, 1, 1, 0, 33.3, 0), strict=True))
    assert {k: by[HEXI][k] for k in keys} == dict(zip(keys, (6, 0, 0, 0, 0.0, 0), strict=True))
    assert (report["flags"], report["total"]["flags_total"]) == ([], 0)
    # 09-12: the second finding verified late (08-22), the major one overdue, the late assessment flagged
    report = asdict(district_report(past(ctxs(), "2023-09-12 12:00"), CAMPAIGN))
    by = {d["district"]: d for d in report["districts"]}
    assert {k: by[WUQING][k] for k in keys} == dict(zip(keys, (3, 2, 1, 1, 33.3, 1), strict=True))
    assert [f["kind"] for f in report["flags"]] == ["assessed_outside_window"]


@pytest.mark.usefixtures("season")
def test_as_of_a_past_date_completion_interviews_and_revocations_are_those_of_then(ctxs):
    """As of 07-15: 武清 has assessed two of three (the third came on 09-05), held no interview yet (07-20);
    河西 has revoked nobody yet (07-21)."""
    report = asdict(district_report(past(ctxs(), "2023-07-15 12:00"), CAMPAIGN))
    by = {d["district"]: d for d in report["districts"]}
    keys = ("selected", "excluded", "to_assess", "assessed", "assessed_on_time", "late", "outstanding",
            "interviews", "revocations")
    assert {k: by[WUQING][k] for k in keys} == dict(zip(keys, (3, 0, 3, 2, 2, 0, 1, 0, 0), strict=True))
    assert {k: by[HEXI][k] for k in keys} == dict(zip(keys, (3, 1, 2, 1, 1, 0, 1, 0, 0), strict=True))
    assert report["late_districts"] == []
