"""Personal API tokens: shown once, stored hashed, last use, expiry, revocation, a disabled account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from safegrade import auth
from safegrade.errors import Forbidden, InvalidInput, NotFound, Unauthenticated


def refused(token, web):
    with pytest.raises(Unauthenticated) as caught:
        auth.authenticate_token(web(), token)
    return caught.value.code


@pytest.mark.usefixtures("people")
def test_a_token_proves_its_actor_and_records_its_last_use(boss, web, clock):
    issued = auth.issue_token(boss, "wq", expires_in=timedelta(days=90), label="ci")
    assert issued.token.startswith("sgt_")
    assert issued.expires_at == clock.now() + timedelta(days=90)
    [listed] = auth.list_tokens(boss, "wq")
    assert (listed.id, listed.label, listed.created_by, listed.last_used_at) == (issued.id, "ci", "boss", None)
    who = auth.authenticate_token(web(), issued.token)
    assert (who.actor, who.role, who.via, who.source, who.csrf_token) == ("wq", "district", f"token:{issued.id}",
                                                                          "api", None)
    assert auth.list_tokens(boss, "wq")[0].last_used_at == clock.now()
    clock.advance(minutes=5)
    auth.authenticate_token(web(), issued.token)
    assert auth.list_tokens(boss, "wq")[0].last_used_at == clock.now()


@pytest.mark.usefixtures("people")
def test_a_token_expires(boss, web, clock):
    issued = auth.issue_token(boss, "wq", expires_in=timedelta(days=1))
    clock.advance(hours=23, minutes=59)
    auth.authenticate_token(web(), issued.token)
    clock.advance(minutes=1)
    assert refused(issued.token, web) == "token_expired"


@pytest.mark.usefixtures("people")
def test_a_revoked_token_stops_working(boss, web, console):
    issued = auth.issue_token(boss, "wq", expires_in=timedelta(days=30))
    row = auth.revoke_token(boss, issued.id)
    assert row.revoked_at is not None
    assert auth.revoke_token(boss, issued.id).revoked_at == row.revoked_at  # idempotent
    assert refused(issued.token, web) == "invalid_token"
    assert [e.kind for e in auth.list_security_events(console, kind="token_revoked")] == ["token_revoked"]


@pytest.mark.usefixtures("people")
def test_a_disabled_accounts_tokens_stop_working_until_enabled(boss, web):
    issued = auth.issue_token(boss, "wq", expires_in=timedelta(days=30))
    auth.disable_account(boss, "wq")
    assert refused(issued.token, web) == "invalid_token"
    auth.enable_account(boss, "wq")
    assert auth.authenticate_token(web(), issued.token).actor == "wq"


@pytest.mark.usefixtures("people")
def test_an_unknown_token_is_refused(web):
    assert refused("sgt_nothing", web) == "invalid_token"


@pytest.mark.usefixtures("people")
def test_the_token_is_stored_hashed_and_never_logged(boss, store):
    issued = auth.issue_token(boss, "wq", expires_in=timedelta(days=30))
    with store.read() as session:
        for table in ("api_token", "security_event", "web_session", "account"):
            for row in session.execute(text(f"select * from {table}")):  # noqa: S608 (our own table names)
                assert issued.token not in " ".join(map(str, row))
                assert issued.token[4:] not in " ".join(map(str, row))
    assert issued.token not in repr(auth.list_tokens(boss))


@pytest.mark.parametrize("days", [0, -1, 366])
@pytest.mark.usefixtures("people")
def test_a_token_lives_at_most_token_max_days(boss, days):
    with pytest.raises(InvalidInput) as refusal:
        auth.issue_token(boss, "wq", expires_in=timedelta(days=days))
    assert (refusal.value.code, refusal.value.field) == ("invalid_expiry", "expires_in")


@pytest.mark.usefixtures("people")
def test_who_may_issue_list_and_revoke(boss, mk):
    own = auth.issue_token(mk("wq"), "wq", expires_in=timedelta(days=7))  # one's own token
    with pytest.raises(Forbidden):
        auth.issue_token(mk("wq"), "rev", expires_in=timedelta(days=7))
    theirs = auth.issue_token(boss, "rev", expires_in=timedelta(days=7))
    assert [t.id for t in auth.list_tokens(mk("wq"))] == [own.id]
    assert {t.id for t in auth.list_tokens(boss)} == {own.id, theirs.id}
    with pytest.raises(NotFound) as hidden:
        auth.revoke_token(mk("wq"), theirs.id)  # answers as a missing one
    with pytest.raises(NotFound) as missing:
        auth.revoke_token(mk("wq"), "0000000000000000")
    assert hidden.value.code == missing.value.code == "unknown_token"
    auth.revoke_token(mk("wq"), own.id)
    with pytest.raises(InvalidInput, match="system actor"):
        auth.issue_token(boss, "system", expires_in=timedelta(days=7))
