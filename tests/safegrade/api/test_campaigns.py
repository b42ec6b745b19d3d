"""The campaign routes, every role in and out of its scope: the list, opening one (all, a district, or codes
with each bad code located), its status, and excluding a member; allowed → the effect and its audit events,
refused → 401/403/404 and nothing written."""

from __future__ import annotations

from datetime import date

from safegrade.services.campaign import open_campaign
from tests.conftest import at
from tests.safegrade.api.conftest import PREFIX, ROLES
from tests.safegrade.api.factories import CAMPAIGN, DOOR_OF, ROLE_NAMES, assert_audited, events_of

READERS = {"bureau": 200, "district_a": 200, "district_b": 200, "enterprise_e1": 403, "enterprise_e2": 403,
           "reviewer": 200}
OPENERS = {"bureau": 201, "district_a": 403, "district_b": 403, "enterprise_e1": 403, "enterprise_e2": 403,
           "reviewer": 403}
EXCLUDERS = {"bureau": (201, 201), "district_a": (201, 404), "district_b": (404, 201), "enterprise_e1": (403, 403),
             "enterprise_e2": (403, 403), "reviewer": (403, 403)}
BODY = {"starts_on": "2023-06-01", "ends_on": "2023-08-31", "ledger_due_on": "2023-12-15"}


def test_each_role_opens_a_campaign_only_if_it_may_and_the_opening_is_audited(api):
    for n, role in enumerate(ROLE_NAMES):
        client = api.client(role, DOOR_OF[role])
        before = api.counts()
        answer = client.post(f"{PREFIX}/campaigns", json={**BODY, "name": f"批次{n}", "codes": [api.e1]})
        assert answer.status_code == OPENERS[role], (role, answer.text)
        if answer.status_code == 201:
            assert (answer.json()["campaign"], answer.json()["selected"]) == (f"批次{n}", 1)
            assert_audited(api, client, api.e1, "open_assessment", ROLES[role], DOOR_OF[role])
        else:
            assert api.counts() == before


def test_opening_with_unknown_codes_locates_each_and_writes_nothing(api):
    client = api.bearer("bureau")
    before = api.counts()
    answer = client.post(f"{PREFIX}/campaigns", json={**BODY, "name": "批次", "codes": [api.e1, "911201XX", api.e2,
                                                                                     "91120114MA0000099Z"]})
    assert answer.status_code == 422, answer.text
    assert [(e["location"]["file"], e["location"]["row"]) for e in answer.json()["errors"]] == [
        ("codes", 2), ("codes", 4)]
    assert "safegrade-codes" not in answer.text
    assert api.counts() == before
    both = client.post(f"{PREFIX}/campaigns", json={**BODY, "name": "批次", "all": True, "district": "武清区"})
    assert both.status_code == 422
    assert both.json()["code"] == "choose_one"
    assert api.counts() == before
    by_district = client.post(f"{PREFIX}/campaigns", json={**BODY, "name": "武清批次", "district": "武清区"})
    assert by_district.status_code == 201
    assert by_district.json()["selected"] == len(api.a)


def test_each_role_reads_the_list_and_status(api):
    open_campaign(api.ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        listed = client.get(f"{PREFIX}/campaigns")
        assert listed.status_code == READERS[role], (role, listed.text)
        status = client.get(f"{PREFIX}/campaigns/{CAMPAIGN}/status")
        assert status.status_code == READERS[role], (role, status.text)
        if READERS[role] == 200:
            assert [c["name"] for c in listed.json()] == [CAMPAIGN]
            selected = {"district_a": len(api.a), "district_b": len(api.b)}.get(role, len(api.a) + len(api.b))
            assert status.json()["total"]["selected"] == selected  # a district officer: its district's
            assert client.get(f"{PREFIX}/campaigns/no-such/status").status_code == 404
    assert api.anonymous().get(f"{PREFIX}/campaigns").status_code == 401


def test_each_role_excludes_a_member_only_in_its_scope(api):
    open_campaign(api.ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    api.clock.set(at("2023-06-20 10:00"))
    codes = {"e1": list(api.a), "e2": list(api.b)}  # one member each time an exclusion is allowed
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        for which, status in zip(("e1", "e2"), EXCLUDERS[role], strict=True):
            code = codes[which][0]
            before = api.counts()
            answer = client.post(f"{PREFIX}/campaigns/{CAMPAIGN}/exclusions",
                                 json={"credit_code": code, "reason": "deregistered", "note": "注销公告"})
            assert answer.status_code == status, (role, which, answer.text)
            if status == 201:
                assert answer.json()["event"] == "exclude"
                assert events_of(api, code)[-1]["actor"] == ROLES[role]
                assert_audited(api, client, code, "exclude", ROLES[role], DOOR_OF[role])
                codes[which].pop(0)
            else:
                assert api.counts() == before
