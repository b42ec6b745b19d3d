"""The audit trail: verification (as `audit verify`) and the JSON Lines export (as `audit export`), as far as
the caller may read it (the services' scope: a district officer, the chains of its district)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from safegrade.api import problems
from safegrade.api.deps import Acting
from safegrade.api.downloads import file_download, scratch
from safegrade.api.text import Text
from safegrade.services import auditing
from safegrade.services.auditing import SecurityLogCheck

router = APIRouter(prefix="/audit", tags=["audit 审计"])


class BreakOut(BaseModel):
    """The first broken event of a chain: where, what kind of change, and what was found."""

    enterprise: Text = Field(description="统一社会信用代码（检查点为 '(checkpoints)'）")
    seq: int
    kind: str
    detail: str


class AuditVerified(BaseModel):
    """What `audit verify` found (the keys of its `--json`): every chain, head, projection and checkpoint."""

    ok: bool = Field(description="全部审计链、链头、投影与检查点均验证通过")
    events: int
    chains: int
    checkpoints: int
    breaks: list[BreakOut] = Field(description="每条断裂的链的第一个断点")
    security_log: SecurityLogCheck | None = Field(None, description="安全日志链的验证（只查看本区的读者不含）")


@router.get("/verify", response_model=AuditVerified, summary="验证审计链",
            responses=problems.responses(401, 403, 422, 503))
def verify(ctx: Acting) -> AuditVerified:
    """Recompute every hash chain as of now; each broken chain's first broken event and what was done to it."""
    report = auditing.verify_audit(ctx)
    return AuditVerified(ok=report.ok, events=report.events, chains=report.chains, checkpoints=report.checkpoints,
                         breaks=[BreakOut(enterprise=b.enterprise, seq=b.seq, kind=b.kind,
                                                  detail=b.detail) for b in report.breaks],
                         security_log=report.security_log)


@router.get("/export", response_class=FileResponse, summary="导出审计链（JSON Lines）",
            responses={**problems.responses(401, 403, 422, 503), 200: {
                "description": "JSON Lines：首行为头部（events_up_to），其后每行一个事件或检查点",
                "content": {"application/x-ndjson": {"schema": {"type": "string", "format": "binary"}}}}})
def export(ctx: Acting) -> FileResponse:
    """The trail up to now for an outside reviewer (verify it with `python -m safegrade.audit.chain FILE`)."""
    name = f"audit-{ctx.now():%Y%m%d-%H%M%S}.jsonl"
    with scratch() as folder:
        auditing.export_audit(ctx, folder / name)
    return file_download(folder / name, folder, name, "jsonl")
