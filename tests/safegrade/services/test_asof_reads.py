"""The reads answer for the context's now (`--as-of`, a test clock): findings with their enterprise and evidence,
an enterprise's timeline, deadlines, job runs, reminders, actors, `ledger reconcile` and `audit export` show
the rows as they stood then and only what was recorded up to then; read now, they are what they always were.

One history (武清 enterprise 0 assessed on 07-10 with two findings, finding 1 submitted on 07-11 and verified
on 07-12; later: enterprise 1 assessed, enterprise 0 renamed by a ledger amendment, a new enterprise
registered, an actor added, reminders queued and sent) is read as of 07-11 12:00 and now; on SQLite and
PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime

import pytest

from safegrade.clock import FixedClock
from safegrade.errors import NotFound
from safegrade.services.actors import add_actor, list_actors
from safegrade.services.assessment import import_assessments
from safegrade.services.auditing import export_audit, verify_export
from safegrade.services.campaign import open_campaign
from safegrade.services.context import Context
from safegrade.services.deadlines import list_deadlines
from safegrade.services.enterprise import timeline
from safegrade.services.finding import list_findings, submit_finding, verify_finding
from safegrade.services.ledger import export_ledger, import_ledger, reconcile_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.reminders import list_reminders, send_reminders
from safegrade.services.runs import list_runs, record_run
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import build_world, plain, row, write_ledger
from tests.safegrade.services.reporting.loop_world import assessment_file, doc, evidence_file

CAMPAIGN = "2023年运行质量评估"
SELF = {"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"}
PLATFORM = {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化管理平台"}
D = at("2023-07-11 12:00")  # after finding 1 was submitted, before it was verified
RENAMED = "天津市测试更名机械有限公司"
AGAIN = "天津市测试再更名机械有限公司"


def as_of(ctx: Context, instant: datetime) -> Context:
    """The same context read as `--as-of instant` reads it."""
    return dataclasses.replace(ctx, clock=FixedClock(instant, ctx.settings.zone))


@dataclasses.dataclass
class History:
    mk: object  # make_ctx bound to the backend
    codes: list[str]  # 武清 0 and 1
    late: str  # the enterprise registered after D
    finding: int  # finding 1 of 武清 0: submitted before D, verified after


@pytest.fixture
def history(make_ctx, db_url, tmp_path, clock) -> History:
    def mk(actor=None):
        return make_ctx(actor, url=db_url)

    w = build_world(make_ctx, tmp_path, per_district=2, url=db_url)
    boss = mk("boss")
    add_actor(boss, "企业甲", "enterprise", enterprise_code=w.wuqing[0])
    open_campaign(boss, CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    clock.set(at("2023-07-10 16:00"))
    import_assessments(mk("wq"), [assessment_file(tmp_path, [doc(w.wuqing[0], [SELF, PLATFORM], "2023-07-10")])])
    clock.set(at("2023-07-11 10:00"))
    first = min(f["id"] for f in plain(list_findings(mk(), credit_code=w.wuqing[0])))
    plain(submit_finding(mk("企业甲"), first, [evidence_file(tmp_path, "自评报告.pdf", b"%PDF self-assessment")],
                         "已开展自评"))
    # --- after D ---
    clock.set(at("2023-07-12 09:30"))
    plain(verify_finding(mk("wq"), first, "材料齐全"))
    clock.set(at("2023-07-13 10:00"))
    import_assessments(mk("wq"), [assessment_file(tmp_path, [doc(w.wuqing[1], [SELF], "2023-07-13")], "b.yaml")])
    clock.set(at("2023-07-14 10:00"))
    renamed = row(1) | {"企业名称": RENAMED}
    late = row(50)
    import_ledger(boss, [write_ledger(tmp_path / "amend.csv", [renamed, late])], amend=True)
    add_actor(boss, "wq3", "district", district="武清区")
    return History(mk, w.wuqing, late["统一社会信用代码"], first)


def test_findings_as_of_a_past_instant_show_their_status_enterprise_and_evidence_then(history):
    mk = history.mk
    then = {f["id"]: f for f in plain(list_findings(as_of(mk(), D)))}
    now = {f["id"]: f for f in plain(list_findings(mk()))}
    assert {f["credit_code"] for f in then.values()} == {history.codes[0]}  # 武清 1 was assessed on 07-13
    assert {f["credit_code"] for f in now.values()} == set(history.codes[:2])
    first = then[history.finding]
    assert (first["status"], first["verified_by"], first["name"]) == ("submitted", None, "天津市测试0001机械有限公司")
    assert [e["file"] for e in first["evidence"]] == ["自评报告.pdf"]
    assert (now[history.finding]["status"], now[history.finding]["name"]) == ("verified", RENAMED)
    assert [f["id"] for f in plain(list_findings(as_of(mk(), D), status="verified"))] == []
    assert history.finding in {f["id"] for f in plain(list_findings(mk(), status="verified"))}
    assert plain(list_findings(as_of(mk(), at("2023-07-11 09:00")), credit_code=history.codes[0]))[0]["evidence"] == []


def test_overdue_days_count_from_the_day_asked(history, clock, tmp_path):
    mk = history.mk
    second = max(f["id"] for f in plain(list_findings(mk(), credit_code=history.codes[0])))
    clock.set(at("2023-08-15 10:00"))  # finding 2 of 武清 0, overdue since 08-07, is rectified after 08-10
    photo = evidence_file(tmp_path, "平台截图.png", b"\x89PNG platform")
    plain(submit_finding(mk("企业甲"), second, [photo], "已建成"))
    clock.set(at("2023-08-16 10:00"))
    plain(verify_finding(mk("wq"), second, "平台已上线"))
    clock.set(at("2023-08-20 10:00"))
    now = plain(list_findings(mk(), overdue=True))
    then = plain(list_findings(as_of(mk(), at("2023-08-10 10:00")), overdue=True))
    assert second in {f["id"] for f in then}
    assert second not in {f["id"] for f in now}
    assert {f["id"] for f in then} - {second} == {f["id"] for f in now if f["due_on"] < date(2023, 8, 10)}
    for f in then:
        assert f["overdue_days"] == (date(2023, 8, 10) - f["due_on"]).days
        assert f["status"] == "open"
    assert all(f["overdue_days"] == (date(2023, 8, 20) - f["due_on"]).days for f in now)


def test_a_timeline_as_of_a_past_instant_ends_then(history):
    mk = history.mk
    code = history.codes[0]
    now = plain(timeline(mk(), code))
    then = plain(timeline(as_of(mk(), D), code))
    assert [e["event"] for e in then] == ["register", "open_assessment", "record_assessment", "finding_submitted"]
    assert [e["event"] for e in now[:4]] == [e["event"] for e in then]
    assert [e["event"] for e in now[4:]] == ["finding_verified", "amend"]
    with pytest.raises(NotFound) as unknown:
        timeline(as_of(mk(), D), history.late)
    assert unknown.value.code == "unknown_enterprise"
    assert [e["event"] for e in plain(timeline(mk(), history.late))] == ["register"]


def test_deadlines_as_of_a_past_instant_are_the_rows_as_they_stood(history):
    mk = history.mk
    subject = f"finding:{history.finding}"
    then = plain(list_deadlines(as_of(mk(), D)))
    now = plain(list_deadlines(mk()))
    assert {d["id"] for d in then} < {d["id"] for d in now}  # 武清 1's findings and the late enterprise came later
    (before,) = [d for d in then if d["subject"] == subject]
    (after,) = [d for d in now if d["subject"] == subject]
    assert (before["status"], after["status"]) == ("paused", "met")  # submitted then (reminders paused), verified since
    assert before["days_left"] == (before["due_on"] - D.date()).days
    assert after["days_left"] == (after["due_on"] - date(2023, 7, 14)).days
    assert [d["subject"] for d in plain(list_deadlines(as_of(mk(), D), status="met"))
            if d["subject"] == subject] == []


def test_job_runs_as_of_a_past_instant_are_those_that_covered_it(history):
    mk = history.mk
    for slot in ("2023-07-11 08:00", "2023-07-12 08:00"):
        record_run(mk(), "deadline_sweep", as_of=at(slot), started_at=at(slot), finished_at=at(slot),
                   source="scheduler", counts={"deadlines": 1})
    assert [r["as_of"] for r in plain(list_runs(as_of(mk(), D)))] == [at("2023-07-11 08:00")]
    assert [r["as_of"] for r in plain(list_runs(mk()))] == [at("2023-07-12 08:00"), at("2023-07-11 08:00")]


def test_actors_as_of_a_past_instant_are_those_added_by_then(history):
    mk = history.mk
    assert "wq3" not in {a["name"] for a in plain(list_actors(as_of(mk(), D)))}
    assert "wq3" in {a["name"] for a in plain(list_actors(mk()))}
    assert {a["name"] for a in plain(list_actors(as_of(mk(), D)))} == \
        {a["name"] for a in plain(list_actors(mk()))} - {"wq3"}


def test_reminders_as_of_a_past_instant_are_the_rows_as_they_stood_with_their_enterprise_then(history, clock,
                                                                                             tmp_path):
    mk = history.mk
    clock.set(at("2023-07-31 08:00"))
    sweep_deadlines(mk("system"))
    queued = at("2023-07-31 12:00")
    clock.set(at("2023-08-01 09:00"))
    send_reminders(mk())
    import_ledger(mk("boss"), [write_ledger(tmp_path / "again.csv", [row(1) | {"企业名称": AGAIN}])], amend=True)
    then = plain(list_reminders(as_of(mk(), queued)))
    now = plain(list_reminders(mk()))
    assert then, "the sweep queued reminders of the findings due on 08-07"
    assert {r["status"] for r in then} == {"pending"}
    assert {r["id"]: r["status"] for r in now}.keys() == {r["id"] for r in then}
    assert "pending" not in {r["status"] for r in now}
    assert plain(list_reminders(as_of(mk(), D))) == []  # nothing was queued yet
    ours = [r for r in then if r["credit_code"] == history.codes[0]]
    assert ours
    assert {r["enterprise_name"] for r in ours} == {RENAMED}  # renamed again on 08-01, after
    assert {r["enterprise_name"] for r in now if r["credit_code"] == history.codes[0]} == {AGAIN}
    early = as_of(mk(), at("2023-07-13 09:00"))
    assert plain(list_reminders(early, enterprise=history.codes[0])) == []


def test_reconcile_compares_with_the_enterprises_as_they_stood(history, clock, tmp_path):
    mk = history.mk
    boss = mk("boss")
    plain(export_ledger(as_of(boss, D), tmp_path / "d.xlsx"))  # the 台账 of D: no late enterprise, old names
    clock.set(at("2023-07-20 10:00"))
    fire_event(mk("wq"), history.codes[1], "exclude", reason="注销")
    then = plain(reconcile_ledger(as_of(boss, D), [tmp_path / "d.xlsx"]))
    assert then["discrepancies"] == []
    now = plain(reconcile_ledger(boss, [tmp_path / "d.xlsx"]))
    assert sorted((d["类型"], d["统一社会信用代码"]) for d in now["discrepancies"]) == sorted([
        ("不一致", history.codes[0]),  # renamed since
        ("已注销/迁址", history.codes[1]),  # excluded since, still listed
        ("缺失", history.late),  # registered since
    ])


def test_the_audit_export_as_of_a_past_instant_holds_the_events_up_to_then(history, tmp_path):
    mk = history.mk
    boss = mk("boss")
    then = plain(export_audit(as_of(boss, D), tmp_path / "then.jsonl"))
    now = plain(export_audit(boss, tmp_path / "now.jsonl"))
    lines = [json.loads(x) for x in (tmp_path / "then.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["type"] == "header"
    assert lines[0]["events_up_to"] == "2023-07-11T04:00:00.000000Z"
    events = [x for x in lines if x["type"] == "event"]
    assert all(x["occurred_at"] <= "2023-07-11T04:00:00.000000Z" for x in events)
    assert then["events"] == len(events) < now["events"]
    assert then["chains"] == now["chains"] - 1  # the late enterprise
    heads = {x["enterprise"]: (x["seq"], x["state"]) for x in lines if x["type"] == "head"}
    assert heads[history.codes[0]] == (4, "rectifying")
    assert history.late not in heads
    assert verify_export(tmp_path / "then.jsonl").ok
    assert verify_export(tmp_path / "now.jsonl").ok
