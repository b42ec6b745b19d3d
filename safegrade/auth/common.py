"""What the parts of safegrade.auth share: the Principal, secrets and their digests, who acts, the lookups."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safegrade.audit import security
from safegrade.errors import InvalidInput, NotFound, Unauthenticated
from safegrade.models import Account, Actor, WebSession, table
from safegrade.services.context import Context

ACTOR, ACCOUNT, SESSION = table(Actor), table(Account), table(WebSession)
SYSTEM_ROLE = "system"
Row = Mapping[Any, Any]  # a row as SQLAlchemy maps it (RowMapping)
CONSOLE = "(console)"  # who acts at the CLI when neither --actor nor the OS user is known


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is, once proven by a session cookie or an API token."""

    actor: str  # the actor's name
    role: str
    district: str | None
    enterprise_code: str | None
    via: str  # "session:<id>" | "token:<id>" (a short public id, never the secret)
    source: str  # "web" for a session cookie, "api" for a bearer token
    must_change_password: bool
    csrf_token: str | None  # for sessions; None for tokens


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def public_id() -> str:
    return secrets.token_hex(8)


def digest(secret: str) -> str:
    """What is stored of a session or token secret: its SHA-256 (the secret itself is shown once)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def who(ctx: Context) -> str:
    """Who is acting, as the security log records it: the actor, else the console's OS user."""
    return ctx.actor_name or ctx.os_user or CONSOLE


def console(ctx: Context) -> bool:
    """The operator's console: the CLI without --actor (whoever runs it can open the database)."""
    return ctx.actor_name is None and ctx.source == "cli"


def manager(ctx: Context, *, own: str | None = None) -> str:
    """Who manages accounts here: the console, a role the rules let `manage_accounts`, or (with `own`) the
    account's own actor; anyone else is refused. The name recorded as `by`."""
    if console(ctx):
        return who(ctx)
    if own is not None and ctx.actor_name == own:
        return own
    return ctx.require("manage_accounts", "manage accounts").name


def unknown_actor(name: str) -> NotFound:
    return NotFound(f"no actor named {name!r}", code="unknown_actor", field="name", value=name, hint="add_actor")


def find(session: Session, name: str) -> tuple[Row, Row | None]:
    """(actor, account or None) by the actor's name; NotFound when there is no such actor."""
    actor = session.execute(select(ACTOR).where(ACTOR.c.name == name.strip())).mappings().one_or_none()
    if actor is None:
        raise unknown_actor(name)
    account = session.execute(select(ACCOUNT).where(ACCOUNT.c.actor_id == actor["id"])).mappings().one_or_none()
    return actor, account


def not_system(actor: Row, what: str) -> None:
    if actor["role"] == SYSTEM_ROLE:
        raise InvalidInput(f"{{name}}: the system actor never signs in; it may not {what}", code="system_actor",
                           field="name", value=actor["name"])


def ensure_account(session: Session, actor_id: int, now: datetime) -> Row:
    """The actor's account row, created (no password, no contacts) when it has none."""
    found = session.execute(select(ACCOUNT).where(ACCOUNT.c.actor_id == actor_id)).mappings().one_or_none()
    if found is not None:
        return found
    session.add(Account(actor_id=actor_id, updated_at=now))
    session.flush()
    return session.execute(select(ACCOUNT).where(ACCOUNT.c.actor_id == actor_id)).mappings().one()


def revoke_sessions(session: Session, actor_id: int, now: datetime, *, keep: str | None = None) -> int:
    """End the actor's live sessions (all but `keep`, a session id); how many were ended."""
    query = update(SESSION).where(SESSION.c.actor_id == actor_id, SESSION.c.revoked_at.is_(None))
    if keep is not None:
        query = query.where(SESSION.c.id != keep)
    return session.execute(query.values(revoked_at=now)).rowcount  # type: ignore[attr-defined, no-any-return]


def log(session: Session, ctx: Context, kind: str, subject: str, *, by: str | None = None,
        detail: Mapping[str, Any] | None = None) -> None:
    """One event in the security log, in the caller's transaction (never a password or a secret in detail)."""
    security.append(session, at=ctx.now(), kind=kind, subject=subject, by=by or who(ctx), source=ctx.source,
                    client=ctx.client, detail=detail)


BAD_CREDENTIALS = "wrong account name or password (账号或密码错误)"


def bad_credentials() -> Unauthenticated:
    return Unauthenticated(BAD_CREDENTIALS, code="bad_credentials")


def not_signed_in(code: str = "not_signed_in") -> Unauthenticated:
    words = {
        "not_signed_in": "not signed in, or the session was ended; sign in again (未登录或会话已结束，请重新登录)",
        "session_expired": "the session has expired; sign in again (会话已超时，请重新登录)",
        "invalid_token": "the API token is not valid or was revoked (令牌无效或已撤销)",
        "token_expired": "the API token has expired (令牌已过期)",
    }
    return Unauthenticated(words[code], code=code)
