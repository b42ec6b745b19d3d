"""Enterprises: the list (filters, search, keyset pages), one enterprise now or as it stood, its timeline, and
firing a lifecycle event on it with its version in `If-Match` (optimistic concurrency over HTTP).

Each route calls the one service function the CLI calls (`enterprise list|show`, `fire`); what the caller
may see or do is the services' policy, so an enterprise outside the caller's scope answers 404 here as a
missing one does.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from safegrade.api import problems
from safegrade.api.deps import Acting, as_of, require_csrf
from safegrade.clock import parse_instant
from safegrade.errors import Conflict, InvalidInput
from safegrade.services import enterprise, lifecycle
from safegrade.services.context import Context
from safegrade.services.enterprise import EnterpriseNow, EnterprisePage, EnterpriseThen, TimelineEvent
from safegrade.services.lifecycle import Fired

router = APIRouter(prefix="/enterprises", tags=["enterprises 企业"])

MAX_PAGE = 200
CODE = Annotated[str, Path(description="统一社会信用代码（18 位）", examples=["91120114MA00000019"],
                           min_length=1, max_length=64)]
AS_OF = Annotated[str | None, Query(alias="as_of",
                                    description="读取该时刻的状态：YYYY-MM-DD 或 ISO 时刻（无时区按部署时区）",
                                    examples=["2023-09-15", "2023-09-15T10:00:00+08:00"], max_length=64)]

_ETAG = re.compile(r'^\s*(?:"(?P<quoted>\d{1,18})"|(?P<bare>\d{1,18}))\s*$')

EXAMPLE_VIEW: dict[str, Any] = {
    "credit_code": "91120114MA00000019", "name": "天津市测试0001机械有限公司", "district": "120114",
    "sector": "机械", "in_gongmao": True, "level": "三级", "certificate_no": "津AQBJXⅢ202200001",
    "graded_on": "2022-03-01", "valid_until": "2025-02-28", "address": "", "contact": "", "phone": "",
    "remarks": "", "open_findings": 0, "open_major_hazards": 0, "last_result": None, "publicity_ends_on": None,
    "revocation_reason": None, "revoked_on": None, "regrade_from": None, "validity_ended_on": None, "flags": [],
    "state": "graded", "version": 1, "state_label": "已定级", "district_name": "武清区", "sector_label": "机械",
    "revocation_reason_label": None, "grade": "valid", "grade_label": "有效",
}


EXAMPLE_NOW: dict[str, Any] = {
    **EXAMPLE_VIEW, "allowed_events": ["summon", "propose_revocation"], "overdue_findings": 0,
    "earliest_overdue_due_on": None, "judged_for": "wq", "judgement": "按 wq（区应急管理局）的权限与当前状态判断",
    "events": [{"event": "summon", "label": "约谈", "available": True, "needs": [], "refused_by": None,
                "reason": None}],
}
EXAMPLE_FIRED: dict[str, Any] = {
    "credit_code": "91120114MA00000019", "event": "summon", "from_state": "graded", "to_state": "interview",
    "version": 2, "hash": "4f1c…", "at": "2023-06-01T09:00:00+08:00", "changes": {},
}


class FireBody(BaseModel):
    """A lifecycle event to fire: its name, why (recorded in the audit trail) and the fields it takes."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"event": "open_assessment", "reason": "2023年运行质量评估抽查", "data": {}},
        {"event": "record_interview", "reason": "约谈记录", "data": {"interviewed_on": "2023-07-20"}}]})
    event: str = Field(min_length=1, max_length=64, description="事件名（见 `safegrade diagram`）")
    reason: str = Field(min_length=1, max_length=2000, description="原因，记入审计链")
    data: dict[str, Any] = Field(default_factory=dict, description="事件所需字段，键为字段名")


def _instant(ctx: Context, text: str | None) -> Any:
    return parse_instant(text, ctx.settings.zone) if text else None


def _etag(version: int) -> str:
    return f'"{version}"'


@router.get("", response_model=EnterprisePage, summary="企业列表（筛选、搜索、分页）",
            responses={**problems.responses(401, 403, 422, 503), 200: {"content": {"application/json": {
                "example": {"items": [EXAMPLE_VIEW], "next": "120114:91120114MA00000019"}}}}})
def list_enterprises(
    ctx: Acting,
    state: Annotated[str | None, Query(description="只看该状态（如 rectifying）", max_length=64)] = None,
    district: Annotated[str | None, Query(description="只看该区（名称或代码）", max_length=64)] = None,
    overdue: Annotated[bool, Query(description="只看有逾期未整改问题的企业")] = False,
    flag: Annotated[str | None, Query(description="只看带该标记的企业（如 not_gongmao）", max_length=64)] = None,
    q: Annotated[str | None, Query(description="企业名称的一部分，或统一社会信用代码的开头", max_length=200)] = None,
    after: Annotated[str | None, Query(description="上一页返回的 `next`", max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"每页条数（最多 {MAX_PAGE}）")] = 50,
) -> EnterprisePage:
    """The enterprises the caller may see, as they stand now, ordered by district then credit code; a page at a
    time (hand back `next` as `after`)."""
    return enterprise.enterprise_page(ctx, state=state, district=district, flag=flag, overdue=overdue, q=q,
                                      after=after, limit=limit)


@router.get("/{code}", response_model=EnterpriseNow | EnterpriseThen, summary="企业详情（可按时刻回看）",
            responses={**problems.responses(401, 403, 404, 422, 503), 200: {
                "headers": {"ETag": {"description": "企业的版本号，触发事件时放在 If-Match 中",
                                     "schema": {"type": "string"}}},
                "content": {"application/json": {"example": EXAMPLE_NOW}}}})
def show_enterprise(ctx: Acting, code: CODE, response: Response, as_of_: AS_OF = None,
                    ) -> EnterpriseNow | EnterpriseThen:
    """One enterprise now, with the events the caller could fire; with `as_of`, as it stood then (rebuilt from its
    audit trail). The `ETag` is its version (as of then)."""
    instant = _instant(ctx, as_of_)
    shown = enterprise.show_enterprise(as_of(ctx, instant), code, as_of=instant)
    response.headers["ETag"] = _etag(shown.version)
    return shown


@router.get("/{code}/timeline", response_model=list[TimelineEvent], summary="企业的审计时间线",
            responses=problems.responses(401, 403, 404, 422, 503))
def enterprise_timeline(ctx: Acting, code: CODE, as_of_: AS_OF = None) -> list[TimelineEvent]:
    """The enterprise's audit events, oldest first, with Chinese labels (up to `as_of` when given)."""
    return enterprise.timeline(as_of(ctx, _instant(ctx, as_of_)), code)


@router.post("/{code}/events", response_model=Fired, summary="触发生命周期事件（须带 If-Match）",
             dependencies=[require_csrf],
             responses={**problems.responses(401, 403, 404, 409, 412, 422, 428, 503), 200: {
                 "headers": {"ETag": {"description": "事件之后的新版本号", "schema": {"type": "string"}}},
                 "content": {"application/json": {"example": EXAMPLE_FIRED}}}})
def fire_event(request: Request, ctx: Acting, code: CODE, response: Response,
               body: Annotated[FireBody, Body()],
               if_match: Annotated[str | None, Header(alias="If-Match", description='企业的版本号，即 ETag，如 "3"',
                                                      max_length=64)] = None) -> Fired | JSONResponse:
    """Fire `event` on the enterprise if it is still at the version in `If-Match`: 412 with the current `ETag`
    when it moved meanwhile, 428 without `If-Match`. Role, scope, fields and guards are the service's."""
    expected = _expected_version(if_match)
    try:
        fired = lifecycle.fire_event(ctx, code, body.event, reason=body.reason, data=body.data,
                                     expected_version=expected)
    except Conflict as exc:
        if exc.code != "version_moved":
            raise
        return problems.error_response(exc, request, headers={"ETag": _etag(_current_version(ctx, code, exc))})
    response.headers["ETag"] = _etag(fired.version)
    return fired


def _expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise Conflict("firing an event needs the enterprise's version (its ETag) in If-Match",
                             code="precondition_required", field="If-Match")
    found = _ETAG.match(if_match)
    if found is None:
        raise InvalidInput(f'If-Match: {if_match!r} is not an enterprise version; send its ETag, e.g. "3"',
                           code="invalid_if_match", field="If-Match", value=if_match)
    return int(found["quoted"] or found["bare"])


def _current_version(ctx: Context, code: str, exc: Conflict) -> int:
    allowed = getattr(exc, "allowed", None)
    if allowed:
        return int(allowed[0])
    return enterprise.show_enterprise(ctx, code).version
