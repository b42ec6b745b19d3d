"""Evidence after a rejection must be new: a resubmission whose every file (by SHA-256) was already sent back
is refused and changes nothing; one that brings at least one new file is accepted, the reused files named in
its audit event."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from safegrade.errors import Forbidden, InvalidInput
from safegrade.services.actors import add_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.auditing import verify_audit
from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import timeline
from safegrade.services.finding import list_findings, reject_finding, submit_finding, verify_finding
from tests.conftest import at
from tests.factories import build_world, plain
from tests.safegrade.services.reporting.loop_world import assessment_file, doc, evidence_file

CAMPAIGN = "2023年运行质量评估"
SELF = {"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"}
PLATFORM = {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化管理平台"}


@pytest.fixture
def loop(make_ctx, tmp_path, clock):
    """武清 enterprise 0 assessed with two findings; its user 企业甲, officers wq and wq2."""
    w = build_world(make_ctx, tmp_path, per_district=2)
    boss = make_ctx("boss")
    add_actor(boss, "wq2", "district", district="武清区")
    add_actor(boss, "企业甲", "enterprise", enterprise_code=w.wuqing[0])
    open_campaign(boss, CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    clock.set(at("2023-07-10 16:00"))
    import_assessments(make_ctx("wq"), [assessment_file(tmp_path, [doc(w.wuqing[0], [SELF, PLATFORM],
                                                                       "2023-07-10")])])
    clock.set(at("2023-07-11 10:00"))
    return w


def finding_ids(ctx, code):
    return [f["id"] for f in plain(list_findings(ctx, credit_code=code))]


def stored_files(ctx):
    return sorted(p.name for p in ctx.settings.evidence_path.rglob("*") if p.is_file())


def snapshot(ctx, code, finding):
    row = next(f for f in plain(list_findings(ctx, credit_code=code)) if f["id"] == finding)
    return row, len(timeline(ctx, code)), stored_files(ctx)


def test_evidence_identical_to_the_rejected_is_refused_and_nothing_is_written(make_ctx, loop, tmp_path, clock):
    code = loop.wuqing[0]
    first, _ = finding_ids(make_ctx(), code)
    photo = evidence_file(tmp_path, "现场照片.jpg", b"\xff\xd8 photo of the self-assessment meeting")
    plain(submit_finding(make_ctx("企业甲"), first, [photo], "已开展自评"))
    clock.set(at("2023-07-12 09:30"))
    plain(reject_finding(make_ctx("wq"), first, "自评报告未经主要负责人签字"))
    before = snapshot(make_ctx(), code, first)
    renamed = evidence_file(tmp_path, "现场照片-补充.jpg", photo.read_bytes())  # a new name, the same bytes
    for files in ([photo], [renamed], [photo, renamed]):
        with pytest.raises(InvalidInput) as refused:
            submit_finding(make_ctx("企业甲"), first, files, "补充签字")
        error = refused.value
        assert (error.code, error.field, error.value) == ("evidence_not_new", "evidence", [p.name for p in files])
        message = str(error)
        assert message.startswith("整改材料未更新")
        assert all(p.name in message for p in files)
        assert "现场照片.jpg" in message  # the rejected file, by the name it was sent back under
        assert "2023-07-12 第 1 次整改验收不通过：自评报告未经主要负责人签字" in message
        assert "SHA-256" in message
        assert snapshot(make_ctx(), code, first) == before  # nothing written: row, audit trail, evidence store
    assert before[0]["status"] == "open"
    assert before[0]["rejections"] == 1
    assert verify_audit(make_ctx()).ok


def test_every_rejected_submission_counts_not_only_the_last(make_ctx, loop, tmp_path):
    code = loop.wuqing[0]
    first, _ = finding_ids(make_ctx(), code)
    one = evidence_file(tmp_path, "一.pdf", b"%PDF first attempt")
    two = evidence_file(tmp_path, "二.pdf", b"%PDF second attempt")
    plain(submit_finding(make_ctx("企业甲"), first, [one]))
    plain(reject_finding(make_ctx("wq"), first, "缺少签字"))
    plain(submit_finding(make_ctx("企业甲"), first, [two]))
    plain(reject_finding(make_ctx("wq"), first, "缺少现场照片"))
    for files in ([one], [two], [one, two]):
        with pytest.raises(InvalidInput, match="整改材料未更新") as refused:
            submit_finding(make_ctx("企业甲"), first, files)
        assert "第 2 次整改验收不通过" in str(refused.value)
        assert "缺少现场照片" in str(refused.value)
    assert plain(list_findings(make_ctx(), credit_code=code))[0]["rejections"] == 2


def test_a_resubmission_with_a_new_file_is_accepted_and_names_the_reused_ones(make_ctx, loop, tmp_path):
    code = loop.wuqing[0]
    first, second = finding_ids(make_ctx(), code)
    report = evidence_file(tmp_path, "整改报告.pdf", b"%PDF rectification report")
    photo = evidence_file(tmp_path, "现场照片.jpg", b"\xff\xd8 the new photo taken on site")
    plain(submit_finding(make_ctx("企业甲"), first, [report]))
    plain(reject_finding(make_ctx("wq"), first, "整改材料缺少现场照片"))
    done = plain(submit_finding(make_ctx("企业甲"), first, [report, photo], "补充现场照片"))
    assert [e["file"] for e in done["evidence"]] == ["整改报告.pdf", "现场照片.jpg"]
    submitted = [e for e in plain(timeline(make_ctx(), code)) if e["event"] == "finding_submitted"]
    assert "reused" not in submitted[0]["payload"]["data"]  # a first submission reuses nothing
    assert submitted[1]["payload"]["data"]["reused"] == [
        {"file": "整改报告.pdf", "sha256": hashlib.sha256(report.read_bytes()).hexdigest()}]
    assert plain(verify_finding(make_ctx("wq2"), first))["status"] == "verified"
    # only new files after a rejection: nothing reused to name
    plain(submit_finding(make_ctx("企业甲"), second, [evidence_file(tmp_path, "平台.png", b"platform v1")]))
    plain(reject_finding(make_ctx("wq"), second, "平台未上线"))
    plain(submit_finding(make_ctx("企业甲"), second, [evidence_file(tmp_path, "平台2.png", b"platform v2")]))
    last = [e for e in plain(timeline(make_ctx(), code)) if e["event"] == "finding_submitted"][-1]
    assert "reused" not in last["payload"]["data"]
    assert verify_audit(make_ctx()).ok


def test_a_file_used_for_another_finding_is_not_refused(make_ctx, loop, tmp_path):
    """Only a finding's own rejected evidence is refused; the same file for two findings is the district
    report's to flag (reused_evidence), not a refusal."""
    first, second = finding_ids(make_ctx(), loop.wuqing[0])
    shared = evidence_file(tmp_path, "整改报告.pdf", b"%PDF one report for both findings")
    plain(submit_finding(make_ctx("企业甲"), first, [shared]))
    plain(reject_finding(make_ctx("wq"), first, "报告不完整"))
    assert plain(submit_finding(make_ctx("企业甲"), second, [shared]))["status"] == "submitted"


def test_a_refused_submission_stores_no_file(make_ctx, loop, tmp_path):
    first, _ = finding_ids(make_ctx(), loop.wuqing[0])
    before = stored_files(make_ctx())
    with pytest.raises(Forbidden):
        submit_finding(make_ctx("rev"), first, [evidence_file(tmp_path, "x.pdf", b"%PDF from a reviewer")])
    plain(submit_finding(make_ctx("企业甲"), first, [evidence_file(tmp_path, "y.pdf", b"%PDF fine")]))
    with pytest.raises(InvalidInput, match="only an open finding takes evidence"):
        submit_finding(make_ctx("企业甲"), first, [evidence_file(tmp_path, "z.pdf", b"%PDF too late")])
    assert stored_files(make_ctx()) == sorted([*before, hashlib.sha256(b"%PDF fine").hexdigest()])
