"""The app factory: one context per process, the routes under /api/v1, problems and security headers."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from fastapi import FastAPI

from safegrade.api import problems
from safegrade.api.guards import NulGuard
from safegrade.api.headers import SecurityHeaders
from safegrade.api.routers import ROUTERS
from safegrade.clock import Clock
from safegrade.services.context import Context, open_context
from safegrade.settings import Settings, load_settings

PREFIX = "/api/v1"

DESCRIPTION = """safegrade 的 HTTP 接口：与命令行共用同一套服务（同一用例只写一次）。

- 身份：浏览器会话（`POST /api/v1/auth/sign-in` 设置 Cookie，修改数据须带 `X-CSRF-Token`）或个人访问令牌
  （`Authorization: Bearer`）。
- 权限：市局全部；区局本区；企业仅本企业（只能提交整改材料）；审核人员只读。范围之外的对象答 404。
- 错误：RFC 9457 `application/problem+json`，带稳定的 `code` 与每个问题的位置（字段，或文件、行、列）。
- 并发：企业的版本号即 `ETag`；触发事件须带 `If-Match`，版本已变答 412。
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               context: Context | None = None) -> FastAPI:
    """The API over `context` (or one opened from `settings`, by default config.yaml and the environment)."""
    if context is None:
        settings = settings or load_settings()
        context = open_context(settings, clock=clock, source="api")
    app = FastAPI(title="safegrade API", version=version("safegrade"), description=DESCRIPTION,
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=None, redoc_url=None)
    app.state.safegrade = context
    problems.install(app)
    app.add_middleware(NulGuard)  # inside the headers: its refusals carry them too
    app.add_middleware(SecurityHeaders, hsts=context.settings.web.base_url.startswith("https://"))
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)
    _problems_in_openapi(app)
    return app


def _problems_in_openapi(app: FastAPI) -> None:
    """The OpenAPI document says what the API answers: every refusal is a problem (application/problem+json),
    also FastAPI's own request validation (422), which it would otherwise describe as its JSON
    HTTPValidationError on each route with parameters."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        problem = {"$ref": "#/components/schemas/ProblemDetails"}
        used = False
        for operation in (op for item in doc.get("paths", {}).values() for op in item.values()
                          if isinstance(op, dict) and "responses" in op):
            invalid = operation["responses"].get("422")
            if invalid is None:
                continue
            content = invalid.setdefault("content", {})
            schema = content.pop("application/json", {}).get("schema")
            if schema not in (None, {"$ref": "#/components/schemas/HTTPValidationError"}, problem):
                content["application/json"] = {"schema": schema}  # a route's own 422 body: kept
            content[problems.MEDIA_TYPE] = {"schema": problem}
            invalid["description"] = problems.DESCRIBED[422] if invalid.get("description") in (
                None, "Validation Error") else invalid["description"]
            used = True
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        if used and "ProblemDetails" not in schemas:
            schemas["ProblemDetails"] = problems.ProblemDetails.model_json_schema(
                ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """The app of one `safegrade web` worker (uvicorn's factory): settings from SAFEGRADE_CONFIG and the
    environment, which the command sets from its --config and --db."""
    return create_app(load_settings())
