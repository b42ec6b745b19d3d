"""The security log: every kind recorded, never a password or a secret, its chain verified, a tampered or
deleted entry located by seq; who may read it; concurrent appends keep one chain."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from safegrade import auth
from safegrade.audit import security
from safegrade.errors import Forbidden, InvalidInput, Locked, Unauthenticated
from safegrade.services.auditing import verify_audit
from tests.safegrade.auth.conftest import PASSWORD


def every_kind(boss, web, clock, once):
    """A run that records each kind of event; the secrets it saw."""
    seen = [PASSWORD, *once.values()]
    auth.set_contacts(boss, "wq", email="wq@example.org")
    signed = auth.sign_in(web(), "wq", PASSWORD)
    seen += [signed.session_token, signed.csrf_token]
    auth.sign_out(web(), signed.session_token)
    signed = auth.sign_in(web(), "wq", PASSWORD)
    seen.append(signed.session_token)
    clock.advance(hours=1)
    with pytest.raises(Unauthenticated):
        auth.authenticate_session(web(), signed.session_token)
    issued = auth.issue_token(boss, "wq", expires_in=timedelta(days=3))
    seen.append(issued.token)
    auth.revoke_token(boss, issued.id)
    auth.disable_account(boss, "rev")
    auth.enable_account(boss, "rev")
    for attempt in range(5):
        bad = f"Guess-{attempt}-Passw0rd"
        seen.append(bad)
        with pytest.raises(Unauthenticated):
            auth.sign_in(web(), "wq", bad)
    with pytest.raises(Locked):
        auth.sign_in(web(), "wq", PASSWORD)
    return seen


def test_each_kind_is_recorded_and_no_secret_is(people, boss, console, web, clock, store):
    seen = every_kind(boss, web, clock, people)
    kinds = {e.kind for e in auth.list_security_events(console, limit=1000)}
    assert kinds == set(auth.SECURITY_EVENT_KINDS)
    with store.read() as session:
        rows = [" ".join(map(str, r)) for r in session.execute(text("select * from security_event"))]
    for secret in seen:
        assert not any(secret in r for r in rows), "a password or a secret is in the security log"
    failed = auth.list_security_events(console, kind="sign_in_failed")[0]
    assert (failed.subject, failed.by, failed.source, failed.client) == ("wq", "wq", "web", "10.0.0.1")
    assert failed.detail == {"reason": "wrong_password"}
    added = auth.list_security_events(console, kind="account_added", actor="wq")[0]
    assert (added.by, added.source, added.detail) == ("boss", "cli", {"contacts": ["phone"], "role": "district"})


@pytest.mark.usefixtures("people")
def test_the_log_verifies_and_audit_verify_checks_it(console):
    report = auth.verify_security_log(console)
    assert report.ok
    assert report.first_broken is None
    assert report.events == 9
    audit = verify_audit(console)
    assert audit.ok
    assert audit.security_log is not None
    assert audit.security_log.events == 9


@pytest.mark.usefixtures("people")
def test_a_changed_entry_is_located_by_seq(console, store):
    with store.write() as session:
        session.execute(text("update security_event set detail = :d where seq = 4"), {"d": '{"one_time":false}'})
    report = auth.verify_security_log(console)
    assert not report.ok
    assert (report.first_broken.seq, report.first_broken.reason) == (4, "changed")
    audit = verify_audit(console)
    assert not audit.ok
    assert audit.security_log.first_broken.seq == 4
    assert not audit.breaks


@pytest.mark.usefixtures("people")
def test_a_deleted_entry_is_located_by_seq(console, store):
    with store.write() as session:
        session.execute(text("delete from security_event where seq = 5"))
    report = auth.verify_security_log(console)
    assert (report.first_broken.seq, report.first_broken.reason) == (5, "missing")


def test_a_rechained_entry_is_found_inserted():
    links = []
    prev = security.GENESIS
    for seq in range(1, 5):
        h = f"{seq:064d}"
        links.append(security._Link(seq, h, prev, h))
        prev = h
    # seq 3 was slipped in between 2 and what is now 4, chained to 2; 4 still points at 2
    links[3] = security._Link(4, links[3].hash, links[1].hash, links[3].hash)
    assert security.first_break(links)[1] == security.SecurityBreak(3, "inserted", "the event at seq 3 is not part "
                                                                                "of the chain (inserted)")


@pytest.mark.usefixtures("people")
def test_the_bureau_and_reviewers_read_it_others_do_not(mk):
    assert auth.list_security_events(mk("boss"))
    assert auth.list_security_events(mk("rev"), actor="wq", kind="password_changed")[0].subject == "wq"
    with pytest.raises(Forbidden) as refusal:
        auth.list_security_events(mk("wq"))
    assert refusal.value.code == "role_forbidden"
    with pytest.raises(Forbidden):
        auth.list_security_events(mk(source="web"))  # no actor outside the console
    with pytest.raises(InvalidInput) as unknown:
        auth.list_security_events(mk(), kind="nope")
    assert unknown.value.code == "unknown_kind"


@pytest.mark.usefixtures("people")
def test_concurrent_appends_make_one_chain(console, web):
    errors = []

    def fail_sign_ins(n):
        for _ in range(3):
            try:
                auth.sign_in(web(f"10.0.1.{n}"), f"nobody{n}", "x")
            except Unauthenticated:
                pass
            except Exception as exc:  # noqa: BLE001 (collected and shown below)
                errors.append(exc)

    threads = [threading.Thread(target=fail_sign_ins, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = auth.verify_security_log(console)
    assert report.ok
    assert report.events == 9 + 12
