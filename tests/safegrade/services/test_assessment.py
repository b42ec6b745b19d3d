"""Recording assessments and closing the loop: scores derived, findings with working-day deadlines,
the finding loop (submit → verify / reject), `close` exactly when every finding is verified."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import date

import pytest
import yaml

from safegrade.errors import Forbidden, GuardFailed, InputErrors, InvalidInput
from safegrade.services.actors import add_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.auditing import verify_audit
from safegrade.services.campaign import campaign_status, exclude_member, open_campaign
from safegrade.services.enterprise import list_enterprises, show_enterprise, timeline
from safegrade.services.finding import list_findings, reject_finding, submit_finding, verify_finding
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from tests.conftest import at
from tests.factories import build_world, plain, row, write_ledger

CAMPAIGN = "2023年运行质量评估"


@pytest.fixture
def world(make_ctx, tmp_path, clock):
    w = build_world(make_ctx, tmp_path, per_district=3)
    add_actor(make_ctx("boss"), "wq2", "district", district="武清区")
    add_actor(make_ctx("boss"), "企业甲", "enterprise", enterprise_code=w.wuqing[0])
    open_campaign(make_ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    clock.set(at("2023-09-26 10:00"))
    return w


def doc(code: str, deductions=(), assessed_on="2023-07-10", **extra):
    return {"credit_code": code, "campaign": CAMPAIGN, "assessed_on": assessed_on, "assessors": ["王工", "李工"],
            "methods": ["资料审查", "现场检查"], "deductions": list(deductions), "materials": {"口袋书": 50}, **extra}


def write(tmp_path, docs, name="a.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(list(docs), allow_unicode=True), encoding="utf-8")
    return path


GOOD_DEDUCTIONS = [
    {"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"},
    {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化管理平台"},
]


def test_an_assessment_is_scored_and_its_findings_get_working_day_deadlines(make_ctx, world, tmp_path, clock):
    clock.set(at("2023-09-28 09:00"))
    report = import_assessments(make_ctx("wq"), [write(tmp_path, [doc(world.wuqing[0], GOOD_DEDUCTIONS,
                                                                       assessed_on="2023-09-27")])])
    assert (report.assessments, report.results["优"], report.findings, report.major_hazards) == (1, 1, 2, 0)
    shown = plain(show_enterprise(make_ctx(), world.wuqing[0]))
    assert (shown["state"], shown["last_result"], shown["open_findings"]) == ("rectifying", "优", 2)
    findings = plain(list_findings(make_ctx(), credit_code=world.wuqing[0]))
    # 20 working days after Wednesday 2023-09-27, across the National Day holiday and its make-up days
    assert {f["due_on"] for f in findings} == {date(2023, 10, 31)}
    recorded = plain(timeline(make_ctx(), world.wuqing[0]))[-1]
    assert recorded["event"] == "record_assessment"
    assert recorded["payload"]["data"]["score"] == "91.0"
    assert recorded["payload"]["data"]["campaign"] == CAMPAIGN


def test_routing_by_result(make_ctx, world, tmp_path):
    poor = [{"item": i, "points": p, "content": f"{i} 缺失整改记录"} for i, p in
            [("FX01", 5), ("FX02", 5), ("FX03", 5), ("GZ01", 4), ("GZ02", 4), ("PX01", 3)]]
    major = [{"item": "ZD01", "points": 5, "content": "粉尘涉爆除尘系统未按规定设置泄爆装置"}]
    report = import_assessments(make_ctx("wq"), [write(tmp_path, [
        doc(world.wuqing[0]), doc(world.wuqing[1], poor), doc(world.wuqing[2], major)])])
    assert report.results == {"优": 1, "差": 2}
    states = {e["credit_code"]: e["state"] for e in plain(list_enterprises(make_ctx()))}
    assert [states[c] for c in world.wuqing] == ["closed", "revocation_pending", "interview"]
    assert plain(show_enterprise(make_ctx(), world.wuqing[1]))["revocation_reason"] == "poor_operation"
    major_finding = plain(list_findings(make_ctx(), credit_code=world.wuqing[2]))[0]
    # 10 working days
    assert major_finding["major"]
    assert major_finding["due_on"] == date(2023, 7, 24)
    assert plain(show_enterprise(make_ctx(), world.wuqing[2]))["last_result"] == "差"  # the veto


@pytest.mark.parametrize(("case", "expected"), [
    ("unknown-enterprise", "no such enterprise in the ledger"),
    ("excluded", "was excluded from"),
    ("other-district", "records assessments of 武清区 only"),
    ("future", "is after today"),
    ("unknown-campaign", "no such campaign"),
])
def test_database_checks_refuse_the_whole_file(make_ctx, world, tmp_path, case, expected):
    good = doc(world.wuqing[0])
    bad = {
        "unknown-enterprise": doc("91350100M000100Y43"),
        "excluded": doc(world.wuqing[1]),
        "other-district": doc(world.hexi[0]),
        "future": doc(world.wuqing[1], assessed_on="2023-12-01"),
        "unknown-campaign": {**doc(world.wuqing[1]), "campaign": "2024年"},
    }[case]
    if case == "excluded":
        exclude_member(make_ctx("wq"), CAMPAIGN, world.wuqing[1], "deregistered")
    with pytest.raises(InputErrors) as info:
        import_assessments(make_ctx("wq"), [write(tmp_path, [good, bad])])
    assert len(info.value.problems) == 1
    assert expected in info.value.problems[0]
    assert plain(show_enterprise(make_ctx(), world.wuqing[0]))["state"] == "assessing"  # nothing written


def test_an_assessment_recorded_twice_is_refused(make_ctx, world, tmp_path):
    import_assessments(make_ctx("wq"), [write(tmp_path, [doc(world.wuqing[0])])])
    with pytest.raises(InputErrors) as info:
        import_assessments(make_ctx("wq"), [write(tmp_path, [doc(world.wuqing[0])], "again.yaml")])
    assert "already assessed on 2023-07-10" in info.value.problems[0]


def test_a_deduction_without_its_content_is_refused(make_ctx, world, tmp_path):
    with pytest.raises(InputErrors) as info:
        import_assessments(make_ctx("wq"), [write(tmp_path, [doc(world.wuqing[0], [{"item": "ZP01", "points": 2,
                                                                                      "content": ""}])])])
    assert "deductions[0].content" in info.value.problems[0]


def test_records_of_assessment_are_not_typed_in_by_hand(make_ctx, world):
    with pytest.raises(Forbidden, match="assess import"):
        fire_event(make_ctx("wq"), world.wuqing[0], "record_assessment", reason="x",
                   data={"result": "优", "findings": 0, "major_hazards": 0})


def test_campaign_status_counts_results_and_late_assessments(make_ctx, world, tmp_path):
    import_assessments(make_ctx("wq"), [write(tmp_path, [doc(world.wuqing[0]),
                                                         doc(world.wuqing[1], assessed_on="2023-09-05")])])
    status = asdict(campaign_status(make_ctx("boss"), CAMPAIGN))
    wuqing = next(d for d in status["districts"] if d["district"] == "120114")
    assert (wuqing["assessed"], wuqing["late"], wuqing["outstanding"], wuqing["results"]["优"]) == (2, 1, 1, 2)
    assert wuqing["district_late"] is True


@pytest.mark.usefixtures("clock")
def test_the_closed_loop_from_finding_to_close(make_ctx, world, tmp_path):
    code = world.wuqing[0]
    import_assessments(make_ctx("wq"), [write(tmp_path, [doc(code, GOOD_DEDUCTIONS)])])
    first, second = (f["id"] for f in plain(list_findings(make_ctx(), credit_code=code)))
    evidence = tmp_path / "自评报告.pdf"
    evidence.write_bytes(b"%PDF-1.4 self-assessment report")
    enterprise, officer, other = make_ctx("企业甲"), make_ctx("wq"), make_ctx("wq2")

    with pytest.raises(InvalidInput, match="only a submitted finding can be verified"):
        plain(verify_finding(officer, first))
    done = plain(submit_finding(enterprise, first, [evidence], "已开展2023年度自评"))
    assert done["evidence"][0]["sha256"] == hashlib.sha256(evidence.read_bytes()).hexdigest()
    plain(reject_finding(officer, first, "自评报告未经主要负责人签字"))
    assert plain(list_findings(make_ctx(), credit_code=code))[0]["status"] == "open"
    signed = tmp_path / "自评报告-签字.pdf"
    signed.write_bytes(b"%PDF-1.4 self-assessment report, signed")
    plain(submit_finding(enterprise, first, [signed]))  # evidence after a rejection must be new
    with pytest.raises(Forbidden, match="may not verify finding"):
        plain(verify_finding(enterprise, first))
    plain(submit_finding(officer, second, [evidence]))  # an officer uploading for the enterprise …
    with pytest.raises(Forbidden, match="must be verified by another regulator"):
        plain(verify_finding(officer, second))  # … may not accept their own upload
    with pytest.raises(GuardFailed, match="2 finding"):
        fire_event(officer, code, "close", reason="整改完成")
    assert plain(verify_finding(officer, first))["changes"] == {"open_findings": 1}
    assert plain(verify_finding(other, second))["changes"] == {"open_findings": 0}
    assert fire_event(officer, code, "close", reason="全部问题验收销号").to_state == "closed"
    events = [e["event"] for e in plain(timeline(make_ctx(), code))]
    assert events[-7:] == ["finding_submitted", "finding_rejected", "finding_submitted", "finding_submitted",
                           "finding_verified", "finding_verified", "close"]
    assert verify_audit(make_ctx()).ok


def test_overdue_findings_are_visible(make_ctx, world, tmp_path, clock):
    import_assessments(make_ctx("wq"), [write(tmp_path, [doc(world.wuqing[0], GOOD_DEDUCTIONS)])])
    due = plain(list_findings(make_ctx(), credit_code=world.wuqing[0]))[0]["due_on"]
    assert due == date(2023, 8, 7)
    clock.set(at("2023-09-26 10:00"))
    overdue = plain(list_findings(make_ctx(), overdue=True))
    assert [f["overdue_days"] for f in overdue] == [50, 50]
    assert [e["credit_code"] for e in plain(list_enterprises(make_ctx(), overdue=True))] == [world.wuqing[0]]
    shown = plain(show_enterprise(make_ctx(), world.wuqing[0]))
    assert (shown["overdue_findings"], shown["earliest_overdue_due_on"]) == (2, date(2023, 8, 7))


def test_a_dry_run_writes_nothing(make_ctx, world, tmp_path):
    report = import_assessments(make_ctx("wq"), [write(tmp_path, [doc(world.wuqing[0], GOOD_DEDUCTIONS)])],
                                dry_run=True)
    assert report.assessments == 1
    assert report.results["优"] == 1
    assert plain(show_enterprise(make_ctx(), world.wuqing[0]))["state"] == "assessing"


@pytest.mark.usefixtures("world")
def test_an_enterprise_not_selected_for_the_campaign_is_refused(make_ctx, tmp_path):
    late_comer = row(500)  # registered after the campaign was opened: not one of its members
    import_ledger(make_ctx("boss"), [write_ledger(tmp_path / "later.csv", [late_comer])])
    with pytest.raises(InputErrors) as info:
        import_assessments(make_ctx("wq"), [write(tmp_path, [doc(late_comer["统一社会信用代码"])])])
    assert f"was not selected for {CAMPAIGN}" in info.value.problems[0]
