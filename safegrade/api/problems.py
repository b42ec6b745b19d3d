"""The API's edge for refusals: every error leaves as an RFC 9457 problem (`application/problem+json`).

A service raises one of safegrade's errors with its parts (code, field, value, allowed, hint); here it
becomes a status, a Chinese title for its stable code, the service's message as `detail`, and `errors`:
one entry per problem, each with its location — a body, query or path field, or a file, row and column of
an upload. FastAPI's own request validation and unknown routes leave in the same shape, and nothing leaves
with a traceback: an unexpected failure is logged on the server and answered 500 with a reference to it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from safegrade.errors import (
    PLAIN,
    Conflict,
    Forbidden,
    InputErrors,
    InvalidInput,
    Locked,
    NotFound,
    Problem,
    SafegradeError,
    StoreError,
    Unauthenticated,
    Vocabulary,
)
from states.errors import EventNotAllowed, FieldError, GuardFailed, LifecycleError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("safegrade.api")

# The API names each field by itself (its JSON name) and says each hint in plain words.
API_VOCABULARY: Vocabulary = PLAIN

# A Chinese title per stable code; a code not listed takes its class's title.
TITLES: dict[str, str] = {
    "not_found": "未找到",
    "unknown_enterprise": "未找到该企业",
    "unknown_finding": "未找到该问题",
    "unknown_campaign": "未找到该评估批次",
    "unknown_actor": "未找到该账号",
    "forbidden": "无权进行此操作",
    "role_forbidden": "当前角色无权进行此操作",
    "read_only": "只读账号，不能修改",
    "out_of_scope": "不在管辖范围内",
    "csrf_failed": "表单校验失败，请刷新页面后重试",
    "password_change_required": "请先修改初始密码",
    "unauthenticated": "请先登录",
    "not_signed_in": "请先登录",
    "bad_credentials": "账号或密码错误",
    "session_expired": "登录已过期，请重新登录",
    "token_invalid": "访问令牌无效或已过期",
    "locked": "登录失败次数过多，已暂时锁定",
    "conflict": "数据已被他人修改",
    "version_moved": "数据已被他人修改，请刷新后重试",
    "precondition_required": "缺少 If-Match 版本号",
    "invalid_if_match": "If-Match 不是有效的版本号",
    "invalid_cursor": "分页游标无效",
    "nul_character": "文本中含有不允许的空字符（NUL）",
    "value_not_storable": "数值超出范围或含有无法保存的字符",
    "invalid_flag": "标记名称有误",
    "invalid_limit": "每页条数有误",
    "unknown_state": "未知的状态",
    "unknown_district": "未知的区",
    "invalid_date": "日期或时刻格式有误",
    "time_goes_back": "时刻早于最近一次记录",
    "not_by_hand": "该事件由专门的命令记录，不能手工触发",
    "required": "缺少必填项",
    "no_actor": "缺少执行人",
    "invalid_input": "输入有误",
    "invalid_rows": "文件中有错误行，未写入任何数据",
    "weak_password": "密码不符合安全要求",
    "request_invalid": "请求参数有误",
    "too_large": "文件过大",
    "unsupported_type": "不支持的文件类型",
    "event_not_allowed": "当前状态下不能进行此操作",
    "unknown_event": "未知的操作",
    "guard_failed": "不满足操作条件",
    "missing_field": "缺少必填项",
    "unknown_field": "不认识的字段",
    "invalid_value": "字段值有误",
    "store_error": "数据库暂时不可用",
    "schema_outdated": "数据库结构需要升级",
    "route_not_found": "没有这个地址",
    "method_not_allowed": "不支持该请求方法",
    "internal_error": "服务器内部错误",
}

_BY_CLASS: tuple[tuple[type[Exception], int, str], ...] = (
    (Unauthenticated, 401, "unauthenticated"),
    (Locked, 429, "locked"),
    (NotFound, 404, "not_found"),
    (Forbidden, 403, "forbidden"),
    (Conflict, 409, "conflict"),
    (InvalidInput, 422, "invalid_input"),
    (StoreError, 503, "store_error"),
    (EventNotAllowed, 409, "event_not_allowed"),
    (GuardFailed, 409, "guard_failed"),
    (FieldError, 422, "invalid_value"),
)


class Location(BaseModel):
    """Where a problem is: a request field (`field`), or a cell of an uploaded file (file, row, column)."""

    model_config = ConfigDict(extra="forbid")
    field: str | None = Field(None, description="请求中的字段（body、query 或 path 参数名）")
    file: str | None = Field(None, description="上传的文件名")
    row: int | None = Field(None, description="行号（从 1 起，表头在第 1 行）")
    column: str | None = Field(None, description="列名")


class ProblemItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    location: Location
    value: Any = None
    message: str
    hint: str | None = None


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with safegrade's stable `code` and every located problem in `errors`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "type": "/problems/event_not_allowed", "title": "当前状态下不能进行此操作", "status": 409,
        "detail": "event 'close' is not allowed in state 'graded'; allowed here: open_assessment",
        "code": "event_not_allowed", "errors": [{"location": {"field": "event"}, "value": "close",
                                                  "message": "not allowed in state 'graded'", "hint": None}]}]})
    type: str = Field(description="/problems/<code>")
    title: str = Field(description="简短的中文标题，随 code 固定")
    status: int
    detail: str = Field(description="这一次的具体原因")
    code: str = Field(description="稳定的错误代码（snake_case）")
    instance: str | None = Field(None, description="请求的路径")
    errors: list[ProblemItem] = Field(default_factory=list)


def title(code: str, fallback: str) -> str:
    return TITLES.get(code) or TITLES.get(fallback, fallback)


# codes whose status is not their class's
_BY_CODE: dict[str, int] = {"precondition_required": 428, "too_large": 413, "unsupported_type": 415}


def _status_of(exc: Exception) -> tuple[int, str]:
    code = getattr(exc, "code", None)
    for cls, status, fallback in _BY_CLASS:
        if isinstance(exc, cls):
            return _BY_CODE.get(code or "", status), fallback
    return 500, "internal_error"


def _items(exc: Exception, detail: str) -> list[ProblemItem]:
    if isinstance(exc, InputErrors):
        return [_problem_item(p) for p in exc.problems]
    field = getattr(exc, "field", None)
    if field is None:
        return []
    hint = getattr(exc, "hint", None)
    return [ProblemItem(location=Location(field=field), value=_plain(getattr(exc, "value", None)), message=detail,
                        hint=API_VOCABULARY.hint(hint) if hint else None)]


def _problem_item(p: Problem | str) -> ProblemItem:
    if not isinstance(p, Problem):
        return ProblemItem(location=Location(), message=str(p))
    where = Location(field=p.field) if p.field and not p.file else Location(file=p.file, row=p.row,
                                                                            column=p.column or None)
    return ProblemItem(location=where, value=p.value, message=p.reason,
                       hint=API_VOCABULARY.hint(p.hint) if p.hint else None)


def _plain(value: object) -> object:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def problem_response(status: int, code: str, detail: str, *, instance: str | None = None,
                     errors: Sequence[ProblemItem] = (), headers: dict[str, str] | None = None,
                     fallback: str = "") -> JSONResponse:
    body = ProblemDetails(type=f"/problems/{code}", title=title(code, fallback or code), status=status,
                          detail=detail, code=code, instance=instance, errors=list(errors))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error_response(exc: Exception, request: Request | None = None, *,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem for one of safegrade's (or the lifecycle's) refusals, with `headers` besides its own."""
    status, fallback = _status_of(exc)
    code = getattr(exc, "code", None) or fallback
    detail = exc.render(API_VOCABULARY) if isinstance(exc, SafegradeError) else str(exc)
    headers = dict(headers or {})
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Locked) and request is not None:
        until = exc.value
        now = getattr(request.state, "now", None)
        if until is not None and now is not None:
            headers["Retry-After"] = str(max(1, int((until - now).total_seconds()) + 1))
    if isinstance(exc, Conflict) and code == "version_moved" and request is not None \
            and request.headers.get("if-match") is not None:
        status = 412
    return problem_response(status, code, detail, instance=request.url.path if request else None,
                            errors=_items(exc, detail), headers=headers or None, fallback=fallback)


def install(app: FastAPI) -> None:
    """Answer every refusal, validation failure, unknown route and unexpected failure as a problem."""

    @app.exception_handler(SafegradeError)
    async def _safegrade(request: Request, exc: SafegradeError) -> JSONResponse:
        return error_response(exc, request)

    @app.exception_handler(LifecycleError)
    async def _lifecycle(request: Request, exc: LifecycleError) -> JSONResponse:
        return error_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        items = []
        for e in exc.errors():
            loc = [str(part) for part in e.get("loc", ())]
            where = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
            items.append(ProblemItem(location=Location(field=where or None), value=_plain(e.get("input")),
                                     message=str(e.get("msg", ""))))
        detail = "; ".join(f"{i.location.field}: {i.message}" for i in items) or "invalid request"
        return problem_response(422, "request_invalid", detail, instance=request.url.path, errors=items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 400:  # a body FastAPI could not even parse: invalid input, as any other (422)
            return problem_response(422, "request_invalid", str(exc.detail), instance=request.url.path,
                                    errors=[ProblemItem(location=Location(field="body"), message=str(exc.detail))])
        code = {404: "route_not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
        return problem_response(exc.status_code, code, str(exc.detail), instance=request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        ref = secrets.token_hex(6)
        log.error("unexpected failure %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
        return problem_response(500, "internal_error", f"an unexpected failure, logged on the server as {ref}",
                                instance=request.url.path)


DESCRIBED: dict[int, str] = {
    400: "请求有误", 401: "未登录或令牌无效", 403: "无权操作", 404: "未找到（或不在管辖范围内）", 409: "状态冲突",
    412: "版本已变化（If-Match 过期）", 413: "文件过大", 415: "文件类型不支持", 422: "输入有误", 428: "缺少 If-Match",
    429: "登录失败次数过多", 503: "数据库暂时不可用"}


# What each route may answer besides its success (for the OpenAPI document).
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ProblemDetails, "description": DESCRIBED.get(s, ""),
                "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
            for s in statuses}
