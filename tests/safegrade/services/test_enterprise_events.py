"""`enterprise show` lists the events the acting actor could fire now (issue 10, item 6): role, scope and the
guards judged on the enterprise as it stands; events that need data are judged as "needs fields X"; for every
other event of the state it says why not. Without an actor the guards alone are judged, and it says so."""

from __future__ import annotations

import pytest

from safegrade.errors import NotFound
from safegrade.services.enterprise import show_enterprise
from tests.conftest import at
from tests.factories import DEDUCTIONS, assess, campaign_world, plain


@pytest.fixture
def world(make_ctx, tmp_path):
    return campaign_world(make_ctx, tmp_path)


def choices(shown: dict) -> dict[str, dict]:
    return {c["event"]: c for c in shown["events"]}


def test_close_refused_by_its_guard_is_not_listed_as_available(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS)  # 整改中, one finding open
    shown = plain(show_enterprise(make_ctx("wq"), code))
    assert shown["state"] == "rectifying"
    assert "close" not in shown["allowed_events"]
    close = choices(shown)["close"]
    assert close["available"] is False
    assert close["refused_by"] == "guard"
    assert "all_findings_verified" in close["reason"]
    assert "1 finding(s) not yet verified" in close["reason"]
    assert close["reason"].startswith("守卫条件不满足")


def test_the_events_of_the_state_are_judged_for_the_actor(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS)
    wq = plain(show_enterprise(make_ctx("wq"), code))
    assert wq["judged_for"] == "wq"
    # in the rules' order; renew during a case is an internal transition (the state stays)
    assert wq["allowed_events"] == ["summon", "escalate", "propose_revocation", "exclude", "renew"]
    c = choices(wq)
    assert list(c) == ["summon", "close", "escalate", "propose_revocation", "exclude", "expire", "renew"]
    assert (c["summon"]["needs"], c["summon"]["reason"]) == ([], None)
    assert c["propose_revocation"]["needs"] == ["revocation_reason", "revocation_source"]
    assert c["propose_revocation"]["reason"] == \
        "需填写字段：revocation_reason（撤销事由）、revocation_source（线索来源）"
    assert (c["expire"]["available"], c["expire"]["refused_by"]) == (False, "guard")
    # an officer of another district does not see it at all: not found, as a missing one (issue 11)
    with pytest.raises(NotFound, match=f"^no enterprise with credit code {code}; "):
        show_enterprise(make_ctx("hx"), code)
    # the enterprise itself may fire nothing of the lifecycle: role
    rev = plain(show_enterprise(make_ctx("rev"), code))
    assert rev["allowed_events"] == []
    assert {x["refused_by"] for x in rev["events"]} == {"role"}
    assert all(x["reason"].startswith("角色不允许") for x in rev["events"])


def test_without_an_actor_only_the_guards_are_judged_and_it_says_so(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS)
    shown = plain(show_enterprise(make_ctx(None), code))
    assert shown["judged_for"] is None
    assert "未指定操作人" in shown["judgement"]
    assert "close" not in shown["allowed_events"]
    assert shown["allowed_events"] == ["summon", "escalate", "propose_revocation", "exclude", "renew"]


def test_events_recorded_by_their_use_case_are_not_offered(make_ctx, world):
    code = world.wuqing[0]  # 评估中 since the campaign opened
    shown = plain(show_enterprise(make_ctx("boss"), code))
    record = choices(shown)["record_assessment"]
    assert record["available"] is False
    assert record["refused_by"] == "via"
    assert "safegrade assess import" in record["reason"]
    assert "record_assessment" not in shown["allowed_events"]


def test_data_dependent_guards_wait_for_the_data(make_ctx, world):
    code = world.hexi[0]
    shown = plain(show_enterprise(make_ctx("boss"), code))  # 评估中: renew during a case needs its fields
    renew = choices(shown)["renew"]
    assert renew["available"] is True
    assert renew["needs"] == ["valid_until", "certificate_no"]
    expire = choices(shown)["expire"]  # validity until 2025-02-28: refused by its guard
    assert (expire["available"], expire["refused_by"]) == (False, "guard")
    assert "validity_ended" in expire["reason"]


def test_an_unknown_actor_is_refused(make_ctx, world):
    with pytest.raises(NotFound, match="ghost"):
        show_enterprise(make_ctx("ghost"), world.wuqing[0])


def test_the_past_is_judged_as_it_stood(make_ctx, world, tmp_path, clock):
    code = world.wuqing[0]
    assess(make_ctx, tmp_path, clock, code, DEDUCTIONS)
    then = plain(show_enterprise(make_ctx("wq"), code, as_of=at("2023-06-20 12:00")))
    assert then["state"] == "assessing"
    assert then["allowed_events"] == ["propose_revocation", "exclude", "renew"]
    assert [e["event"] for e in then["events"] if not e["available"]] == ["record_assessment", "expire"]
