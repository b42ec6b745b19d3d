"""Signing in and out over HTTP: the cookie's flags, a new session id at each sign-in, sign-out revoking, the
session's idle and absolute expiry (by the test clock), one generic refusal for any wrong credential, lockout
with Retry-After and its expiry, the forced change of a one-time password, and /me."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest

from safegrade.api.app import create_app
from safegrade.services.context import Context
from tests.safegrade.api.conftest import PASSWORD, PREFIX, ROLES

SUMMON = {"event": "summon", "reason": "约谈", "data": {}}


def set_cookie(answer) -> SimpleCookie:
    cookie = SimpleCookie()
    cookie.load(answer.headers["set-cookie"])
    return cookie


def test_sign_in_sets_an_httponly_samesite_cookie_for_the_whole_site_that_is_not_secure_over_http(api):
    answer = api.sign_in(api.anonymous(), "wq")
    assert answer.status_code == 200, answer.text
    morsel = set_cookie(answer)["sg_session"]
    assert morsel["httponly"]
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"]
    body = answer.json()
    assert int(morsel["max-age"]) == pytest.approx(_seconds_until(api, body["expires_at"]), abs=2)
    assert set(body) == {"actor", "role", "csrf_token", "expires_at", "must_change_password"}
    assert body["actor"] == "wq"
    assert body["role"] == "district"
    assert body["must_change_password"] is False
    assert morsel.value not in answer.text  # the session's secret is only in the cookie


def _seconds_until(api, iso: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(iso) - api.clock.now()).total_seconds()


def test_the_cookie_is_secure_when_the_base_url_is_https(api):
    base = api.ctx()
    web = base.settings.web.model_copy(update={"base_url": "https://safegrade.example.gov.cn"})
    settings = base.settings.model_copy(update={"web": web})
    app = create_app(context=Context(settings, base.rules, base.store, base.clock, source="api"))
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as client:
        answer = client.post(f"{PREFIX}/auth/sign-in", json={"name": "wq", "password": PASSWORD})
        assert answer.status_code == 200
        assert set_cookie(answer)["sg_session"]["secure"]
        assert "max-age=31536000" in answer.headers["strict-transport-security"]


def test_each_sign_in_starts_a_new_session_and_ends_the_one_the_cookie_held(api):
    client = api.anonymous()
    first = set_cookie(api.sign_in(client, "wq"))["sg_session"].value
    second = set_cookie(api.sign_in(client, "wq"))["sg_session"].value
    assert first != second
    old = api.anonymous(cookies={"sg_session": first})
    assert old.get(f"{PREFIX}/me").status_code == 401
    new = api.anonymous(cookies={"sg_session": second})
    assert new.get(f"{PREFIX}/me").status_code == 200


def test_sign_out_revokes_the_session_and_clears_the_cookie(api):
    client = api.session("district_a")
    cookie = client.cookies.get("sg_session")
    assert client.get(f"{PREFIX}/me").status_code == 200
    answer = client.post(f"{PREFIX}/auth/sign-out")
    assert answer.status_code == 204
    assert 'sg_session=""' in answer.headers["set-cookie"] or "Max-Age=0" in answer.headers["set-cookie"]
    replay = api.anonymous(cookies={"sg_session": cookie})
    assert replay.get(f"{PREFIX}/me").status_code == 401
    # and again, with the session gone: the cookie is only cleared
    assert replay.post(f"{PREFIX}/auth/sign-out").status_code == 204


def test_sign_out_of_a_live_session_needs_its_csrf_token(api):
    client = api.session("district_a")
    del client.headers["X-CSRF-Token"]
    answer = client.post(f"{PREFIX}/auth/sign-out")
    assert answer.status_code == 403
    assert answer.json()["code"] == "csrf_failed"
    assert client.get(f"{PREFIX}/me").status_code == 200


def test_a_session_ends_after_its_idle_time(api):
    client = api.session("district_a")
    idle = api.ctx().settings.web.session_idle_minutes
    api.clock.advance(minutes=idle - 1)
    assert client.get(f"{PREFIX}/me").status_code == 200  # use refreshes the idle time
    api.clock.advance(minutes=idle - 1)
    assert client.get(f"{PREFIX}/me").status_code == 200
    api.clock.advance(minutes=idle + 1)
    answer = client.get(f"{PREFIX}/me")
    assert answer.status_code == 401
    assert answer.json()["code"] in ("session_expired", "not_signed_in")


def test_a_session_ends_at_its_absolute_lifetime_however_busy(api):
    client = api.session("district_a")
    web = api.ctx().settings.web
    step = max(1, web.session_idle_minutes // 2)
    for _ in range(web.session_absolute_hours * 60 // step - 1):
        api.clock.advance(minutes=step)
        assert client.get(f"{PREFIX}/me").status_code == 200
    api.clock.advance(minutes=step + 1)
    assert client.get(f"{PREFIX}/me").status_code == 401


@pytest.mark.parametrize(("name", "password"), [("wq", "wrong-Password-1"), ("nobody", PASSWORD), ("system", PASSWORD),
                                                ("wq", "x")])
def test_every_wrong_credential_gets_the_same_401(api, name, password):
    answer = api.sign_in(api.anonymous(), name, password)
    assert answer.status_code == 401
    problem = answer.json()
    assert problem["code"] == "bad_credentials"
    assert problem["title"] == "账号或密码错误"
    reference = api.sign_in(api.anonymous(), "nobody-else", "whatever-Password-9").json()
    assert problem["detail"] == reference["detail"]
    assert "set-cookie" not in answer.headers


def test_repeated_failures_lock_the_account_with_retry_after_until_the_lock_expires(api):
    client = api.anonymous()
    for _ in range(30):
        answer = api.sign_in(client, "wq", "wrong-Password-1")
        if answer.status_code == 429:
            break
        assert answer.status_code == 401
    assert answer.status_code == 429
    assert answer.json()["code"] == "locked"
    wait = int(answer.headers["Retry-After"])
    assert wait > 0
    # locked: even the right password is refused
    assert api.sign_in(client, "wq").status_code == 429
    api.clock.advance(seconds=wait + 1)
    assert api.sign_in(client, "wq").status_code == 200


def test_a_one_time_password_must_be_changed_before_anything_else(api):
    once = api.fresh_account("newbie", "district", district="武清")
    client = api.anonymous()
    signed = api.sign_in(client, "newbie", once)
    assert signed.status_code == 200
    assert signed.json()["must_change_password"] is True
    client.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
    me = client.get(f"{PREFIX}/me")
    assert me.status_code == 200
    assert me.json()["must_change_password"] is True
    blocked = client.get(f"{PREFIX}/enterprises")
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "password_change_required"
    before = api.counts()
    fire = client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON, headers={"If-Match": "1"})
    assert fire.status_code == 403
    assert api.counts() == before
    changed = client.post(f"{PREFIX}/auth/password", json={"old_password": once, "new_password": "Tjsg-2024!fresh"})
    assert changed.status_code == 204, changed.text
    assert client.get(f"{PREFIX}/me").json()["must_change_password"] is False
    assert client.get(f"{PREFIX}/enterprises").status_code == 200


def test_changing_a_password_needs_the_old_one_and_the_csrf_token(api):
    client = api.session("district_a")
    wrong = client.post(f"{PREFIX}/auth/password", json={"old_password": "not-it-A1!", "new_password": "Other-2023!pw"})
    assert wrong.status_code in (401, 403, 422)
    del client.headers["X-CSRF-Token"]
    no_csrf = client.post(f"{PREFIX}/auth/password", json={"old_password": PASSWORD, "new_password": "Other-2023!pw"})
    assert no_csrf.status_code == 403
    assert no_csrf.json()["code"] == "csrf_failed"
    assert api.sign_in(api.anonymous(), "wq").status_code == 200  # the old password still works


@pytest.mark.parametrize("door", ["session", "bearer"])
@pytest.mark.parametrize("role", list(ROLES))
def test_me_says_who_i_am_and_how(api, role, door):
    me = api.client(role, door).get(f"{PREFIX}/me")
    assert me.status_code == 200
    body = me.json()
    assert body["actor"] == ROLES[role]
    assert body["source"] == ("web" if door == "session" else "api")
    assert body["via"].startswith("session:" if door == "session" else "token:")
    assert (body["csrf_token"] is None) == (door == "bearer")
    assert body["role_label"]
    if role == "district_a":
        assert (body["district"], body["district_name"]) == ("120114", "武清区")
    if role == "enterprise_e1":
        assert body["enterprise_code"] == api.e1


def test_a_bearer_token_expires_and_can_be_revoked(api):
    from safegrade.auth import issue_token, revoke_token

    issued = issue_token(api.ctx("boss"), "wq", expires_in=timedelta(hours=1), label="short")
    client = api.anonymous(headers={"Authorization": f"Bearer {issued.token}"})
    assert client.get(f"{PREFIX}/me").status_code == 200
    api.clock.advance(hours=1, seconds=1)
    expired = client.get(f"{PREFIX}/me")
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"
    other = issue_token(api.ctx("boss"), "wq", expires_in=timedelta(days=1))
    client.headers["Authorization"] = f"Bearer {other.token}"
    assert client.get(f"{PREFIX}/me").status_code == 200
    revoke_token(api.ctx("boss"), other.id)
    before = api.counts()
    assert client.post(f"{PREFIX}/enterprises/{api.e1}/events", json=SUMMON,
                       headers={"If-Match": "1"}).status_code == 401
    assert api.counts() == before


@pytest.mark.parametrize("header", ["Basic d3E6cHc=", "Bearer", "Bearer not-a-token", "Token abc"])
def test_a_malformed_or_unknown_authorization_is_401(api, header):
    answer = api.anonymous(headers={"Authorization": header}).get(f"{PREFIX}/me")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
