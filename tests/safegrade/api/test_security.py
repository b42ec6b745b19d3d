"""Security properties of every answer: CSRF on a session's changes, the security headers on successes,
problems and unknown routes, and markup in data returned as JSON text, never rendered."""

from __future__ import annotations

import pytest

from safegrade.services.ledger import import_ledger
from tests.factories import row, write_ledger
from tests.safegrade.api.conftest import PREFIX

SUMMON = {"event": "summon", "reason": "约谈", "data": {}}
HEADERS = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize("csrf", [None, "", "wrong-token", "t\u00f6k\u00e9n".encode()])
def test_a_session_change_without_its_csrf_token_is_refused_and_writes_nothing(api, csrf):
    client = api.session("bureau")
    del client.headers["X-CSRF-Token"]
    headers = {"If-Match": "1"} | ({} if csrf is None else {"X-CSRF-Token": csrf})
    before = api.counts()
    answer = client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["code"] == "csrf_failed"
    assert api.counts() == before
    assert client.get(f"{PREFIX}/enterprises/{api.e1}").json()["version"] == 1  # reads need none


def test_the_csrf_token_of_another_session_is_refused(api):
    mine, other = api.session("bureau"), api.session("bureau")
    mine.headers["X-CSRF-Token"] = other.headers["X-CSRF-Token"]
    before = api.counts()
    assert mine.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON,
                     headers={"If-Match": "1"}).status_code == 403
    assert api.counts() == before


def test_a_bearer_token_needs_no_csrf_token(api):
    answer = api.bearer("bureau").post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON,
                                       headers={"If-Match": "1"})
    assert answer.status_code == 200


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/enterprises", 200),
    ("GET", "/enterprises/91120114MA0000999X", 404),
    ("GET", "/no/such/route", 404),
    ("DELETE", "/enterprises", 405),
    ("GET", "/enterprises?limit=0", 422),
    ("POST", "/enterprises/{e1}/events", 428),
    ("GET", "/openapi.json", 200),
])
def test_every_answer_carries_the_security_headers(api, method, path, status):
    answer = api.session("bureau").request(method, f"{PREFIX}{path.format(e1=api.e1)}",
                                           json=SUMMON if method == "POST" else None)
    assert answer.status_code == status
    for name, value in HEADERS.items():
        assert value in answer.headers[name], name
    assert answer.headers["cache-control"] == "no-store"
    if status >= 400:
        assert answer.headers["content-type"] == "application/problem+json"


def test_the_security_headers_are_on_an_anonymous_refusal_too(api):
    answer = api.anonymous().get(f"{PREFIX}/enterprises")
    assert answer.status_code == 401
    for name, value in HEADERS.items():
        assert value in answer.headers[name]


def test_markup_in_an_enterprise_name_comes_back_as_json_text(api, tmp_path):
    payload = "<script>alert(1)</script>"
    ledger = write_ledger(tmp_path / "xss.csv", [row(77, "武清区", 企业名称=f"天津市{payload}有限公司")])
    import_ledger(api.ctx("boss"), [ledger])
    client = api.session("bureau")
    found = client.get(f"{PREFIX}/enterprises", params={"q": "<script>"})
    assert found.status_code == 200
    assert found.headers["content-type"] == "application/json"
    assert found.headers["x-content-type-options"] == "nosniff"
    [item] = found.json()["items"]
    assert item["name"] == f"天津市{payload}有限公司"
    detail = client.get(f"{PREFIX}/enterprises/{item['credit_code']}")
    assert detail.headers["content-type"] == "application/json"
    assert detail.json()["name"] == f"天津市{payload}有限公司"
    assert "default-src 'self'" in detail.headers["content-security-policy"]


def test_the_openapi_document_names_both_security_schemes_and_the_problem_shape(api):
    doc = api.anonymous().get(f"{PREFIX}/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["session"]["in"] == "cookie"
    assert "ProblemDetails" in doc["components"]["schemas"]
    fire = doc["paths"][f"{PREFIX}/enterprises/{{code}}/events"]["post"]
    assert {"412", "428"} <= set(fire["responses"])
    assert "EnterprisePage" in doc["components"]["schemas"]


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/auth/sign-in", {"name": "wq\u0000", "password": "x"}, "body.name"),
    ("POST", "/enterprises/{e1}/events", {"event": "summon", "reason": "a\u0000b", "data": {}}, "body.reason"),
    ("POST", "/enterprises/{e1}/events", {"event": "summon", "reason": "r", "data": {"k\u0000": 1}}, "body.data"),
    ("GET", "/enterprises?q=%00", None, "query"),
    ("GET", "/enterprises/9112%0001", None, "path"),
])
def test_a_nul_character_anywhere_is_invalid_input_and_writes_nothing(api, method, path, body, field):
    before = api.counts()
    answer = api.session("bureau").request(method, f"{PREFIX}{path.format(e1=api.e1)}", json=body,
                                           headers={"If-Match": "1"})
    assert answer.status_code == 422
    assert answer.json()["code"] == "nul_character"
    assert answer.json()["errors"][0]["location"]["field"] == field
    assert answer.headers["x-frame-options"] == "DENY"
    assert api.counts() == before
