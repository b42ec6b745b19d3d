"""Accounts: an actor's credentials and contacts; one-time passwords, changing a password, disabling.

Who may: the operator's console (the CLI without --actor) and the roles the rules let `manage_accounts`
(the bureau); an actor may change their own password (proven by the current one) and their own contacts.
Every change is recorded in the security log, with who made it, and never the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safegrade.auth import lockout
from safegrade.auth.common import (
    ACCOUNT,
    ACTOR,
    Row,
    bad_credentials,
    console,
    ensure_account,
    find,
    log,
    manager,
    not_system,
    revoke_sessions,
    unknown_actor,
    who,
)
from safegrade.auth.passwords import check_policy, hash_password, one_time_password, verify_password
from safegrade.auth.sessions import locked
from safegrade.errors import InvalidInput, NotFound
from safegrade.services.actors import AddedActor, add_actor
from safegrade.services.context import Context


@dataclass(frozen=True, slots=True)
class OneTimePassword:
    """A password set by the bureau, shown once; the first sign-in must change it."""

    actor: str
    password: str
    must_change: bool = True


@dataclass(frozen=True, slots=True)
class AccountRow:
    name: str
    role: str
    district: str | None  # district code, for a district officer
    enterprise_code: str | None
    email: str | None
    phone: str | None
    im_user: str | None  # DingTalk or WeCom user id
    has_password: bool
    must_change: bool
    disabled: bool
    locked_until: datetime | None  # the account's name is locked after failed sign-ins until then


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,30}$")
_IM = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def _contacts(email: str | None, phone: str | None, im_user: str | None) -> dict[str, str | None]:
    """The contacts given (None: not given, '': cleared), each checked."""
    given: dict[str, str | None] = {}
    for field, value, pattern, allowed in (
        ("email", email, _EMAIL, "an e-mail address such as officer@example.org"),
        ("phone", phone, _PHONE, "a phone number of digits, optionally with +, spaces or dashes"),
        ("im_user", im_user, _IM, "a DingTalk or WeCom user id (letters, digits, _ . @ -)"),
    ):
        if value is None:
            continue
        value = value.strip()
        if value and not pattern.match(value):
            raise InvalidInput(f"{{{field}}}: {value!r} is not {allowed}", code="invalid_contact", field=field,
                               value=value, allowed=allowed)
        given[field] = value or None
    return given


def _row(ctx: Context, session: Session, actor: Row, account: Row | None) -> AccountRow:
    a = account or {}
    return AccountRow(name=actor["name"], role=actor["role"], district=actor["district"],
                      enterprise_code=actor["enterprise_code"], email=a.get("email"), phone=a.get("phone"),
                      im_user=a.get("im_user"), has_password=a.get("password_hash") is not None,
                      must_change=bool(a.get("must_change")), disabled=bool(a.get("disabled")),
                      locked_until=lockout.account_locked_until(session, ctx.now(), actor["name"]))


def add_account(ctx: Context, name: str, role: str, *, district: str | None = None,
                enterprise_code: str | None = None, email: str | None = None, phone: str | None = None,
                im_user: str | None = None) -> AddedActor:
    """Add an actor (services.actors.add_actor: its rights and checks) with its account and contacts; no
    password yet (`set_one_time_password`)."""
    contacts = _contacts(email, phone, im_user)
    added = add_actor(ctx, name, role, district=district, enterprise_code=enterprise_code)
    now = ctx.now()
    with ctx.store.write() as session:
        actor, _ = find(session, added.name)
        ensure_account(session, actor["id"], now)
        if contacts:
            session.execute(update(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"]).values(**contacts, updated_at=now))
        log(session, ctx, "account_added", added.name, detail={"role": added.role, "contacts": sorted(contacts)})
    return added


def set_contacts(ctx: Context, name: str, *, email: str | None = None, phone: str | None = None,
                 im_user: str | None = None) -> AccountRow:
    """Change the contacts given (None: unchanged, '': cleared)."""
    contacts = _contacts(email, phone, im_user)
    by = manager(ctx, own=name.strip())
    now = ctx.now()
    with ctx.store.write() as session:
        actor, _ = find(session, name)
        ensure_account(session, actor["id"], now)
        if contacts:
            session.execute(update(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"]).values(**contacts, updated_at=now))
            log(session, ctx, "contacts_changed", actor["name"], by=by, detail={"fields": sorted(contacts)})
        account = session.execute(select(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"])).mappings().one()
        return _row(ctx, session, actor, account)


def set_one_time_password(ctx: Context, name: str) -> OneTimePassword:
    """A new random password for `name`, to be changed at the next sign-in; the account's sessions end."""
    by = manager(ctx)
    now = ctx.now()
    with ctx.store.write() as session:
        actor, _ = find(session, name)
        not_system(actor, "have a password")
        ensure_account(session, actor["id"], now)
        password = one_time_password(actor["name"])
        session.execute(update(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"]).values(
            password_hash=hash_password(password), must_change=True, password_changed_at=now, updated_at=now))
        ended = revoke_sessions(session, actor["id"], now)
        log(session, ctx, "password_set", actor["name"], by=by, detail={"one_time": True, "sessions_ended": ended})
    return OneTimePassword(actor=actor["name"], password=password)


def change_password(ctx: Context, name: str, old: str, new: str) -> None:
    """The actor's own change of password, proven by the current one (a wrong one counts as a failed
    sign-in); the new one must meet the policy. Clears must_change; the account's other sessions end."""
    name = name.strip()
    now = ctx.now()
    with ctx.store.read() as session:
        until = lockout.locked_until(session, now, name, ctx.client)
        try:
            actor, account = find(session, name)
        except NotFound:
            actor, account = None, None
    if until is not None:
        raise locked(until, ctx)
    stored = account["password_hash"] if account is not None and actor is not None \
        and actor["role"] != "system" and not account["disabled"] else None
    ok, _ = verify_password(old, stored)
    if not ok or actor is None:
        with ctx.store.write() as session:
            lockout.record_failure(session, ctx, name, "wrong_password" if actor is not None else "unknown_account",
                                   {"during": "change_password"})
        raise bad_credentials()
    check_policy(new, actor["name"], old_hash=stored)
    keep = ctx.via.split(":", 1)[1] if ctx.via and ctx.via.startswith("session:") else None
    with ctx.store.write() as session:
        session.execute(update(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"]).values(
            password_hash=hash_password(new), must_change=False, password_changed_at=now, updated_at=now))
        ended = revoke_sessions(session, actor["id"], now, keep=keep)
        log(session, ctx, "password_changed", actor["name"], by=who(ctx) if ctx.actor_name else actor["name"],
            detail={"sessions_ended": ended})


def _set_disabled(ctx: Context, name: str, disabled: bool) -> AccountRow:
    by = manager(ctx)
    now = ctx.now()
    with ctx.store.write() as session:
        actor, _ = find(session, name)
        not_system(actor, "be disabled or enabled")
        ensure_account(session, actor["id"], now)
        session.execute(update(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"])
                        .values(disabled=disabled, updated_at=now))
        detail: dict[str, Any] = {}
        if disabled:
            detail["sessions_ended"] = revoke_sessions(session, actor["id"], now)
        log(session, ctx, "account_disabled" if disabled else "account_enabled", actor["name"], by=by, detail=detail)
        account = session.execute(select(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"])).mappings().one()
        return _row(ctx, session, actor, account)


def disable_account(ctx: Context, name: str) -> AccountRow:
    """The account can no longer sign in; its sessions end and its API tokens stop working."""
    return _set_disabled(ctx, name, True)


def enable_account(ctx: Context, name: str) -> AccountRow:
    return _set_disabled(ctx, name, False)


def list_accounts(ctx: Context) -> list[AccountRow]:
    """Every actor with its account's state (the console and account managers); anyone else: their own."""
    everyone = console(ctx) or (ctx.actor_name is not None
                                and ctx.rules.lifecycle.may(ctx.actor().role, "manage_accounts"))
    if not everyone and ctx.actor_name is None:
        manager(ctx)  # refused: who is asking is not known
    with ctx.store.read() as session:
        query = select(ACTOR, ACCOUNT.c.password_hash, ACCOUNT.c.must_change, ACCOUNT.c.disabled, ACCOUNT.c.email,
                       ACCOUNT.c.phone, ACCOUNT.c.im_user, ACCOUNT.c.actor_id.label("has_account")) \
            .outerjoin(ACCOUNT, ACCOUNT.c.actor_id == ACTOR.c.id).order_by(ACTOR.c.name)
        if not everyone:
            query = query.where(ACTOR.c.name == ctx.actor_name)
        rows = session.execute(query).mappings().all()
        return [_row(ctx, session, r, r if r["has_account"] is not None else None) for r in rows]


def account_of(ctx: Context, name: str) -> AccountRow:
    """One account as listed (the console, account managers, or the actor themself)."""
    for row in list_accounts(ctx):
        if row.name == name.strip():
            return row
    raise unknown_actor(name)
