"""The reviewer's closed-loop report: every figure checked against the audit trail of a loop built
through the real services (assess → submit → reject → submit → verify by another officer → escalate →
interview → submit → verify → close), and a tampered trail reported as broken."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pydantic import TypeAdapter
from sqlalchemy import text, update

from safegrade.errors import InvalidInput, NotFound
from safegrade.models import Finding, table
from safegrade.reports import loop as reports
from safegrade.services.enterprise import timeline
from safegrade.services.reporting.loop import LoopReport, loop_report
from tests.conftest import at
from tests.factories import plain
from tests.safegrade.services.reporting.loop_world import CAMPAIGN, build_loop, enterprise_id, past, put_deadline


def render_loop_html(report: dict[str, Any]) -> str:
    """The page of the report given as the dict of its contract's fields (what the tests read): the
    contract is rebuilt from it by pydantic, as the API will."""
    return reports.render_loop_html(TypeAdapter(LoopReport).validate_python(report))


def write_loop(report: dict[str, Any], path: Path, fmt: str) -> Path:
    return reports.write_loop(TypeAdapter(LoopReport).validate_python(report), path, fmt)


@pytest.fixture
def loop(make_ctx, tmp_path, clock):
    return build_loop(make_ctx, tmp_path, clock)


def sql(ctx, statement: str, **params) -> None:
    with ctx.store.engine.begin() as conn:
        conn.execute(text(statement), params)


def trail_of(ctx, code):
    return plain(timeline(ctx, code))


def test_every_figure_of_the_report_comes_from_the_audit_trail(make_ctx, tmp_path, clock, db_url):
    lw = build_loop(make_ctx, tmp_path, clock, url=db_url)
    ctx = make_ctx(url=db_url)
    report = plain(loop_report(ctx, lw.code))
    events = trail_of(ctx, lw.code)
    assert report["chain_ok"]
    assert report["broken"] == []
    (e,) = report["enterprises"]
    assert e["chain"]["events"] == len(events)
    assert e["chain"]["head_hash"] == events[-1]["hash"]
    assert e["state"] == "closed"
    assert [f["id"] for f in e["findings"]] == [lw.first, lw.second]
    first, second = e["findings"]
    def of(event, finding):
        return [x for x in events if x["event"] == event and x["payload"]["data"]["finding"] == finding]

    for f in (first, second):
        submitted = of("finding_submitted", f["id"])
        in_trail = {(g["file"], g["sha256"]) for x in submitted for g in x["payload"]["data"]["evidence"]}
        assert {(x["file"], x["sha256"]) for x in f["evidence"]} == in_trail
        assert [(s["seq"], s["hash"]) for s in f["submissions"]] == [(x["seq"], x["hash"]) for x in submitted]
        (verified,) = of("finding_verified", f["id"])
        assert (f["verification"]["actor"], f["verification"]["seq"], f["verification"]["hash"]) == \
            ("wq2", verified["seq"], verified["hash"])
        assert f["verification"]["at"].isoformat() == verified["at"]
        assert f["problems"] == []
    files = lw.files
    assert [x["sha256"] for x in first["evidence"]] == [hashlib.sha256(files[k].read_bytes()).hexdigest()
                                                       for k in ("report", "signed", "photo")]
    assert [x["file"] for x in second["evidence"]] == ["平台截图.png"]
    assert (len(first["submissions"]), len(first["rejections"]), len(second["submissions"])) == (2, 1, 1)
    assert first["rejections"][0]["actor"] == "wq"
    assert "未经主要负责人签字" in first["rejections"][0]["reason"]
    # registered with the assessment on 07-10, due 08-07: closed on 07-14 (4 days), and on 08-22 (43 days, 15 late)
    assert (first["registered_on"], first["due_on"]) == (date(2023, 7, 10), date(2023, 8, 7))
    assert (first["days_to_close"], first["overdue_days"], first["closed_late"]) == (4, 0, False)
    assert (second["days_to_close"], second["overdue_days"], second["closed_late"]) == (43, 15, True)
    assert [r["step_label"] for r in second["reminders"]][::2] == ["到期前3天", "到期当日", "逾期3天", "逾期升级"]
    assert [(r["step"], r["audience"], r["status"]) for r in second["reminders"]] == [
        ("-3", "enterprise", "sent"), ("0", "enterprise", "sent"), ("0", "district", "sent"),
        ("+3", "enterprise", "sent"), ("+3", "district", "failed"), ("escalation", "district", "sent"),
        ("escalation", "bureau", "sent")]
    assert second["reminders_sent"] == 6
    assert first["reminders"] == []
    assert second["reminders"][4]["last_error"] == "SMTP timeout"
    assert second["reminders"][4]["attempts"] == 3
    (escalated,) = [x for x in events if x["event"] == "escalate"]
    assert second["deadline"]["escalation"] == "fired"
    assert second["deadline"]["escalation_event"]["seq"] == escalated["seq"]
    assert second["deadline"]["escalation_event"]["hash"] == escalated["hash"] == lw.escalation_hash
    (x,) = e["escalations"]
    assert (x["event"], x["actor"], x["source"], x["automatic"], x["to_state"], x["seq"]) == \
        ("escalate", "system", "flow", True, "interview", escalated["seq"])
    assert x["deadline"] == f"finding:{lw.second}"
    assert {k: e["summary"][k] for k in (
        "findings", "verified", "overdue", "closed_late", "evidence_files", "rejections", "reminders",
        "reminders_sent", "reminders_failed", "escalations", "max_days_to_close", "problems")} == {
        "findings": 2, "verified": 2, "overdue": 0, "closed_late": 1, "evidence_files": 4, "rejections": 1,
        "reminders": 7, "reminders_sent": 6, "reminders_failed": 1, "escalations": 1, "max_days_to_close": 43,
        "problems": 0}
    assert e["summary"]["mean_days_to_close"] == 23.5


def test_the_campaign_report_covers_every_member(make_ctx, loop):
    report = plain(loop_report(make_ctx(), campaign=CAMPAIGN))
    assert report["scope"] == "campaign"
    assert report["campaign"]["name"] == CAMPAIGN
    assert sorted(e["credit_code"] for e in report["enterprises"]) == sorted(loop.world.all)
    assert report["totals"]["enterprises"] == 4
    assert report["totals"]["findings"] == 2
    assert report["totals"]["escalations"] == 1
    assert report["chain_ok"]
    others = [e for e in report["enterprises"] if e["credit_code"] != loop.code]
    assert all(e["findings"] == [] and e["chain"]["ok"] and e["state"] == "assessing" for e in others)
    wuqing = plain(loop_report(make_ctx(), campaign=CAMPAIGN, district="武清"))
    assert [e["credit_code"] for e in wuqing["enterprises"]] == sorted(loop.world.wuqing)
    assert "武清区 2 家企业" in render_loop_html(wuqing)


@pytest.mark.parametrize(("tamper", "kind"), [
    ("payload", "changed"),  # an evidence hash rewritten in the trail
    ("row", "projection"),   # the enterprise row edited behind the trail
    ("delete", "missing"),   # a rejection removed from the trail
])
def test_a_tampered_trail_is_reported_broken_naming_the_first_broken_event(make_ctx, loop, tmp_path, tamper, kind):
    ctx = make_ctx()
    events = trail_of(ctx, loop.code)
    submitted = next(x for x in events if x["event"] == "finding_submitted")
    eid = enterprise_id(ctx, loop.code)
    if tamper == "payload":
        forged = submitted["payload"]
        forged["data"]["evidence"][0]["sha256"] = "0" * 64
        sql(ctx, "update audit_event set payload = :p where enterprise_id = :e and seq = :s",
            p=json.dumps(forged, ensure_ascii=False, sort_keys=True, separators=(",", ":")), e=eid, s=submitted["seq"])
        seq = submitted["seq"]
    elif tamper == "row":
        sql(ctx, "update enterprise set open_findings = 0, state = 'graded' where id = :e", e=eid)
        seq = events[-1]["seq"]
    else:
        rejected = next(x for x in events if x["event"] == "finding_rejected")
        sql(ctx, "delete from audit_event where enterprise_id = :e and seq = :s", e=eid, s=rejected["seq"])
        seq = rejected["seq"] + 1
    report = plain(loop_report(ctx, loop.code))
    assert not report["chain_ok"]
    (broken,) = report["broken"]
    assert (broken["credit_code"], broken["seq"], broken["kind"]) == (loop.code, seq, kind)
    if tamper == "payload":
        assert broken["hash"] == submitted["hash"]
        assert broken["event"] == "finding_submitted"
        # the evidence table still holds the real file, which the forged trail no longer names
        problems = report["enterprises"][0]["findings"][0]["problems"]
        assert any("在材料表中，审计链中无提交记录" in p for p in problems)
    page = render_loop_html(report)
    verdict = page[page.index('id="verdict"'):page.index("<h2>汇总")]
    assert "审计链校验：断裂" in verdict
    assert f"第 {seq} 号" in verdict
    assert loop.code in verdict
    assert "verdict broken" in page
    book = load_workbook(write_loop(report, tmp_path / "broken.xlsx", "xlsx"), read_only=True)
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["审计链校验"] == "断裂"
    assert f"第 {seq} 号" in summary[f"断裂：{loop.code}"]
    ents = list(book["企业"].iter_rows(min_row=2, values_only=True))
    assert ents[0][4] == "断裂"
    assert ents[0][7] == seq


def test_disagreements_between_tables_and_trail_are_listed(make_ctx, loop):
    ctx = make_ctx()
    with ctx.store.write() as session:  # legacy data: the row says the enterprise's own user verified it
        session.execute(update(table(Finding)).where(table(Finding).c.id == loop.first).values(verified_by="企业甲"))
    put_deadline(ctx, "finding", f"finding:{loop.second}", escalation_note="f" * 64)
    first, second = plain(loop_report(ctx, loop.code))["enterprises"][0]["findings"]
    assert "验收人不一致：问题记录为 企业甲，审计链为 wq2" in first["problems"]
    assert "验收人 企业甲 同时是整改材料的提交人" in first["problems"]
    assert any(f"「{'f' * 64}」所指的审计事件不在 {loop.code} 的审计链中" in p for p in second["problems"])


def test_the_html_page_is_self_contained_and_shows_the_loop(make_ctx, loop):
    report = plain(loop_report(make_ctx(), loop.code))
    page = render_loop_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert 'lang="zh-CN"' in page
    assert "@page" in page
    lowered = page.lower()
    assert "<script" not in lowered
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert "url(" not in lowered
    assert "审计链校验：通过" in page
    assert "整改闭环核查报告" in page
    e = report["enterprises"][0]
    for f in e["findings"]:
        for x in f["evidence"]:
            assert x["sha256"] in page
            assert x["file"] in page
        assert f["verification"]["hash"] in page
    for label in ("一、问题与整改闭环", "二、整改材料（SHA-256）", "三、审计链中的整改记录", "四、提醒", "五、逾期升级",
                  "到期前3天", "发送失败", "SMTP timeout", "逾期升级", "已闭环"):
        assert label in page, label
    assert "2023-07-14 15:00" in page
    assert "2023-08-22 11:00" in page
    assert ">43<" in page
    assert ">15<" in page
    assert loop.escalation_hash in page


def test_the_workbook_has_its_sheets_with_the_loop(make_ctx, loop, tmp_path):
    report = plain(loop_report(make_ctx(), loop.code))
    book = load_workbook(write_loop(report, tmp_path / "loop.xlsx", "xlsx"), read_only=True)
    assert book.sheetnames == ["汇总", "企业", "问题", "整改材料", "提醒与升级"]
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["审计链校验"] == "通过"
    assert summary["问题（项）"] == 2
    assert summary["最长闭环天数"] == 43
    header, *rows = book["问题"].iter_rows(values_only=True)
    col = {h: i for i, h in enumerate(header)}
    assert [(r[col["问题编号"]], r[col["闭环天数"]], r[col["逾期天数"]], r[col["验收人"]]) for r in rows] == [
        (loop.first, 4, 0, "wq2"), (loop.second, 43, 15, "wq2")]
    assert rows[1][col["升级事件哈希"]] == loop.escalation_hash
    assert rows[0][col["验收时间"]] == "2023-07-14 15:00:00"
    header, *rows = book["整改材料"].iter_rows(values_only=True)
    shas = [r[header.index("SHA-256")] for r in rows]
    assert shas == [x["sha256"] for f in report["enterprises"][0]["findings"] for x in f["evidence"]]
    assert all(r[header.index("审计链有记录")] == "是" for r in rows)
    header, *rows = book["提醒与升级"].iter_rows(values_only=True)
    kinds = [r[0] for r in rows]
    assert kinds.count("提醒") == 7
    assert kinds.count("升级") == 1
    escalation = next(r for r in rows if r[0] == "升级")
    assert escalation[header.index("审计事件哈希")] == loop.escalation_hash


def test_json_keeps_every_figure(make_ctx, loop, tmp_path):
    report = plain(loop_report(make_ctx(), loop.code))
    loaded = json.loads(write_loop(report, tmp_path / "loop.json", "json").read_text(encoding="utf-8"))
    assert loaded["chain_ok"] is True
    assert loaded["enterprises"][0]["findings"][1]["days_to_close"] == 43


def test_bad_requests_are_refused(make_ctx, loop):
    with pytest.raises(NotFound, match="no enterprise with credit code 91350100M000100Y43"):
        plain(loop_report(make_ctx(), "91350100M000100Y43"))
    with pytest.raises(InvalidInput, match="either one enterprise"):
        plain(loop_report(make_ctx(), loop.code, campaign=CAMPAIGN))
    with pytest.raises(NotFound, match="no campaign named"):
        plain(loop_report(make_ctx(), campaign="2099年"))
    with pytest.raises(InvalidInput, match="--district '武清': goes with --campaign"):
        plain(loop_report(make_ctx(), loop.code, district="武清"))
    with pytest.raises(InvalidInput, match="unknown district; known: 和平区"):
        plain(loop_report(make_ctx(), campaign=CAMPAIGN, district="塘沽"))
    with pytest.raises(NotFound, match="has no member in 和平区"):
        plain(loop_report(make_ctx(), campaign=CAMPAIGN, district="和平"))


def test_as_of_a_past_date_the_report_shows_the_loop_as_it_stood_then(make_ctx, tmp_path, clock, db_url):
    """As of 08-21 noon the second finding's evidence is in (10:00) but not verified (08-22): it is
    submitted, not verified, still overdue, the enterprise not yet closed; as of 08-12 (before the
    escalation of 08-14) no escalation fired and only the reminders queued by then are listed."""
    lw = build_loop(make_ctx, tmp_path, clock, url=db_url)
    ctx = past(make_ctx(url=db_url), "2023-08-21 12:00")
    report = plain(loop_report(ctx, lw.code))
    assert (report["as_of"], report["generated_at"]) == (date(2023, 8, 21), at("2023-08-21 12:00"))
    events = [x for x in trail_of(ctx, lw.code) if datetime.fromisoformat(x["at"]) <= at("2023-08-21 12:00")]
    (e,) = report["enterprises"]
    assert report["chain_ok"]
    assert (e["chain"]["events"], e["chain"]["head_hash"]) == (len(events), events[-1]["hash"])
    assert e["state"] == events[-1]["to_state"] != "closed"
    assert e["version"] == len(events)
    first, second = e["findings"]
    assert (first["status"], first["days_to_close"]) == ("verified", 4)
    assert (second["status"], second["verification"], second["verified_by"], second["verified_at"]) == \
        ("submitted", None, None, None)
    assert (second["days_to_close"], second["overdue_days"], second["closed_late"]) == (None, 14, False)
    assert [x["file"] for x in second["evidence"]] == ["平台截图.png"]
    assert len(second["submissions"]) == 1
    assert (second["deadline"]["status"], second["deadline"]["escalation"]) == ("paused", "fired")  # in review
    assert len(second["reminders"]) == 7
    assert len(e["escalations"]) == 1
    assert (first["problems"], second["problems"]) == ([], [])
    assert {k: e["summary"][k] for k in ("verified", "submitted", "open", "overdue", "closed_late",
                                         "evidence_files", "escalations", "max_days_to_close")} == {
        "verified": 1, "submitted": 1, "open": 0, "overdue": 1, "closed_late": 0, "evidence_files": 4,
        "escalations": 1, "max_days_to_close": 4}

    (e,) = plain(loop_report(past(ctx, "2023-08-12 09:00"), lw.code))["enterprises"]
    _, second = e["findings"]
    assert (second["status"], second["submissions"], second["evidence"], second["overdue_days"]) == \
        ("open", [], [], 5)
    assert (second["deadline"]["status"], second["deadline"]["escalation"]) == ("open", None)
    assert [(r["step"], r["audience"], r["status"]) for r in second["reminders"]] == [
        ("-3", "enterprise", "sent"), ("0", "enterprise", "sent"), ("0", "district", "sent"),
        ("+3", "enterprise", "sent"), ("+3", "district", "failed")]
    assert (e["escalations"], e["other_escalations"], e["chain"]["ok"]) == ([], [], True)
    assert [e["summary"][k] for k in ("escalations", "reminders", "verified", "evidence_files")] == [0, 5, 1, 3]


def test_as_of_a_date_before_the_campaign_or_the_enterprise_they_are_not_known(make_ctx, tmp_path, clock, db_url):
    lw = build_loop(make_ctx, tmp_path, clock, url=db_url)
    ctx = past(make_ctx(url=db_url), "2023-05-31 12:00")
    with pytest.raises(NotFound) as refused:
        loop_report(ctx, campaign=CAMPAIGN)
    assert refused.value.code == "unknown_campaign"
    with pytest.raises(NotFound) as refused:
        loop_report(ctx, lw.code)
    assert refused.value.code == "unknown_enterprise"
