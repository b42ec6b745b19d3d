"""Personal API tokens (`Authorization: Bearer`): shown once when issued, stored as their SHA-256, revocable,
listed with their last use. A token stops working when it expires, is revoked, or its account is disabled.

Who may: the console and account managers for any account; an actor for their own tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update

from safegrade.auth.common import (
    ACCOUNT,
    ACTOR,
    SYSTEM_ROLE,
    Principal,
    console,
    digest,
    find,
    log,
    manager,
    new_secret,
    not_signed_in,
    not_system,
    public_id,
)
from safegrade.errors import InvalidInput, NotFound
from safegrade.models import ApiToken, table
from safegrade.services.context import Context

TOKEN = table(ApiToken)
PREFIX = "sgt_"  # makes a leaked token recognisable (secret scanners, logs)
TOUCH_EVERY = timedelta(seconds=60)  # last use is recorded at most this often


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str  # public: how the token is listed and revoked
    actor: str
    token: str  # the secret, shown once; only its SHA-256 is stored
    label: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: str
    actor: str
    label: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def issue_token(ctx: Context, name: str, *, expires_in: timedelta, label: str = "") -> IssuedToken:
    """A new token for `name`, valid for `expires_in` (at most web.token_max_days)."""
    most = ctx.settings.web.token_max_days
    if expires_in <= timedelta(0) or expires_in > timedelta(days=most):
        raise InvalidInput(f"{{expires_in}}: a token lives more than 0 and at most {most} days",
                           code="invalid_expiry", field="expires_in", value=str(expires_in),
                           allowed=f"1 to {most} days")
    label = label.strip()
    if len(label) > 128:
        raise InvalidInput("{label}: at most 128 characters", code="too_long", field="label", value=label[:32] + "…")
    by = manager(ctx, own=name.strip())
    now = ctx.now()
    token, tid = PREFIX + new_secret(), public_id()
    with ctx.store.write() as session:
        actor, account = find(session, name)
        not_system(actor, "have an API token")
        if account is not None and account["disabled"]:
            raise InvalidInput(f"{{name}}: the account {actor['name']!r} is disabled", code="account_disabled",
                               field="name", value=actor["name"])
        session.add(ApiToken(id=tid, token_hash=digest(token), actor_id=actor["id"], label=label, created_at=now,
                             created_by=by, expires_at=now + expires_in))
        log(session, ctx, "token_issued", actor["name"], by=by,
            detail={"token": tid, "label": label, "expires_at": now + expires_in})
    return IssuedToken(id=tid, actor=actor["name"], token=token, label=label, expires_at=now + expires_in)


def authenticate_token(ctx: Context, token: str) -> Principal:
    """Who holds this token; records its last use. Unknown, revoked or of a disabled account:
    Unauthenticated(invalid_token); expired: Unauthenticated(token_expired)."""
    now = ctx.now()
    with ctx.store.read() as session:
        row = session.execute(
            select(TOKEN, ACTOR.c.name, ACTOR.c.role, ACTOR.c.district, ACTOR.c.enterprise_code, ACCOUNT.c.disabled)
            .join(ACTOR, ACTOR.c.id == TOKEN.c.actor_id)
            .outerjoin(ACCOUNT, ACCOUNT.c.actor_id == TOKEN.c.actor_id)
            .where(TOKEN.c.token_hash == digest(token))
        ).mappings().one_or_none()
    if row is None or row["revoked_at"] is not None or bool(row["disabled"]) or row["role"] == SYSTEM_ROLE:
        raise not_signed_in("invalid_token")
    if now >= row["expires_at"]:
        raise not_signed_in("token_expired")
    if row["last_used_at"] is None or now - row["last_used_at"] >= TOUCH_EVERY:
        with ctx.store.write() as session:
            session.execute(update(TOKEN).where(TOKEN.c.id == row["id"]).values(last_used_at=now))
    return Principal(actor=row["name"], role=row["role"], district=row["district"],
                     enterprise_code=row["enterprise_code"], via=f"token:{row['id']}", source="api",
                     must_change_password=False, csrf_token=None)


def _may_see_all(ctx: Context) -> bool:
    return console(ctx) or (ctx.actor_name is not None
                            and ctx.rules.lifecycle.may(ctx.actor().role, "manage_accounts"))


def _rows(ctx: Context, where: list[ColumnElement[bool]]) -> list[TokenRow]:
    with ctx.store.read() as session:
        rows = session.execute(select(TOKEN, ACTOR.c.name).join(ACTOR, ACTOR.c.id == TOKEN.c.actor_id)
                               .where(*where).order_by(ACTOR.c.name, TOKEN.c.created_at)).mappings().all()
    return [TokenRow(id=r["id"], actor=r["name"], label=r["label"], created_at=r["created_at"],
                     created_by=r["created_by"], expires_at=r["expires_at"], last_used_at=r["last_used_at"],
                     revoked_at=r["revoked_at"]) for r in rows]


def list_tokens(ctx: Context, name: str | None = None) -> list[TokenRow]:
    """The tokens (never their secrets) of `name`, or of everyone; an actor who does not manage accounts sees
    only their own."""
    where: list[ColumnElement[bool]] = []
    if not _may_see_all(ctx):
        if ctx.actor_name is None:
            manager(ctx)  # refused: who is asking is not known
        where.append(ACTOR.c.name == ctx.actor_name)
    if name is not None:
        with ctx.store.read() as session:
            find(session, name)
        where.append(ACTOR.c.name == name.strip())
    return _rows(ctx, where)


def revoke_token(ctx: Context, token_id: str) -> TokenRow:
    """End a token (idempotent); a token that is not the caller's to see answers as a missing one."""
    token_id = token_id.strip()
    found = [r for r in list_tokens(ctx) if r.id == token_id]
    if not found:
        raise NotFound(f"no API token {token_id!r}", code="unknown_token", field="token_id", value=token_id)
    if found[0].revoked_at is None:
        now = ctx.now()
        with ctx.store.write() as session:
            ended = session.execute(update(TOKEN).where(TOKEN.c.id == token_id, TOKEN.c.revoked_at.is_(None))
                                    .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
            if ended:
                log(session, ctx, "token_revoked", found[0].actor, detail={"token": token_id})
    return _rows(ctx, [TOKEN.c.id == token_id])[0]
