"""Findings and their rectification loop (整改闭环): the list, one finding, evidence submitted as a multipart
upload (streamed to a temporary file with its SHA-256, size and type checked, then kept by the evidence store
by SHA-256), verification, rejection, and an evidence file's download.

Each route calls the service the CLI's `finding list|submit|verify|reject` calls; who may see or do what is
the services' policy (a finding outside the caller's scope answers 404 as a missing one does).
"""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Body, File, Form, Path, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from safegrade.api import problems
from safegrade.api.deps import Acting, require_csrf
from safegrade.api.downloads import attachment
from safegrade.api.text import MAX_ID, TEXT, Text
from safegrade.api.uploads import UploadRoute, received
from safegrade.services import finding
from safegrade.services.finding import FindingRejected, FindingRow, FindingSubmitted, FindingVerified

router = APIRouter(prefix="/findings", tags=["findings 整改"], route_class=UploadRoute)

FINDING_ID = Annotated[int, Path(description="问题编号", ge=1, le=MAX_ID)]


class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "现场复核，已整改到位"}]})
    note: Text = Field("", max_length=2000, description="验收说明（可空）")


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "除尘系统仍未采用防爆设计"}]})
    reason: Text = Field(min_length=1, max_length=2000, description="退回原因：还有什么没有整改到位")


@router.get("", response_model=list[FindingRow], summary="问题列表（整改期限、状态、材料、逾期天数）",
            responses=problems.responses(401, 403, 422, 503))
def list_findings(
    ctx: Acting,
    code: Annotated[str | None, Query(description="只看该企业（统一社会信用代码）",
                                      max_length=64, pattern=TEXT)] = None,
    status: Annotated[str | None, Query(description="open | submitted | verified", max_length=32, pattern=TEXT)] = None,
    district: Annotated[str | None, Query(description="只看该区（名称或代码）", max_length=64, pattern=TEXT)] = None,
    overdue: Annotated[bool, Query(description="只看已过整改期限且未验收的")] = False,
) -> list[FindingRow]:
    """The findings the caller may see, soonest deadline first, with their evidence and days overdue."""
    return finding.list_findings(ctx, credit_code=code, status=status, overdue=overdue, district=district)


@router.get("/{finding_id}", response_model=FindingRow, summary="一个问题",
            responses=problems.responses(401, 403, 404, 422, 503))
def show_finding(ctx: Acting, finding_id: FINDING_ID) -> FindingRow:
    return finding.show_finding(ctx, finding_id)


@router.post("/{finding_id}/evidence", response_model=FindingSubmitted, summary="提交整改材料（上传文件）",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 404, 413, 415, 422, 503))
def submit_evidence(
    ctx: Acting,
    finding_id: FINDING_ID,
    files: Annotated[list[UploadFile], File(description="整改材料文件（一个或多个）；按 SHA-256 保存")],
    note: Annotated[str, Form(max_length=2000, pattern=TEXT, description="说明（可空）")] = "",
) -> FindingSubmitted:
    """Each file is streamed to a temporary file while its SHA-256 is computed, refused past the size limit
    (413) or outside the allowed types (415, the declared type and the first bytes must agree), named by the
    base name of its file name only; the evidence store then keeps it by SHA-256. The temporary files are
    removed whatever happens; a refusal keeps nothing."""
    with received(ctx.settings, files) as kept:
        return finding.submit_finding(ctx, finding_id, [r.path for r in kept], note)


@router.post("/{finding_id}/verify", response_model=FindingVerified, summary="验收通过（销号）",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 404, 422, 503))
def verify_finding(ctx: Acting, finding_id: FINDING_ID,
                   body: Annotated[VerifyBody | None, Body()] = None) -> FindingVerified:
    """Accept the rectification (by a regulator who did not submit it)."""
    return finding.verify_finding(ctx, finding_id, body.note if body else "")


@router.post("/{finding_id}/reject", response_model=FindingRejected, summary="验收不通过（退回）",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 404, 422, 503))
def reject_finding(ctx: Acting, finding_id: FINDING_ID, body: Annotated[RejectBody, Body()]) -> FindingRejected:
    """Send the rectification back: the finding is open again, with why."""
    return finding.reject_finding(ctx, finding_id, body.reason)


@router.get("/{finding_id}/evidence/{sha256}", summary="下载整改材料", response_class=FileResponse,
            responses={**problems.responses(401, 403, 404, 422, 503),
                       200: {"description": "文件内容（附件）", "content": {"application/octet-stream": {}}}})
def download_evidence(ctx: Acting, finding_id: FINDING_ID,
                      sha256: Annotated[str, Path(pattern="^[0-9a-fA-F]{64}$", description="文件的 SHA-256")]
                      ) -> FileResponse:
    """An evidence file of a finding the caller may see, as an attachment under the name it was submitted with."""
    found = finding.evidence_content(ctx, finding_id, sha256)
    media = mimetypes.guess_type(found.file, strict=False)[0] or "application/octet-stream"
    return FileResponse(found.path, media_type=media, headers=attachment(found.file))
