"""Browser sessions: sign-in (lockout, the security log), the session cookie's secret, idle and absolute
timeouts, sign-out.

The cookie carries a random secret; the database keeps its SHA-256 and a short public id (`session:<id>` in
the audit trail). Every sign-in makes a new session, so a cookie from before it is never reused. A refusal
that must be remembered (a failed sign-in, an expired session) is written in its own transaction and then
raised, so that the refusal itself changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from safegrade.auth import lockout
from safegrade.auth.common import (
    ACCOUNT,
    ACTOR,
    SESSION,
    SYSTEM_ROLE,
    Principal,
    Row,
    bad_credentials,
    digest,
    log,
    new_secret,
    not_signed_in,
    public_id,
)
from safegrade.auth.passwords import verify_password
from safegrade.errors import Locked
from safegrade.models import WebSession
from safegrade.services.context import Context

# a session's idle expiry is moved forward at most this often (one write per minute of use, not per request)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_token: str  # the cookie's value (secret; only its SHA-256 is stored)
    csrf_token: str
    actor: str
    role: str
    expires_at: datetime  # the absolute end
    idle_expires_at: datetime
    must_change_password: bool


def locked(until: datetime, ctx: Context) -> Locked:
    shown = until.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M")
    return Locked(f"too many failed sign-ins: locked until {shown} (登录失败次数过多，已锁定至{shown})",
                  code="locked", value=until)


def _why_not(actor: Row | None, account: Row | None, password: str) -> tuple[str | None, str | None]:
    """(why the sign-in fails or None, a new hash when the stored one is outdated). The password is checked
    in every case (against a dummy when there is nothing to check), so that every refusal takes as long."""
    stored = account["password_hash"] if account is not None and actor is not None \
        and actor["role"] != SYSTEM_ROLE else None
    ok, rehashed = verify_password(password, stored)
    if actor is None:
        return "unknown_account", None
    if actor["role"] == SYSTEM_ROLE:
        return "system_actor", None
    if account is None or account["password_hash"] is None:
        return "no_password", None
    if not ok:
        return "wrong_password", None
    if account["disabled"]:
        return "disabled", None
    return None, rehashed


def sign_in(ctx: Context, name: str, password: str) -> SignedIn:
    """A new session for `name` proven by `password`; every refusal is the same Unauthenticated
    (bad_credentials), or Locked while the name or the client address is locked."""
    name = name.strip()[:64]
    now = ctx.now()
    with ctx.store.read() as session:
        until = lockout.locked_until(session, now, name, ctx.client)
        actor = session.execute(select(ACTOR).where(ACTOR.c.name == name)).mappings().one_or_none()
        account = None if actor is None else session.execute(
            select(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"])).mappings().one_or_none()
    if until is not None:
        raise locked(until, ctx)
    why, rehashed = _why_not(actor, account, password)
    if why is not None or actor is None or account is None:
        with ctx.store.write() as session:
            lockout.record_failure(session, ctx, name, why or "unknown_account")
        raise bad_credentials()
    web = ctx.settings.web
    token, csrf, sid = new_secret(), new_secret(), public_id()
    expires = now + timedelta(hours=web.session_absolute_hours)
    idle = min(now + timedelta(minutes=web.session_idle_minutes), expires)
    with ctx.store.write() as session:
        until = lockout.locked_until(session, now, name, ctx.client)  # a lock taken meanwhile
        if until is None:
            session.add(WebSession(id=sid, token_hash=digest(token), actor_id=actor["id"], csrf_token=csrf,
                                   created_at=now, last_seen_at=now, idle_expires_at=idle, expires_at=expires,
                                   client=ctx.client))
            if rehashed is not None:
                session.execute(update(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"])
                                .values(password_hash=rehashed, updated_at=now))
            log(session, ctx, "sign_in", name, by=name, detail={"session": sid})
    if until is not None:
        raise locked(until, ctx)
    return SignedIn(session_token=token, csrf_token=csrf, actor=name, role=actor["role"], expires_at=expires,
                    idle_expires_at=idle, must_change_password=bool(account["must_change"]))


def authenticate_session(ctx: Context, session_token: str) -> Principal:
    """Who holds this session cookie; moves the idle expiry forward. Unknown, ended or disabled:
    Unauthenticated(not_signed_in); past its idle or absolute end: Unauthenticated(session_expired)."""
    now = ctx.now()
    with ctx.store.read() as session:
        row = session.execute(
            select(SESSION, ACTOR.c.name, ACTOR.c.role, ACTOR.c.district, ACTOR.c.enterprise_code,
                   ACCOUNT.c.must_change, ACCOUNT.c.disabled)
            .join(ACTOR, ACTOR.c.id == SESSION.c.actor_id)
            .outerjoin(ACCOUNT, ACCOUNT.c.actor_id == SESSION.c.actor_id)
            .where(SESSION.c.token_hash == digest(session_token))
        ).mappings().one_or_none()
    if row is None or row["revoked_at"] is not None or row["disabled"] is not False or row["role"] == SYSTEM_ROLE:
        raise not_signed_in()
    if now >= row["idle_expires_at"] or now >= row["expires_at"]:
        why = "absolute" if now >= row["expires_at"] else "idle"
        with ctx.store.write() as session:
            ended = session.execute(update(SESSION).where(SESSION.c.id == row["id"], SESSION.c.revoked_at.is_(None))
                                    .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
            if ended:
                log(session, ctx, "session_expired", row["name"], by=row["name"],
                    detail={"session": row["id"], "timeout": why})
        raise not_signed_in("session_expired")
    if now - row["last_seen_at"] >= TOUCH_EVERY:
        idle = min(now + timedelta(minutes=ctx.settings.web.session_idle_minutes), row["expires_at"])
        with ctx.store.write() as session:
            session.execute(update(SESSION).where(SESSION.c.id == row["id"])
                            .values(last_seen_at=now, idle_expires_at=idle))
    return Principal(actor=row["name"], role=row["role"], district=row["district"],
                     enterprise_code=row["enterprise_code"], via=f"session:{row['id']}", source="web",
                     must_change_password=bool(row["must_change"]), csrf_token=row["csrf_token"])


def sign_out(ctx: Context, session_token: str) -> None:
    """End the session (idempotent: an unknown or ended session is left as it is)."""
    now = ctx.now()
    with ctx.store.write() as session:
        row = session.execute(
            select(SESSION.c.id, ACTOR.c.name).join(ACTOR, ACTOR.c.id == SESSION.c.actor_id)
            .where(SESSION.c.token_hash == digest(session_token), SESSION.c.revoked_at.is_(None))
        ).one_or_none()
        if row is None:
            return
        session.execute(update(SESSION).where(SESSION.c.id == row[0]).values(revoked_at=now))
        log(session, ctx, "sign_out", row[1], by=row[1], detail={"session": row[0]})
