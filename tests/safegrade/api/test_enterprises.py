"""The enterprise routes, every role × in and out of its scope, through both doors (session cookie and bearer
token): what is allowed has its effect and its audit event (actor, source, session or token id); what is
refused answers 401/403/404 and writes nothing."""

from __future__ import annotations

import json

import pytest

from tests.safegrade.api.conftest import PREFIX, ROLES

# role → which of e1 (district A) and e2 (district B) it may read
READS: dict[str, dict[str, int]] = {
    "bureau": {"e1": 200, "e2": 200},
    "district_a": {"e1": 200, "e2": 404},
    "district_b": {"e1": 404, "e2": 200},
    "enterprise_e1": {"e1": 200, "e2": 404},
    "enterprise_e2": {"e1": 404, "e2": 200},
    "reviewer": {"e1": 200, "e2": 200},
}
# role → firing `summon` (district, bureau) on e1 and e2: an enterprise account and a reviewer may not fire
# it at all (403, decided before the enterprise is looked at); out of scope is 404, as missing
FIRES: dict[str, dict[str, int]] = {
    "bureau": {"e1": 200, "e2": 200},
    "district_a": {"e1": 200, "e2": 404},
    "district_b": {"e1": 404, "e2": 200},
    "enterprise_e1": {"e1": 403, "e2": 403},
    "enterprise_e2": {"e1": 403, "e2": 403},
    "reviewer": {"e1": 403, "e2": 403},
}
# what the list shows each role: (district A's 3, district B's 3) or one enterprise
LISTS: dict[str, set[str]] = {
    "bureau": {"e1", "a", "e2", "b"}, "reviewer": {"e1", "a", "e2", "b"},
    "district_a": {"e1", "a"}, "district_b": {"e2", "b"}, "enterprise_e1": {"e1"}, "enterprise_e2": {"e2"},
}
SUMMON = {"event": "summon", "reason": "约谈：评估发现问题", "data": {}}


def code_of(api, which: str) -> str:
    return {"e1": api.e1, "e2": api.e2}[which]


def expected_listing(api, role: str) -> set[str]:
    want = LISTS[role]
    out = set()
    if "a" in want:
        out |= set(api.a)
    if "b" in want:
        out |= set(api.b)
    if "e1" in want:
        out.add(api.e1)
    if "e2" in want:
        out.add(api.e2)
    return out


@pytest.mark.parametrize("role", list(ROLES))
def test_the_list_shows_each_role_its_scope(api, role):
    client = api.session(role)
    answer = client.get(f"{PREFIX}/enterprises", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    got = {e["credit_code"] for e in answer.json()["items"]}
    assert got == expected_listing(api, role)
    assert answer.json()["next"] is None


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("which", ["e1", "e2"])
@pytest.mark.parametrize("route", ["", "/timeline"])
def test_reading_one_enterprise_in_or_out_of_scope(api, role, which, route):
    client = api.session(role)
    code = code_of(api, which)
    answer = client.get(f"{PREFIX}/enterprises/{code}{route}")
    assert answer.status_code == READS[role][which], answer.text
    if answer.status_code == 404:  # answered as a missing one: same code, same shape
        missing = client.get(f"{PREFIX}/enterprises/91120114MA0000999X{route}").json()
        assert answer.json()["code"] == missing["code"] == "unknown_enterprise"
        assert answer.json()["title"] == missing["title"]
    elif route == "":
        assert answer.json()["credit_code"] == code
        assert answer.headers["ETag"] == f'"{answer.json()["version"]}"'
    else:
        assert answer.json()[0]["event"] == "register"


@pytest.mark.parametrize("door", ["session", "bearer"])
@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("which", ["e1", "e2"])
def test_firing_an_event_in_or_out_of_scope(api, role, which, door):
    client = api.client(role, door)
    code = code_of(api, which)
    before, events_before = api.counts(), api.events(code)
    answer = client.post(f"{PREFIX}/enterprises/{code}/events", json=SUMMON, headers={"If-Match": '"1"'})
    assert answer.status_code == FIRES[role][which], answer.text
    if answer.status_code != 200:
        assert answer.headers["content-type"] == "application/problem+json"
        assert api.counts() == before
        assert api.events(code) == events_before
        return
    fired = answer.json()
    assert fired["to_state"] == "interview"
    assert answer.headers["ETag"] == f'"{fired["version"]}"' == '"2"'
    event = api.events(code)[-1]
    assert event["event"] == "summon"
    assert event["actor"] == ROLES[role]
    assert event["source"] == ("web" if door == "session" else "api")
    via = client.get(f"{PREFIX}/me").json()["via"]
    assert via.startswith("session:" if door == "session" else "token:")
    assert json.loads(event["payload"])["by"] == {"via": via}


def test_firing_without_if_match_is_428_and_writes_nothing(api):
    client = api.session("bureau")
    before = api.counts()
    answer = client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON)
    assert answer.status_code == 428
    assert answer.json()["code"] == "precondition_required"
    assert api.counts() == before


def test_a_stale_if_match_is_412_with_the_current_etag(api):
    client = api.session("bureau")
    assert client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON,
                       headers={"If-Match": '"1"'}).status_code == 200
    before = api.counts()
    again = {"event": "hold_interview", "reason": "约谈", "data": {"attendees": "张三", "record": "记录"}}
    answer = client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=again, headers={"If-Match": '"1"'})
    assert answer.status_code == 412
    assert answer.json()["code"] == "version_moved"
    assert answer.headers["ETag"] == '"2"'
    assert api.counts() == before
    ok = client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=again, headers={"If-Match": answer.headers["ETag"]})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("if_match", ["W/\"1\"", "abc", "\"1\", \"2\""])
def test_an_if_match_that_is_not_a_version_is_refused(api, if_match):
    answer = api.session("bureau").post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON,
                                        headers={"If-Match": if_match})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["location"] == {"field": "If-Match", "file": None, "row": None, "column": None}


def test_a_refused_event_is_a_located_problem(api):
    body = {"event": "hold_interview", "reason": "约谈", "data": {"attendees": "张三", "record": "记录"}}  # not now
    answer = api.session("bureau").post(f"{PREFIX}/enterprises/{api.e1}/events", json=body, headers={"If-Match": "1"})
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["code"] == "event_not_allowed"
    assert problem["type"] == "/problems/event_not_allowed"
    assert problem["title"] == "当前状态下不能进行此操作"


def test_as_of_reads_the_enterprise_as_it_stood(api):
    client = api.session("bureau")
    before = api.clock.now()
    api.clock.advance(minutes=1)
    fired = client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON, headers={"If-Match": "1"})
    assert fired.status_code == 200
    now = client.get(f"{PREFIX}/enterprises/{api.e1}").json()
    then = client.get(f"{PREFIX}/enterprises/{api.e1}", params={"as_of": before.isoformat()})
    assert now["state"] == "interview"
    assert then.status_code == 200
    assert then.json()["state"] == "graded"
    assert then.json()["as_of"] == before.isoformat()
    assert then.headers["ETag"] == '"1"'
    timeline = client.get(f"{PREFIX}/enterprises/{api.e1}/timeline", params={"as_of": before.isoformat()}).json()
    assert [e["event"] for e in timeline] == ["register"]
    bad = client.get(f"{PREFIX}/enterprises/{api.e1}", params={"as_of": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["location"]["field"] == "as_of"


def test_list_filters_and_pages_over_http(api):
    client = api.session("bureau")
    first = client.get(f"{PREFIX}/enterprises", params={"limit": 4}).json()
    assert len(first["items"]) == 4
    second = client.get(f"{PREFIX}/enterprises", params={"limit": 4, "after": first["next"]}).json()
    assert second["next"] is None
    assert len(second["items"]) == 2
    assert client.get(f"{PREFIX}/enterprises", params={"district": "武清"}).json()["items"][0]["district"] == "120114"
    assert client.get(f"{PREFIX}/enterprises", params={"q": api.e2[:12]}).json()["items"][0]["credit_code"] == api.e2
    too_many = client.get(f"{PREFIX}/enterprises", params={"limit": 201})
    assert too_many.status_code == 422
    assert too_many.json()["code"] == "request_invalid"
    bad = client.get(f"{PREFIX}/enterprises", params={"after": "?"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"


def test_an_anonymous_caller_gets_401_everywhere_and_writes_nothing(api):
    client = api.anonymous()
    before = api.counts()
    for method, path in (("GET", "/enterprises"), ("GET", f"/enterprises/{api.e1}"),
                         ("GET", f"/enterprises/{api.e1}/timeline"), ("POST", f"/enterprises/{api.e1}/events"),
                         ("GET", "/me")):
        answer = client.request(method, f"{PREFIX}{path}", json=SUMMON if method == "POST" else None,
                                headers={"If-Match": "1"})
        assert answer.status_code == 401, (method, path)
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert api.counts() == before
