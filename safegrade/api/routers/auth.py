"""Signing in and out, changing one's password, and who I am.

Sign-in answers one message for every wrong name, password, disabled or password-less account (401
bad_credentials) and 429 with `Retry-After` while the account or the client address is locked. A successful
sign-in always starts a new server-side session (a cookie sent from before is revoked, never reused); the
session's id travels only in the HttpOnly cookie, its CSRF token in the body, for the `X-CSRF-Token` header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from safegrade.api import problems
from safegrade.api.deps import (
    SESSION_COOKIE,
    Anonymous,
    AnyCaller,
    base_context,
    check_csrf,
    client_of,
    prove,
)
from safegrade.auth import Principal, change_password, sign_in, sign_out
from safegrade.errors import SafegradeError, Unauthenticated
from safegrade.services.context import Context

router = APIRouter(tags=["auth 登录"])


class SignInBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "wq", "password": "…"}]})
    name: str = Field(min_length=1, max_length=128, description="账号（执行人名称）")
    password: str = Field(min_length=1, max_length=1024, description="密码", json_schema_extra={"format": "password"})


class SignedInOut(BaseModel):
    """A new session: its cookie is set (HttpOnly); send `csrf_token` as `X-CSRF-Token` on every change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "actor": "wq", "role": "district", "csrf_token": "Jx3…", "expires_at": "2023-06-01T21:00:00+08:00",
        "must_change_password": False}]})
    actor: str
    role: str
    csrf_token: str
    expires_at: datetime = Field(description="会话的绝对到期时刻")
    must_change_password: bool = Field(description="为真时须先修改初始密码（POST /api/v1/auth/password）")


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"old_password": "…",
                                                                              "new_password": "…"}]})
    old_password: str = Field(min_length=1, max_length=1024, json_schema_extra={"format": "password"})
    new_password: str = Field(min_length=1, max_length=1024, json_schema_extra={"format": "password"})


class Me(BaseModel):
    """Who the caller is, as proven at the door."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "actor": "wq", "role": "district", "role_label": "区应急管理局", "district": "120114",
        "district_name": "武清区", "enterprise_code": None, "via": "session:AbC123", "source": "web",
        "must_change_password": False, "csrf_token": "Jx3…"}]})
    actor: str
    role: str
    role_label: str
    district: str | None
    district_name: str | None
    enterprise_code: str | None
    via: str = Field(description="session:<id> 或 token:<id>")
    source: str = Field(description="web（会话）或 api（令牌）")
    must_change_password: bool
    csrf_token: str | None = Field(description="会话的 CSRF 令牌；令牌访问时为空")


def _secure(ctx: Context) -> bool:
    return ctx.settings.web.base_url.startswith("https://")


def _clear_cookie(ctx: Context, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(ctx), httponly=True, samesite="lax")


@router.post("/auth/sign-in", response_model=SignedInOut, summary="登录（设置会话 Cookie）",
             responses=problems.responses(401, 422, 429, 503))
def sign_in_route(request: Request, response: Response, ctx: Anonymous,
                  body: Annotated[SignInBody, Body()]) -> SignedInOut:
    """Sign in with a name and a password: a new session, its cookie, and its CSRF token."""
    signed = sign_in(ctx, body.name, body.password)
    earlier = request.cookies.get(SESSION_COOKIE)
    if earlier:  # a cookie from before signing in is never reused: its session (if any) ends
        sign_out(ctx, earlier)
    lifetime = max(1, int((signed.expires_at - ctx.now()).total_seconds()))
    response.set_cookie(SESSION_COOKIE, signed.session_token, max_age=lifetime, path="/", secure=_secure(ctx),
                        httponly=True, samesite="lax")
    return SignedInOut(actor=signed.actor, role=signed.role, csrf_token=signed.csrf_token,
                       expires_at=signed.expires_at, must_change_password=signed.must_change_password)


@router.post("/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT, summary="退出登录",
             responses=problems.responses(403, 503))
def sign_out_route(request: Request, ctx: Anonymous) -> Response:
    """End the session of the cookie (and clear it). A session that has already ended only has its cookie
    cleared; a live one needs its CSRF token, like every change. A bearer token has no session to end."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and not request.headers.get("authorization"):
        try:
            found = prove(request, None, cookie)
        except Unauthenticated:
            found = None
        if found is not None:
            check_csrf(request, found)
            sign_out(ctx, cookie)
    _clear_cookie(ctx, response)
    return response


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT, summary="修改密码",
             responses=problems.responses(401, 403, 422, 429, 503))
def change_password_route(request: Request, caller: AnyCaller, body: Annotated[PasswordBody, Body()]) -> Response:
    """Change one's own password (also while a one-time password must be changed); the account's other
    sessions end."""
    try:
        change_password(_acting_any(request, caller), caller.actor, body.old_password, body.new_password)
    except SafegradeError as exc:
        if exc.field == "password":  # the policy speaks of "the password": here it is the body's new_password
            exc.field = "new_password"
        raise
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me, summary="当前登录的账号", responses=problems.responses(401, 503))
def me(request: Request, caller: AnyCaller) -> Me:
    """Who I am: account, role, district or enterprise, and how I am signed in."""
    rules = base_context(request).rules
    role = rules.lifecycle.roles.get(caller.role)
    return Me(actor=caller.actor, role=caller.role, role_label=role.label if role else caller.role,
              district=caller.district,
              district_name=rules.district_name(caller.district) if caller.district else None,
              enterprise_code=caller.enterprise_code, via=caller.via, source=caller.source,
              must_change_password=caller.must_change_password, csrf_token=caller.csrf_token)


def _acting_any(request: Request, caller: Principal) -> Context:
    """The context of a caller who may still have to change a one-time password."""
    return base_context(request).acting(actor=caller.actor, source=caller.source, via=caller.via,
                                        client=client_of(request))

