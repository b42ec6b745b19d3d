"""District oversight flags: each raised by a case and not by its near miss, and each linked to the
audit events behind it (id, credit code, seq, hash) as the trail holds them."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from safegrade.services.auditing import verify_audit
from safegrade.services.campaign import find_campaign, open_campaign
from safegrade.services.enterprise import timeline
from safegrade.services.finding import list_findings, reject_finding, submit_finding, verify_finding
from safegrade.services.lifecycle import fire_event
from safegrade.services.reporting.oversight import KINDS, flag_counts_by_district, flag_counts_in, oversight_flags
from tests.conftest import at
from tests.factories import plain
from tests.safegrade.services.reporting.loop_world import evidence_file, past
from tests.safegrade.services.reporting.oversight_world import (
    CAMPAIGN,
    append_event,
    assess,
    bound,
    build_oversight,
    core,
    event_of,
    simple,
)

WUQING, HEXI = "120114", "120103"
SELF = {"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"}
PLATFORM = {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化管理平台"}
MAJOR = {"item": "ZD01", "points": 5, "content": "粉尘涉爆除尘系统未按规定设置泄爆装置"}


@pytest.fixture
def ctxs(make_ctx, db_url):
    """Contexts on the test's database: every test here runs on SQLite and on PostgreSQL."""
    return bound(make_ctx, db_url)


@pytest.fixture
def o(ctxs, tmp_path, clock):
    return build_oversight(ctxs, tmp_path, clock)


def raised(ctx, kind=None, campaign=CAMPAIGN):
    return [f for f in oversight_flags(ctx, campaign) if kind is None or f["kind"] == kind]


def codes(flag):
    return [e["credit_code"] for e in flag["enterprises"]]


def refs(flag):
    return [(e["enterprise"], e["seq"], e["hash"], e["event"]) for e in flag["events"]]


def ref_of(ctx, code, event, nth=-1):
    e = event_of(ctx, code, event, nth)
    return code, e["seq"], e["hash"], event


def finding_of(ctx, code, item=None):
    return next(f["id"] for f in plain(list_findings(ctx, credit_code=code)) if item is None or f["item"] == item)


def test_assessments_outside_the_window_or_on_rest_days(ctxs, o):
    w, h = o.w, o.h
    assess(ctxs, o, [simple(w[0], [], "2023-10-07"),   # Saturday, a make-up working day (调休上班): fine
                         simple(w[1], [], "2023-10-02"),   # National Day holiday
                         simple(w[2], [], "2023-11-01"),   # after the window
                         simple(h[0], [], "2023-09-09"),   # an ordinary Saturday
                         simple(h[1], [], "2023-08-31"),   # the day before the window (a Thursday)
                         simple(h[2], [], "2023-09-04")])  # a Monday in the window: fine
    ctx = ctxs()
    flags = raised(ctx)
    assert {(f["kind"], codes(f)[0]) for f in flags} == {
        ("assessed_on_rest_day", w[1]), ("assessed_outside_window", w[2]),
        ("assessed_on_rest_day", h[0]), ("assessed_outside_window", h[1])}
    by = {(f["kind"], codes(f)[0]): f for f in flags}
    assert "国庆节" in by[("assessed_on_rest_day", w[1])]["detail"]
    assert "周末" in by[("assessed_on_rest_day", h[0])]["detail"]
    assert "晚于评估期截止 1 天" in by[("assessed_outside_window", w[2])]["detail"]
    assert "早于评估期开始 1 天" in by[("assessed_outside_window", h[1])]["detail"]
    for (kind, code), f in by.items():
        assert refs(f) == [ref_of(ctx, code, "record_assessment")]
        assert f["district"] == (WUQING if code in w else HEXI)
        assert f["label"] == KINDS[kind]
        assert isinstance(f["events"][0]["id"], int)


def test_identical_deduction_sets_at_different_enterprises(ctxs, o):
    w, h = o.w, o.h
    assess(ctxs, o, [
        simple(w[0], [SELF, PLATFORM], "2023-09-05"),
        simple(w[1], [PLATFORM, SELF], "2023-09-06"),  # the same multiset in another order
        simple(h[0], [SELF, PLATFORM], "2023-09-07"),  # copied across districts too
        simple(w[2], [SELF, {**PLATFORM, "content": "未建立安全生产信息化管理平台，仅有纸质台账"}], "2023-09-05"),
        simple(h[1], [PLATFORM], "2023-09-05"),  # one identical deduction is a common problem, not a copy
        simple(h[2], [PLATFORM], "2023-09-05"),
    ])
    ctx = ctxs()
    flags = raised(ctx, "copied_deductions")
    assert [f["district"] for f in flags] == [HEXI, WUQING]
    copied = sorted([w[0], w[1], h[0]])
    assert all(codes(f) == copied for f in flags)
    assert sorted(refs(flags[0])) == sorted(ref_of(ctx, c, "record_assessment") for c in copied)
    counts = flag_counts_by_district(ctx, CAMPAIGN)
    assert set(counts) == {WUQING, HEXI}
    assert set(counts[WUQING]) == set(KINDS)
    assert counts[WUQING]["copied_deductions"] == counts[HEXI]["copied_deductions"] == 1
    assert sum(counts[WUQING].values()) == 1


def test_the_same_evidence_file_for_different_enterprises(ctxs, o):
    w, h = o.w, o.h
    assess(ctxs, o, [simple(w[0], [SELF], "2023-09-05"), simple(w[1], [SELF], "2023-09-05"),
                         simple(w[2], [SELF, PLATFORM], "2023-09-05"), simple(h[0], [SELF], "2023-09-05"),
                         simple(h[1], [SELF], "2023-09-05")])
    ctx, wq, hx = ctxs(), ctxs("wq"), ctxs("hx")
    shared = evidence_file(o.tmp, "自评报告.pdf", b"%PDF one self-assessment report for everyone")
    own = evidence_file(o.tmp, "整改报告.pdf", b"%PDF one enterprise's report for both its findings")
    plain(submit_finding(wq, finding_of(ctx, w[0]), [shared]))
    plain(submit_finding(wq, finding_of(ctx, w[1]), [shared]))
    plain(submit_finding(hx, finding_of(ctx, h[0]), [evidence_file(o.tmp, "另一份.pdf", b"%PDF renamed")]))
    for f in plain(list_findings(ctx, credit_code=w[2])):  # two findings of one enterprise: reused_evidence
        plain(submit_finding(wq, f["id"], [own]))
    (flag,) = raised(ctx, "shared_evidence")
    assert flag["district"] == WUQING
    assert codes(flag) == sorted([w[0], w[1]])
    digest = event_of(ctx, w[0], "finding_submitted")["payload"]["data"]["evidence"][0]["sha256"]
    assert flag["sha256"] == digest
    assert digest in flag["detail"]
    assert "自评报告.pdf" in flag["detail"]
    assert sorted(refs(flag)) == sorted([ref_of(ctx, w[0], "finding_submitted"),
                                         ref_of(ctx, w[1], "finding_submitted")])
    plain(submit_finding(hx, finding_of(ctx, h[1]), [shared]))  # now in 河西 too: one flag per district
    flags = raised(ctx, "shared_evidence")
    assert [f["district"] for f in flags] == [HEXI, WUQING]
    assert all(len(codes(f)) == 3 for f in flags)


def findings_of(ctx, code):
    return [f["id"] for f in plain(list_findings(ctx, credit_code=code))]


def submitted_ref(ctx, code, finding):
    e = next(e for e in plain(timeline(ctx, code)) if e["event"] == "finding_submitted"
             and e["payload"]["data"]["finding"] == finding)
    return code, e["seq"], e["hash"], "finding_submitted"


def test_the_same_evidence_file_for_several_findings_of_one_enterprise(ctxs, o, clock):
    w, h = o.w, o.h
    assess(ctxs, o, [simple(c, [SELF, PLATFORM], "2023-09-05") for c in [*w, *h]])
    ctx, wq, hx = ctxs(), ctxs("wq"), ctxs("hx")
    photo = evidence_file(o.tmp, "整改照片.jpg", b"\xff\xd8 one photo for both findings")
    first, second = findings_of(ctx, w[0])
    plain(submit_finding(wq, first, [photo]))
    plain(submit_finding(wq, second, [evidence_file(o.tmp, "照片副本.jpg", photo.read_bytes())]))  # renamed
    # near misses: different files for each finding; one finding resubmitted with its old file and a new one
    for n, f in enumerate(findings_of(ctx, w[1])):
        plain(submit_finding(wq, f, [evidence_file(o.tmp, f"w1-{n}.pdf", f"%PDF w1 {n}".encode())]))
    again, _ = findings_of(ctx, h[0])
    old = evidence_file(o.tmp, "报告.pdf", b"%PDF h0 report")
    plain(submit_finding(hx, again, [old]))
    plain(reject_finding(ctxs("hx2"), again, "缺少现场照片"))
    clock.advance(hours=1)
    plain(submit_finding(hx, again, [old, evidence_file(o.tmp, "照片.jpg", b"\xff\xd8 h0 photo")]))
    (flag,) = raised(ctx, "reused_evidence")
    assert flag["label"] == KINDS["reused_evidence"] == "同一整改材料用于同一企业的多个问题"
    assert (flag["district"], codes(flag)) == (WUQING, [w[0]])
    assert flag["findings"] == [first, second]
    digest = event_of(ctx, w[0], "finding_submitted", 0)["payload"]["data"]["evidence"][0]["sha256"]
    assert flag["sha256"] == digest
    for text in (digest, "整改照片.jpg", "照片副本.jpg", f"问题 #{first}（ZP01）", f"问题 #{second}（ZN01）"):
        assert text in flag["detail"], text
    assert refs(flag) == [submitted_ref(ctx, w[0], first), submitted_ref(ctx, w[0], second)]
    assert raised(ctx, "shared_evidence") == []  # one enterprise: not shared between enterprises
    counts = flag_counts_by_district(ctx, CAMPAIGN)
    assert (counts[WUQING]["reused_evidence"], counts[HEXI]["reused_evidence"]) == (1, 0)


def test_reused_evidence_across_enterprises_and_districts_is_shared_evidence_once(ctxs, o):
    """The same file at two enterprises is shared_evidence (one flag per district, the findings listed in it),
    not also reused_evidence; an enterprise that also used it twice itself gets its own reused_evidence."""
    w, h = o.w, o.h
    assess(ctxs, o, [simple(c, [SELF, PLATFORM], "2023-09-05") for c in (w[0], w[1], h[0])])
    ctx, wq, hx = ctxs(), ctxs("wq"), ctxs("hx")
    common = evidence_file(o.tmp, "通用整改报告.pdf", b"%PDF one report for three enterprises")
    w0, w1, h0 = findings_of(ctx, w[0]), findings_of(ctx, w[1]), findings_of(ctx, h[0])
    plain(submit_finding(wq, w0[0], [common]))
    plain(submit_finding(wq, w1[0], [common]))
    assert [codes(f) for f in raised(ctx, "shared_evidence")] == [sorted([w[0], w[1]])]
    assert raised(ctx, "reused_evidence") == []
    plain(submit_finding(hx, h0[0], [common]))  # across districts
    plain(submit_finding(hx, h0[1], [common]))  # and twice at 河西's enterprise
    shared = raised(ctx, "shared_evidence")
    assert [f["district"] for f in shared] == [HEXI, WUQING]
    assert all(codes(f) == sorted([w[0], w[1], h[0]]) for f in shared)
    assert all(f"#{h0[0]}、#{h0[1]}" in f["detail"] for f in shared)
    (reused,) = raised(ctx, "reused_evidence")
    assert (reused["district"], codes(reused), reused["findings"]) == (HEXI, [h[0]], h0)
    counts = flag_counts_by_district(ctx, CAMPAIGN)  # (the identical deduction sets are copied_deductions)
    assert [(counts[d]["shared_evidence"], counts[d]["reused_evidence"]) for d in (WUQING, HEXI)] == [(1, 0), (1, 1)]


def test_reused_evidence_reaches_back_to_an_earlier_campaign(ctxs, tmp_path, clock):
    """A file of this campaign that the enterprise already submitted for a finding of an earlier campaign:
    flagged in this campaign, the earlier finding listed with its campaign; not in a campaign that has no
    finding of the two."""
    o = build_oversight(ctxs, tmp_path, clock, start="2023-06-01", end="2023-08-31", now="2023-07-05 10:00")
    w = o.w
    assess(ctxs, o, [simple(w[0], [SELF], "2023-07-05"), simple(w[1], [SELF], "2023-07-05")])
    ctx = ctxs()
    (earlier,) = findings_of(ctx, w[0])
    photo = evidence_file(tmp_path, "2023照片.jpg", b"\xff\xd8 taken in 2023")
    plain(submit_finding(ctxs(o.user(w[0])), earlier, [photo]))
    plain(verify_finding(ctxs("wq2"), earlier))
    fire_event(ctxs("wq"), w[0], "close", reason="2023年问题全部销号")
    clock.set(at("2024-06-03 09:00"))
    later = "2024年运行质量评估"
    open_campaign(ctxs("boss"), later, date(2024, 6, 3), date(2024, 8, 30), district="武清")
    clock.set(at("2024-07-10 16:00"))
    assess(ctxs, o, [simple(w[0], [PLATFORM], "2024-07-10", later)], "assess-2024.yaml")
    (now,) = [f for f in findings_of(ctx, w[0]) if f != earlier]
    assert raised(ctx, "reused_evidence", later) == []
    plain(submit_finding(ctxs(o.user(w[0])), now, [photo]))
    (flag,) = raised(ctx, "reused_evidence", later)
    assert flag["findings"] == [earlier, now]
    assert f"问题 #{earlier}（ZP01，{CAMPAIGN}）" in flag["detail"]
    assert f"问题 #{now}（ZN01）" in flag["detail"]
    (old,) = raised(ctx, "reused_evidence")  # the 2023 campaign holds one of the two findings: flagged there too
    assert old["findings"] == [earlier, now]
    assert f"问题 #{now}（ZN01，{later}）" in old["detail"]


def test_verifiers_who_submitted_or_belong_to_the_enterprise(ctxs, o, clock):
    w, h = o.w, o.h
    assess(ctxs, o, [simple(c, [SELF], "2023-09-05") for c in [*w, h[0], h[1]]])
    ctx = ctxs()
    report = evidence_file(o.tmp, "自评报告.pdf", b"%PDF report")
    f = {c: finding_of(ctx, c) for c in [*w, h[0], h[1]]}
    plain(submit_finding(ctxs(o.user(w[0])), f[w[0]], [report]))  # the enterprise submits, an officer verifies
    plain(verify_finding(ctxs("wq2"), f[w[0]]))
    plain(submit_finding(ctxs("wq"), f[w[1]], [report]))  # an officer uploads, another officer verifies
    plain(verify_finding(ctxs("wq2"), f[w[1]]))
    plain(submit_finding(ctxs("wq"), f[w[2]], [report]))
    plain(verify_finding(ctxs("wq2"), f[w[2]]))
    plain(submit_finding(ctxs(o.user(h[0])), f[h[0]], [report]))
    plain(verify_finding(ctxs("hx2"), f[h[0]]))
    plain(submit_finding(ctxs(o.user(h[1])), f[h[1]], [report]))
    assert raised(ctx, "verified_by_submitter") == raised(ctx, "verified_by_enterprise") == []
    # legacy rows: the table names the submitter, or the enterprise's own user, as verifier
    core(ctx, "update finding set verified_by = 'wq' where id = :f", f=f[w[2]])
    core(ctx, "update finding set verified_by = :u where id = :f", u=o.user(h[0]), f=f[h[0]])
    # a legacy trail: the enterprise's user recorded as verifying its own submission (table says hx2)
    clock.advance(hours=1)
    legacy = append_event(ctx, h[1], "finding_verified", o.user(h[1]), "enterprise",
                          {"finding": f[h[1]], "item": "ZP01"}, clock.now())
    core(ctx, "update finding set status = 'verified', verified_by = 'hx2' where id = :f", f=f[h[1]])
    assert verify_audit(ctx).ok  # the legacy event is chained: nothing is broken, the flag is in the data
    submitter = {codes(x)[0]: x for x in raised(ctx, "verified_by_submitter")}
    enterprise = {codes(x)[0]: x for x in raised(ctx, "verified_by_enterprise")}
    assert set(submitter) == {w[2], h[0], h[1]}
    assert set(enterprise) == {h[0], h[1]}
    assert submitter[w[2]]["actor"] == "wq"
    assert "由 wq 验收" in submitter[w[2]]["detail"]
    assert refs(submitter[w[2]]) == sorted([ref_of(ctx, w[2], "finding_submitted"),
                                            ref_of(ctx, w[2], "finding_verified")], key=lambda r: r[1])
    assert (h[1], legacy["seq"], legacy["hash"], "finding_verified") in refs(enterprise[h[1]])
    assert enterprise[h[0]]["actor"] == o.user(h[0])
    assert "企业人员" in enterprise[h[0]]["detail"]


def test_scores_the_deductions_do_not_give_and_deductions_without_content(ctxs, o):
    w, h = o.w, o.h
    own = [[SELF, {**PLATFORM, "content": f"{PLATFORM['content']}（{n}号车间）"}] for n in range(3)]  # not copies
    assess(ctxs, o, [simple(c, own[n], "2023-09-05") for n, c in enumerate(w)] + [simple(h[0], [], "2023-09-05")])
    ctx = ctxs()
    assert raised(ctx) == []  # 91.0 优 and 100.0 优, as recorded
    eid = {c: int(event_of(ctx, c, "record_assessment")["payload"]["data"]["assessment"]) for c in (*w, h[0])}
    core(ctx, "update assessment set score = 95.0 where id = :a", a=eid[w[0]])
    core(ctx, "update assessment set result = '良' where id = :a", a=eid[w[2]])
    core(ctx, "insert into deduction (assessment_id, element, item, points, content, rectify) "
              "values (:a, 'risk_hazard', 'FX01', 5, '危险源辨识不充分', true)", a=eid[h[0]])
    core(ctx, "update deduction set content = '　' where assessment_id = :a and item = 'ZN01'", a=eid[w[1]])
    mismatched = {codes(f)[0]: f for f in raised(ctx, "score_mismatch")}
    assert set(mismatched) == {w[0], w[2], h[0]}
    assert "记录的得分 95.0、结果 优；按扣分记录重算为 91.0、优" in mismatched[w[0]]["detail"]
    assert "记录的得分 91.0、结果 良；按扣分记录重算为 91.0、优" in mismatched[w[2]]["detail"]
    assert "重算为 95.0、优" in mismatched[h[0]]["detail"]
    assert refs(mismatched[w[0]]) == [ref_of(ctx, w[0], "record_assessment")]
    (empty,) = raised(ctx, "deduction_without_content")
    assert codes(empty) == [w[1]]
    assert "ZN01" in empty["detail"]


def test_repeat_problems_link_the_earlier_finding(ctxs, tmp_path, clock):
    o = build_oversight(ctxs, tmp_path, clock, start="2023-06-01", end="2023-08-31", now="2023-07-05 10:00")
    w = o.w
    assess(ctxs, o, [simple(w[0], [SELF, PLATFORM], "2023-07-05"), simple(w[1], [], "2023-07-05"),
                         simple(w[2], [], "2023-07-05")])
    ctx = ctxs()
    earlier = {f["item"]: f["id"] for f in plain(list_findings(ctx, credit_code=w[0]))}
    proof = evidence_file(tmp_path, "整改.pdf", b"%PDF 2023")
    for finding in earlier.values():
        plain(submit_finding(ctxs(o.user(w[0])), finding, [proof]))
        plain(verify_finding(ctxs("wq2"), finding))
    fire_event(ctxs("wq"), w[0], "close", reason="2023年问题全部销号")
    clock.set(at("2024-06-03 09:00"))
    later = "2024年运行质量评估"
    open_campaign(ctxs("boss"), later, date(2024, 6, 3), date(2024, 8, 30), district="武清")
    clock.set(at("2024-07-10 16:00"))
    again = {"item": "ZN02", "points": 2, "content": "未应用信息化手段开展隐患排查治理"}
    assess(ctxs, o, [simple(w[0], [SELF, PLATFORM, again], "2024-07-10", later),  # as in 2023, and one more
                         simple(w[1], [again], "2024-07-10", later),                  # new to this enterprise
                         simple(w[2], [SELF, PLATFORM], "2024-07-10", later)], "assess-2024.yaml")
    flags = raised(ctx, "repeat_problem", later)
    assert [codes(f) for f in flags] == [[w[0]]] * 3
    by = {f["detail"].split("（")[1].split("）")[0]: f for f in flags}
    assert set(by) == {"ZP01", "ZN01", "ZN02"}
    assert by["ZP01"]["earlier"] == [earlier["ZP01"]]
    assert "同一扣分项 ZP01" in by["ZP01"]["detail"]
    assert by["ZN02"]["earlier"] == [earlier["ZN01"]]
    assert "同一要素 智能化建设" in by["ZN02"]["detail"]
    assert CAMPAIGN in by["ZN01"]["detail"]
    assert "已验收销号" in by["ZN01"]["detail"]
    trail = refs(by["ZP01"])
    assert ref_of(ctx, w[0], "record_assessment") in trail
    assert ref_of(ctx, w[0], "record_assessment", 0) in trail
    verified = [e for e in plain(timeline(ctx, w[0])) if e["event"] == "finding_verified"
                and e["payload"]["data"]["finding"] == earlier["ZP01"]]
    assert (w[0], verified[0]["seq"], verified[0]["hash"], "finding_verified") in trail
    # the same deductions at the same enterprise in two campaigns are a repeat, not a copy; w[2] is new
    assert raised(ctx, "copied_deductions", later) == []
    assert raised(ctx, "repeat_problem") == []  # nothing came before the first campaign
    assert flag_counts_by_district(ctx, later) == {WUQING: {**dict.fromkeys(KINDS, 0), "repeat_problem": 3}}


def test_as_of_an_earlier_date_a_flag_resting_on_later_records_is_not_raised(ctxs, o, clock):
    """Evidence is only ever inserted: as of the day before a file was used again (for another finding of
    the enterprise, or at another enterprise), neither reused_evidence nor shared_evidence is raised, in the
    flags nor in the counts the circular reads (flag_counts_in in the caller's session); a verification
    recorded later raises verified_by_enterprise only from then on. Each flag names only the audit events
    recorded by the date asked."""
    w = o.w
    assess(ctxs, o, [simple(w[0], [SELF, PLATFORM], "2023-09-05"), simple(w[1], [SELF, MAJOR], "2023-09-05")])
    ctx, wq = ctxs(), ctxs("wq")
    photo = evidence_file(o.tmp, "整改照片.jpg", b"\xff\xd8 one photo for everything")
    (first, second), (other, _) = findings_of(ctx, w[0]), findings_of(ctx, w[1])
    plain(submit_finding(wq, first, [photo]))  # 11-01 10:00
    clock.set(at("2023-11-02 10:00"))
    plain(submit_finding(wq, second, [photo]))
    clock.set(at("2023-11-03 10:00"))
    plain(submit_finding(wq, other, [photo]))
    clock.set(at("2023-11-04 10:00"))
    append_event(ctx, w[1], "finding_verified", o.user(w[1]), "enterprise", {"finding": other, "item": "ZP01"},
                 clock.now())
    clock.set(at("2023-11-05 10:00"))

    def kinds(when):
        then = past(ctxs(), when)
        with then.store.read() as session:
            counted = flag_counts_in(then, session, find_campaign(session, CAMPAIGN))
        flags = oversight_flags(then, CAMPAIGN)
        assert {k: n for k, n in counted[WUQING].items() if n} == Counter(f["kind"] for f in flags)
        return {f["kind"]: f for f in flags}

    assert kinds("2023-11-01 12:00") == {}
    assert list(kinds("2023-11-02 12:00")) == ["reused_evidence"]
    flags = kinds("2023-11-03 12:00")
    assert list(flags) == ["shared_evidence", "reused_evidence"]
    assert refs(flags["shared_evidence"]) == [submitted_ref(ctx, w[0], first), submitted_ref(ctx, w[0], second),
                                              submitted_ref(ctx, w[1], other)]
    assert "verified_by_enterprise" in kinds("2023-11-04 12:00")
    assert list(kinds("2023-11-05 12:00")) == list(Counter(f["kind"] for f in raised(ctx)))


def test_as_of_an_earlier_date_the_flags_name_only_the_events_recorded_by_then(ctxs, o, clock):
    """A reused file's flag lists the submissions recorded by the date asked, not a later third one."""
    w = o.w
    assess(ctxs, o, [simple(w[0], [SELF, PLATFORM, MAJOR], "2023-09-05")])
    ctx, wq = ctxs(), ctxs("wq")
    photo = evidence_file(o.tmp, "整改照片.jpg", b"\xff\xd8 one photo for three findings")
    ids = sorted(findings_of(ctx, w[0]))
    for n, finding in enumerate(ids):
        clock.set(at(f"2023-11-0{n + 2} 10:00"))
        plain(submit_finding(wq, finding, [photo]))
    (then,) = oversight_flags(past(ctxs(), "2023-11-03 12:00"), CAMPAIGN)
    assert (then["kind"], then["findings"]) == ("reused_evidence", ids[:2])
    assert refs(then) == [submitted_ref(ctx, w[0], f) for f in ids[:2]]
    (now,) = raised(ctx, "reused_evidence")
    assert now["findings"] == ids
    assert refs(now) == [submitted_ref(ctx, w[0], f) for f in ids]
