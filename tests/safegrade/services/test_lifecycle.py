"""Firing events through the service: role, scope, reason, fields, guards, effects, versions, time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from safegrade.errors import Conflict, EventNotAllowed, FieldError, Forbidden, GuardFailed, InvalidInput, NotFound
from safegrade.models import AuditEvent
from safegrade.services.enterprise import show_enterprise
from safegrade.services.lifecycle import FireRequest, fire_event, fire_many
from tests.conftest import at
from tests.factories import build_world, plain


@pytest.fixture
def world(make_ctx, tmp_path):
    return build_world(make_ctx, tmp_path)


def audit_count(ctx) -> int:
    with ctx.store.read() as s:
        return s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


@pytest.mark.usefixtures("clock")
def test_district_officer_moves_own_enterprise_and_one_audit_event_is_written(make_ctx, world):
    wq = make_ctx("wq")
    before = audit_count(wq)
    fired = fire_event(wq, world.wuqing[0], "open_assessment", reason="2023年运行质量评估", via_service=True)
    assert (fired.from_state, fired.to_state, fired.version) == ("graded", "assessing", 2)
    assert audit_count(wq) == before + 1
    assert plain(show_enterprise(wq, world.wuqing[0]))["state"] == "assessing"


def test_district_officer_may_not_touch_another_district(make_ctx, world):
    # answered as a missing enterprise is (issue 11: out of scope is not found, its existence not disclosed)
    with pytest.raises(NotFound, match=f"^no enterprise with credit code {world.hexi[0]}; ") as info:
        fire_event(make_ctx("wq"), world.hexi[0], "open_assessment", reason="x", via_service=True)
    assert info.value.code == "unknown_enterprise"
    assert plain(show_enterprise(make_ctx(), world.hexi[0]))["version"] == 1


@pytest.mark.parametrize(("actor", "event"), [("rev", "open_assessment"), ("system", "revoke"), ("wq", "no_such")])
def test_roles_that_may_not_fire_are_refused(make_ctx, world, actor, event):
    ctx = make_ctx(actor)
    error = EventNotAllowed if event == "no_such" else Forbidden
    with pytest.raises(error):
        fire_event(ctx, world.wuqing[0], event, reason="x")


def test_an_unknown_actor_and_no_actor_are_refused(make_ctx, world):
    with pytest.raises(NotFound, match="no actor named 'ghost'"):
        fire_event(make_ctx("ghost"), world.wuqing[0], "open_assessment", reason="x", via_service=True)
    with pytest.raises(Forbidden, match="needs an actor"):
        fire_event(make_ctx(None), world.wuqing[0], "open_assessment", reason="x", via_service=True)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_change_without_a_reason_is_refused(make_ctx, world, reason):
    with pytest.raises(InvalidInput, match="needs a reason"):
        fire_event(make_ctx("wq"), world.wuqing[0], "open_assessment", reason=reason, via_service=True)


@pytest.mark.usefixtures("world")
def test_unknown_enterprise(make_ctx):
    with pytest.raises(NotFound, match="no enterprise with credit code 91350100M000100Y43"):
        fire_event(make_ctx("boss"), "91350100M000100Y43", "open_assessment", reason="x", via_service=True)


def test_event_not_allowed_names_state_and_allowed_events(make_ctx, world):
    with pytest.raises(EventNotAllowed) as info:
        fire_event(make_ctx("wq"), world.wuqing[0], "revoke", reason="x")
    assert "'revoke'" in str(info.value)
    assert "'graded'" in str(info.value)
    assert "open_assessment" in str(info.value)


def test_required_fields_and_their_types(make_ctx, world):
    wq = make_ctx("wq")
    code = world.wuqing[0]
    fire_event(wq, code, "open_assessment", reason="x", via_service=True)
    with pytest.raises(FieldError, match="'result'.*required"):
        fire_event(wq, code, "record_assessment", reason="x", data={"findings": "1", "major_hazards": "0"},
                   via_service=True)
    with pytest.raises(FieldError, match="'findings'.*not a whole number"):
        fire_event(wq, code, "record_assessment", reason="x",
                   data={"result": "良", "findings": "some", "major_hazards": "0"}, via_service=True)
    with pytest.raises(FieldError, match="'colour'.*not a field"):
        fire_event(wq, code, "record_assessment", reason="x",
                   data={"result": "良", "findings": "1", "major_hazards": "0", "colour": "red"},
                   via_service=True)
    assert plain(show_enterprise(wq, code))["state"] == "assessing"


def assess(ctx, code, result="良", findings=0, major=0):
    fire_event(ctx, code, "open_assessment", reason="评估", via_service=True)
    return fire_event(ctx, code, "record_assessment", reason="评估完成",
                      data={"result": result, "findings": findings, "major_hazards": major}, via_service=True)


@pytest.mark.parametrize(("result", "findings", "major", "dest"), [
    ("差", 2, 0, "revocation_pending"),
    ("良", 1, 1, "interview"),
    ("良", 3, 0, "rectifying"),
    ("优", 0, 0, "closed"),
])
def test_record_assessment_routes_by_result_and_findings(make_ctx, world, result, findings, major, dest):
    fired = assess(make_ctx("wq"), world.wuqing[0], result, findings, major)
    assert fired.to_state == dest
    shown = plain(show_enterprise(make_ctx(), world.wuqing[0]))
    assert (shown["last_result"], shown["open_findings"], shown["open_major_hazards"]) == (result, findings, major)


def test_poor_result_starts_publicity_in_working_days_and_revoke_waits_for_it(make_ctx, world, clock):
    wq = make_ctx("wq")
    clock.set(at("2023-09-27 10:00"))  # Wednesday before the National Day holiday (Sep 29 – Oct 6)
    fired = assess(wq, world.wuqing[0], "差", 1, 0)
    assert fired.changes["revocation_reason"] == "poor_operation"
    # working days after Sep 27: Sep 28, then Oct 7 and 8 (make-up Saturday and Sunday), Oct 9, Oct 10
    assert fired.changes["publicity_ends_on"] == date(2023, 10, 10)
    clock.set(at("2023-10-10 18:00"))
    with pytest.raises(GuardFailed, match="公示期.*2023-10-10"):
        fire_event(wq, world.wuqing[0], "revoke", reason="公示期满")
    clock.set(at("2023-10-11 09:00"))
    done = fire_event(wq, world.wuqing[0], "revoke", reason="公示期满无异议")
    assert done.to_state == "revoked"
    assert done.changes["revoked_on"] == date(2023, 10, 11)
    assert done.changes["regrade_from"] == date(2024, 10, 11)
    with pytest.raises(EventNotAllowed, match="allowed here: regrade$"):
        fire_event(wq, world.wuqing[0], "open_assessment", reason="x", via_service=True)
    regrading = {"valid_until": "2027-10-31", "certificate_no": "津AQBJXⅢ202400001"}
    clock.set(at("2024-10-10 17:00"))
    with pytest.raises(GuardFailed, match="may not be graded again before 2024-10-11"):
        fire_event(wq, world.wuqing[0], "regrade", reason="重新申请定级", data=regrading)
    clock.set(at("2024-10-11 09:00"))
    again = fire_event(wq, world.wuqing[0], "regrade", reason="撤销满一年，重新定级", data=regrading)
    assert again.to_state == "graded"
    assert again.changes["revoked_on"] is None
    assert plain(show_enterprise(wq, world.wuqing[0]))["certificate_no"] == "津AQBJXⅢ202400001"


def test_propose_and_withdraw_revocation(make_ctx, world):
    wq = make_ctx("wq")
    code = world.wuqing[0]
    with pytest.raises(FieldError, match="revocation_reason"):
        fire_event(wq, code, "propose_revocation", reason="x", data={"revocation_reason": "bored",
                                                                      "revocation_source": "complaint"})
    fired = fire_event(wq, code, "propose_revocation", reason="群众举报：企业已迁址",
                       data={"revocation_reason": "relocated", "revocation_source": "complaint"})
    assert fired.changes["revocation_reason"] == "relocated"
    back = fire_event(wq, code, "withdraw_revocation", reason="异议成立",
                      data={"objection": "企业未迁址，提供租赁合同"})
    assert back.to_state == "graded"
    shown = plain(show_enterprise(wq, code))
    assert shown["publicity_ends_on"] is None
    assert shown["revocation_reason"] is None


def test_close_is_refused_while_findings_are_open(make_ctx, world):
    wq = make_ctx("wq")
    assess(wq, world.wuqing[0], "良", 2, 0)
    with pytest.raises(GuardFailed, match="all_findings_verified: 2 finding"):
        fire_event(wq, world.wuqing[0], "close", reason="整改完成")


def test_expire_and_renew_follow_validity(make_ctx, world, clock):
    wq = make_ctx("wq")
    code = world.wuqing[0]  # valid until 2025-02-28
    clock.set(at("2025-02-28 12:00"))
    with pytest.raises(GuardFailed, match="valid until 2025-02-28"):
        fire_event(make_ctx("system"), code, "expire", reason="有效期届满")
    clock.set(at("2025-03-01 08:00"))
    assert fire_event(make_ctx("system"), code, "expire", reason="有效期届满").to_state == "expired"
    with pytest.raises(GuardFailed, match="not after today"):
        fire_event(wq, code, "renew", reason="复评", data={"valid_until": "2025-03-01", "certificate_no": "N1"})
    renewed = fire_event(wq, code, "renew", reason="复评通过",
                         data={"valid_until": "2028-02-29", "certificate_no": "N2"})
    assert renewed.to_state == "graded"
    assert plain(show_enterprise(wq, code))["valid_until"] == date(2028, 2, 29)


def test_expected_version_conflict(make_ctx, world):
    wq = make_ctx("wq")
    code = world.wuqing[0]
    fire_event(wq, code, "open_assessment", reason="x", expected_version=1, via_service=True)
    with pytest.raises(Conflict, match="version 2, not 1"):
        fire_event(wq, code, "propose_revocation", reason="x", expected_version=1,
                   data={"revocation_reason": "relocated", "revocation_source": "complaint"})
    assert plain(show_enterprise(wq, code))["state"] == "assessing"


def test_time_never_goes_back_in_a_chain(make_ctx, world, clock):
    wq = make_ctx("wq")
    clock.set(at("2023-07-01"))
    fire_event(wq, world.wuqing[0], "open_assessment", reason="x", via_service=True)
    earlier = make_ctx("wq")
    earlier.clock = type(clock)(at("2023-06-15"))
    with pytest.raises(InvalidInput, match="time never goes back"):
        fire_event(earlier, world.wuqing[0], "summon", reason="x")


def test_batch_fires_many_in_one_transaction_and_reports_refusals(make_ctx, world):
    wq = make_ctx("wq")
    before = audit_count(wq)
    requests = [FireRequest(code, "open_assessment", "批量启动评估") for code in world.wuqing]
    requests.append(FireRequest(world.hexi[0], "open_assessment", "不在本区"))
    requests.append(FireRequest(world.wuqing[0], "revoke", "不允许"))
    result = fire_many(wq, requests, via_service=True)
    assert [f.credit_code for f in result.fired] == world.wuqing
    assert [r.credit_code for r, _ in result.refused] == [world.hexi[0], world.wuqing[0]]
    assert audit_count(wq) == before + len(world.wuqing)


def test_batch_applies_several_events_to_one_enterprise_in_order(make_ctx, world):
    wq = make_ctx("wq")
    code = world.wuqing[0]
    result = fire_many(wq, [
        FireRequest(code, "open_assessment", "启动"),
        FireRequest(code, "record_assessment", "结果", {"result": "良", "findings": "1", "major_hazards": "0"}),
        FireRequest(code, "summon", "约谈"),
    ], strict=True, via_service=True)
    assert [f.version for f in result.fired] == [2, 3, 4]
    assert plain(show_enterprise(wq, code))["state"] == "interview"


def test_strict_batch_writes_nothing_when_one_is_refused(make_ctx, world):
    wq = make_ctx("wq")
    before = audit_count(wq)
    with pytest.raises(EventNotAllowed):
        fire_many(wq, [FireRequest(world.wuqing[0], "open_assessment", "ok"),
                       FireRequest(world.wuqing[1], "revoke", "not allowed")], strict=True, via_service=True)
    assert audit_count(wq) == before
    assert plain(show_enterprise(wq, world.wuqing[0]))["state"] == "graded"


def test_enterprise_show_as_of_rebuilds_the_past(make_ctx, world, clock):
    wq = make_ctx("wq")
    code = world.wuqing[0]
    clock.set(at("2023-07-01"))
    assess(wq, code, "良", 2, 0)
    clock.advance(timedelta(days=3))
    fire_event(wq, code, "summon", reason="约谈")
    past = plain(show_enterprise(wq, code, as_of=at("2023-07-02")))
    assert (past["state"], past["version"], past["open_findings"]) == ("rectifying", 3, 2)
    assert plain(show_enterprise(wq, code, as_of=at("2023-06-01 09:00")))["state"] == "graded"
    with pytest.raises(NotFound, match="no enterprise with credit code"):
        plain(show_enterprise(wq, code, as_of=at("2020-01-01")))


def test_credit_codes_are_normalised_in_batches_too(make_ctx, world):
    wq = make_ctx("wq")
    result = fire_many(wq, [FireRequest(f" {world.wuqing[0].lower()} ", "open_assessment", "评估")], strict=True,
                       via_service=True)
    assert result.fired[0].credit_code == world.wuqing[0]


def test_a_large_batch_takes_a_checkpoint(make_ctx, world):
    from safegrade.services.auditing import verify_audit

    wq = make_ctx("wq")
    wq.settings = wq.settings.model_copy(update={"audit": wq.settings.audit.model_copy(
        update={"checkpoint_every_events": 3})})
    fire_many(wq, [FireRequest(code, "open_assessment", "评估") for code in world.wuqing], strict=True,
              via_service=True)
    report = verify_audit(wq)
    assert report.checkpoints == 1
    assert report.ok


@pytest.mark.parametrize(("event", "via"), [("open_assessment", "campaign open"),
                                            ("record_assessment", "assess import")])
def test_events_with_derived_data_are_not_fired_by_hand(make_ctx, world, event, via):
    with pytest.raises(Forbidden, match=f"recorded by `safegrade {via}`.*not fired by hand"):
        fire_event(make_ctx("wq"), world.wuqing[0], event, reason="手工录入",
                   data={"result": "优", "findings": 0, "major_hazards": 0} if event == "record_assessment" else {})


REASONS = ("poor_operation", "major_hazard_overdue", "relocated", "deregistered", "not_gongmao", "false_materials",
           "fatal_accident", "serious_violation", "concealed_accident")
SOURCES = ("assessment", "daily_inspection", "enforcement", "complaint", "ledger_review")


@pytest.mark.parametrize("reason", REASONS)
def test_every_revocation_reason_of_the_rules_starts_a_publicity_period(make_ctx, world, rules, reason):
    assert tuple(rules.revocation_reasons) == REASONS
    assert tuple(rules.revocation_sources) == SOURCES
    source = SOURCES[REASONS.index(reason) % len(SOURCES)]
    fired = fire_event(make_ctx("wq"), world.wuqing[0], "propose_revocation", reason=rules.revocation_reasons[reason],
                       data={"revocation_reason": reason, "revocation_source": source})
    assert fired.to_state == "revocation_pending"
    assert fired.changes["revocation_reason"] == reason
    assert fired.changes["publicity_ends_on"] > date(2023, 6, 1)
