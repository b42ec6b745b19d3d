"""What a route stands on: the process's context, the caller proven by a session cookie or a bearer
token, the context of this request (actor, door, session or token, client address), and CSRF.

Identity is proven here, at the door, and nowhere else; what the caller may then read or do is the
services' one policy (safegrade.services.scope), the same for the CLI, the API, the pages and the flows.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from safegrade.auth import Principal, authenticate_session, authenticate_token
from safegrade.clock import FixedClock
from safegrade.errors import Forbidden, Unauthenticated
from safegrade.services.context import Context

SESSION_COOKIE = "sg_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer",
                           description="个人访问令牌（`safegrade actor token NAME`）：`Authorization: Bearer <令牌>`")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                             description=f"浏览器会话（登录后设置的 `{SESSION_COOKIE}` Cookie）；修改数据的请求还须带 "
                                         f"`{CSRF_HEADER}` 头")


def base_context(request: Request) -> Context:
    """The context the app was opened with: settings, rules, store and clock, no actor."""
    ctx: Context = request.app.state.safegrade
    return ctx


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def anonymous(request: Request, source: str = "api") -> Context:
    """The context of a caller not yet proven: the door and the client address, no actor."""
    ctx = base_context(request).acting(actor=None, source=source, client=client_of(request))
    request.state.now = ctx.now()  # a lock's Retry-After counts from here
    return ctx


def signing_in(request: Request) -> Context:
    """The context of a sign-in (or sign-out): a browser session's door, "web"."""
    return anonymous(request, "web")


Anonymous = Annotated[Context, Depends(signing_in)]


def prove(request: Request, bearer: HTTPAuthorizationCredentials | None, cookie: str | None) -> Principal:
    ctx = anonymous(request)
    if bearer is not None:
        return authenticate_token(ctx, bearer.credentials)
    if request.headers.get("authorization"):  # present but not "Bearer <token>"
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'", code="token_invalid",
                              field="Authorization")
    if cookie:
        return authenticate_session(ctx, cookie)
    raise Unauthenticated("sign in first, or send a personal access token as 'Authorization: Bearer <token>'",
                          code="not_signed_in")


def any_principal(request: Request,
                  bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
                  cookie: Annotated[str | None, Depends(cookie_scheme)]) -> Principal:
    """The proven caller, even one who must still change a one-time password (me, password, sign-out)."""
    found = prove(request, bearer, cookie)
    check_csrf(request, found)
    request.state.principal = found
    return found


def principal(found: Annotated[Principal, Depends(any_principal)]) -> Principal:
    """The proven caller, who has changed their one-time password."""
    if found.must_change_password:
        raise Forbidden("change the one-time password first (POST /api/v1/auth/password)",
                        code="password_change_required", field="password")
    return found


def check_csrf(request: Request, found: Principal) -> None:
    """A browser session's state-changing request carries the session's CSRF token in a header (a form, in
    its `csrf_token` field, checked by the pages); a bearer token is not sent by a browser on its own."""
    if found.source != "web" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None or found.csrf_token is None or not hmac.compare_digest(sent.encode(), found.csrf_token.encode()):
        raise Forbidden(f"a request that changes data must carry the session's CSRF token in {CSRF_HEADER}",
                        code="csrf_failed", field=CSRF_HEADER)


def csrf_checked(request: Request, found: Annotated[Principal, Depends(any_principal)]) -> None:
    """The CSRF check as a route's dependency (`dependencies=[require_csrf]`): `any_principal` already makes it
    for every state-changing request of a session; naming it on a route documents it and keeps it if that moves."""
    check_csrf(request, found)


require_csrf = Depends(csrf_checked)

Caller = Annotated[Principal, Depends(principal)]
AnyCaller = Annotated[Principal, Depends(any_principal)]


def acting(request: Request, caller: Caller) -> Context:
    """The context of this request: the proven caller as the actor, their door, session or token, address."""
    return base_context(request).acting(actor=caller.actor, source=caller.source, via=caller.via,
                                        client=client_of(request))


Acting = Annotated[Context, Depends(acting)]


def as_of(ctx: Context, instant: datetime | None) -> Context:
    """`ctx` reading as of `instant` (naive: the deployment's zone); `ctx` itself for None."""
    if instant is None:
        return ctx
    zone = ctx.settings.zone
    at = instant.replace(tzinfo=zone) if instant.tzinfo is None else instant
    return ctx.acting(actor=ctx.actor_name, source=ctx.source, via=ctx.via, client=ctx.client,
                      clock=FixedClock(at, zone))
