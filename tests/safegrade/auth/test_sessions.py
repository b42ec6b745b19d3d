"""Sign-in, sessions, lockout, passwords changed and reset, disabled accounts (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from safegrade import auth
from safegrade.errors import Forbidden, InvalidInput, Locked, Unauthenticated
from tests.safegrade.auth.conftest import PASSWORD


def refused(call, *args):
    with pytest.raises(Unauthenticated) as caught:
        call(*args)
    return caught.value


def events(console, kind=None, actor=None):
    return [(e.kind, e.subject, e.detail) for e in reversed(auth.list_security_events(console, kind=kind, actor=actor))]


@pytest.mark.usefixtures("people")
def test_a_sign_in_opens_a_session_the_cookie_proves(web, clock):
    signed = auth.sign_in(web(), "wq", PASSWORD)
    assert (signed.actor, signed.role, signed.must_change_password) == ("wq", "district", False)
    assert signed.expires_at == clock.now() + timedelta(hours=8)
    assert signed.idle_expires_at == clock.now() + timedelta(minutes=30)
    who = auth.authenticate_session(web(), signed.session_token)
    assert (who.actor, who.role, who.district, who.enterprise_code, who.source) == ("wq", "district", "120114", None,
                                                                                    "web")
    assert who.via.startswith("session:")
    assert signed.session_token not in who.via
    assert who.csrf_token == signed.csrf_token


def test_a_one_time_password_must_be_changed(boss, console, web):
    auth.add_account(boss, "ent", "enterprise", enterprise_code="91120114MA00000017")
    once = auth.set_one_time_password(console, "ent")
    assert once.must_change
    signed = auth.sign_in(web(), "ent", once.password)
    assert signed.must_change_password
    assert auth.authenticate_session(web(), signed.session_token).must_change_password


@pytest.mark.parametrize(("name", "password"), [
    ("wq", "Wrong-Passw0rd!"),  # wrong password
    ("nobody", PASSWORD),  # unknown account
    ("system", PASSWORD),  # the system actor never signs in
    ("nopass", PASSWORD),  # no password set
    ("gone", PASSWORD),  # disabled
    ("", ""),
])
@pytest.mark.usefixtures("people")
def test_every_refused_sign_in_says_the_same(boss, console, web, name, password):
    auth.add_account(boss, "nopass", "reviewer")
    auth.add_account(boss, "gone", "reviewer")
    auth.set_one_time_password(console, "gone")
    auth.disable_account(console, "gone")
    error = refused(auth.sign_in, web(), name, password)
    assert (error.code, str(error)) == ("bad_credentials", "wrong account name or password (账号或密码错误)")
    assert events(console, "sign_in_failed")[-1][:2] == ("sign_in_failed", name)


@pytest.mark.usefixtures("people")
def test_a_new_session_at_each_sign_in(web):
    first = auth.sign_in(web(), "wq", PASSWORD)
    second = auth.sign_in(web(), "wq", PASSWORD)
    assert first.session_token != second.session_token
    assert first.csrf_token != second.csrf_token
    assert auth.authenticate_session(web(), first.session_token).via != \
        auth.authenticate_session(web(), second.session_token).via


@pytest.mark.usefixtures("people")
def test_lockout_after_n_failures_and_its_expiry(console, web, clock):
    for _ in range(5):
        assert refused(auth.sign_in, web(), "wq", "Wrong-Passw0rd!").code == "bad_credentials"
    with pytest.raises(Locked) as locked:
        auth.sign_in(web("10.9.9.9"), "wq", PASSWORD)  # the right password, from anywhere
    assert locked.value.code == "locked"
    assert locked.value.value == clock.now() + timedelta(minutes=15)
    assert [a.locked_until for a in auth.list_accounts(console) if a.name == "wq"] == [locked.value.value]
    assert events(console, "locked")[-1][2]["scope"] == "account"
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(Locked):
        auth.sign_in(web(), "wq", PASSWORD)
    clock.advance(seconds=1)
    assert auth.sign_in(web(), "wq", PASSWORD).actor == "wq"


@pytest.mark.usefixtures("people")
def test_failures_outside_the_window_do_not_count_and_a_sign_in_resets(web, clock):
    for _ in range(4):
        refused(auth.sign_in, web(), "wq", "Wrong-Passw0rd!")
    clock.advance(minutes=16)  # those four fell out of the window
    for _ in range(4):
        refused(auth.sign_in, web(), "wq", "Wrong-Passw0rd!")
    auth.sign_in(web(), "wq", PASSWORD)  # resets the count
    for _ in range(4):
        refused(auth.sign_in, web(), "wq", "Wrong-Passw0rd!")
    assert auth.sign_in(web(), "wq", PASSWORD).actor == "wq"


@pytest.mark.usefixtures("people")
def test_an_unknown_name_is_locked_like_a_known_one(web):
    for _ in range(5):
        refused(auth.sign_in, web(), "nobody", "x")
    with pytest.raises(Locked):
        auth.sign_in(web(), "nobody", "x")


@pytest.mark.parametrize("web_settings", [{"lockout": {"per_client_max_failures": 3}}])
@pytest.mark.usefixtures("people")
def test_a_client_address_is_locked_whatever_names_it_tries(console, web, clock):
    for name in ("a", "b", "c"):
        refused(auth.sign_in, web("10.6.6.6"), name, "x")
    with pytest.raises(Locked):
        auth.sign_in(web("10.6.6.6"), "wq", PASSWORD)
    assert events(console, "locked")[-1][2]["scope"] == "client"
    assert auth.sign_in(web("10.0.0.2"), "wq", PASSWORD).actor == "wq"  # another address is not locked
    clock.advance(minutes=15)
    assert auth.sign_in(web("10.6.6.6"), "wq", PASSWORD).actor == "wq"


@pytest.mark.usefixtures("people")
def test_a_session_ends_after_its_idle_time(console, web, clock):
    signed = auth.sign_in(web(), "wq", PASSWORD)
    clock.advance(minutes=29)
    auth.authenticate_session(web(), signed.session_token)  # moves the idle end forward
    clock.advance(minutes=29)
    auth.authenticate_session(web(), signed.session_token)
    clock.advance(minutes=30)
    assert refused(auth.authenticate_session, web(), signed.session_token).code == "session_expired"
    assert events(console, "session_expired")[-1][2]["timeout"] == "idle"
    assert refused(auth.authenticate_session, web(), signed.session_token).code == "not_signed_in"


@pytest.mark.usefixtures("people")
def test_a_session_ends_at_its_absolute_time_however_busy(console, web, clock):
    signed = auth.sign_in(web(), "wq", PASSWORD)
    for _ in range(15):  # 7.5 hours of use
        clock.advance(minutes=29, seconds=59)
        auth.authenticate_session(web(), signed.session_token)
    clock.advance(minutes=31)
    assert refused(auth.authenticate_session, web(), signed.session_token).code == "session_expired"
    assert events(console, "session_expired")[-1][2]["timeout"] == "absolute"


@pytest.mark.usefixtures("people")
def test_sign_out_ends_the_session_and_is_idempotent(console, web):
    signed = auth.sign_in(web(), "wq", PASSWORD)
    auth.sign_out(web(), signed.session_token)
    auth.sign_out(web(), signed.session_token)
    auth.sign_out(web(), "never-issued")
    assert refused(auth.authenticate_session, web(), signed.session_token).code == "not_signed_in"
    assert [k for k, *_ in events(console, "sign_out")] == ["sign_out"]


def test_changing_the_password_clears_must_change_and_ends_the_other_sessions(boss, console, web, mk):
    auth.add_account(boss, "ent", "enterprise", enterprise_code="91120114MA00000017")
    once = auth.set_one_time_password(console, "ent").password
    here = auth.sign_in(web(), "ent", once)
    there = auth.sign_in(web("10.1.1.1"), "ent", once)
    sid = auth.authenticate_session(web(), here.session_token).via
    auth.change_password(mk("ent", source="web", client="10.0.0.1", via=sid), "ent", once, PASSWORD)
    assert not auth.authenticate_session(web(), here.session_token).must_change_password
    assert refused(auth.authenticate_session, web(), there.session_token).code == "not_signed_in"
    assert refused(auth.sign_in, web(), "ent", once).code == "bad_credentials"
    assert auth.sign_in(web(), "ent", PASSWORD).actor == "ent"
    assert events(console, "password_changed")[-1][2] == {"sessions_ended": 1}


@pytest.mark.usefixtures("people")
def test_a_refused_change_of_password_changes_nothing(web):
    with pytest.raises(InvalidInput) as weak:
        auth.change_password(web(), "wq", PASSWORD, "short")
    assert weak.value.code == "weak_password"
    with pytest.raises(InvalidInput, match="must differ"):
        auth.change_password(web(), "wq", PASSWORD, PASSWORD)
    assert refused(auth.change_password, web(), "wq", "Wrong-Passw0rd!", "Another-Passw0rd!").code == \
        "bad_credentials"
    assert auth.sign_in(web(), "wq", PASSWORD).actor == "wq"


@pytest.mark.usefixtures("people")
def test_a_reset_password_ends_the_sessions(console, web):
    signed = auth.sign_in(web(), "wq", PASSWORD)
    auth.set_one_time_password(console, "wq")
    assert refused(auth.authenticate_session, web(), signed.session_token).code == "not_signed_in"


@pytest.mark.usefixtures("people")
def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(console, web):
    signed = auth.sign_in(web(), "wq", PASSWORD)
    row = auth.disable_account(console, "wq")
    assert row.disabled
    assert refused(auth.authenticate_session, web(), signed.session_token).code == "not_signed_in"
    assert refused(auth.sign_in, web(), "wq", PASSWORD).code == "bad_credentials"
    auth.enable_account(console, "wq")
    assert auth.sign_in(web(), "wq", PASSWORD).actor == "wq"


def test_the_system_actor_has_no_password_and_is_never_disabled(console):
    for call in (auth.set_one_time_password, auth.disable_account):
        with pytest.raises(InvalidInput) as refusal:
            call(console, "system")
        assert refusal.value.code == "system_actor"


@pytest.mark.usefixtures("people")
def test_only_the_bureau_manages_accounts(mk):
    for actor in ("wq", "rev"):
        with pytest.raises(Forbidden) as refusal:
            auth.set_one_time_password(mk(actor), "boss")
        assert refusal.value.code == "role_forbidden"
        with pytest.raises(Forbidden):
            auth.disable_account(mk(actor), "boss")
    assert auth.set_one_time_password(mk("boss"), "wq").actor == "wq"
    assert [a.name for a in auth.list_accounts(mk("wq"))] == ["wq"]  # one's own account only
    assert {a.name for a in auth.list_accounts(mk("boss"))} == {"boss", "wq", "rev", "system"}


@pytest.mark.usefixtures("people")
def test_passwords_are_stored_as_argon2id_only(store):
    with store.read() as session:
        hashes = session.execute(text("select password_hash from account where password_hash is not null")).scalars()
        assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
