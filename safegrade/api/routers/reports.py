"""Reports as downloads: the circular (通报) of a campaign in docx, html, md or json; the reviewer's closed-loop
report (整改闭环核查报告) and the district oversight report (各区监督报告) in html, xlsx or json. Each is
gathered by the service the CLI's `report circular|loop|districts` calls and rendered by the same renderer;
a file is generated into a temporary folder, sent, and the folder removed. Scope is the services'."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse

from safegrade.api import problems
from safegrade.api.deps import Acting
from safegrade.api.downloads import MEDIA_TYPES, bytes_download, file_download, scratch
from safegrade.api.text import TEXT
from safegrade.reports.circular import render
from safegrade.reports.destination import circular_name, default_path
from safegrade.reports.districts import write_districts
from safegrade.reports.loop import write_loop
from safegrade.services.reporting.circular import circular_figures
from safegrade.services.reporting.districts import district_report
from safegrade.services.reporting.loop import loop_report

router = APIRouter(prefix="/reports", tags=["reports 报告"])

CAMPAIGN = Annotated[str, Path(description="评估批次名称", examples=["2023年运行质量评估"], min_length=1,
                               max_length=200, pattern=TEXT)]
ReviewFormat = Literal["html", "xlsx", "json"]
REVIEW_FORMAT = Annotated[ReviewFormat, Query(description="html（默认）、xlsx 或 json")]


def _downloads(*formats: str) -> dict[int | str, dict[str, Any]]:
    return {**problems.responses(401, 403, 404, 422, 503),
            200: {"description": "报告文件（附件，Content-Disposition 给出文件名）",
                  "content": {MEDIA_TYPES[f].split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                              for f in formats}}}


@router.get("/circular/{campaign}", response_class=Response, summary="评估批次通报（docx/html/md/json）",
            responses=_downloads("docx", "html", "md", "json"))
def circular(ctx: Acting, campaign: CAMPAIGN,
             fmt: Annotated[Literal["docx", "html", "md", "json"],
                            Query(alias="format", description="docx、html、md 或 json")] = "docx") -> Response:
    """The circular (通报) of a campaign: counts, results, interviews, revocations, problem types and district
    failings, with a table and a chart per district."""
    return bytes_download(render(circular_figures(ctx, campaign), fmt), circular_name(campaign, fmt), fmt)


@router.get("/loop", response_class=FileResponse, summary="整改闭环核查报告（html/xlsx/json）",
            responses=_downloads("html", "xlsx", "json"))
def loop(ctx: Acting,
         code: Annotated[str | None, Query(description="一家企业（统一社会信用代码）；或给出 campaign",
                                           max_length=64, pattern=TEXT)] = None,
         campaign: Annotated[str | None, Query(description="该评估批次的全部企业",
                                               max_length=200, pattern=TEXT)] = None,
         district: Annotated[str | None, Query(description="与 campaign 同用：只看该区",
                                               max_length=64, pattern=TEXT)] = None,
         fmt: Annotated[ReviewFormat, Query(alias="format", description="html（默认）、xlsx 或 json")] = "html",
         ) -> FileResponse:
    """Findings, evidence (SHA-256), verification, days, reminders and escalations of one enterprise or a
    campaign's members, with the audit chain re-verified first."""
    report = loop_report(ctx, code, campaign=campaign, district=district)
    name = campaign if campaign is not None else report.enterprises[0].credit_code
    if report.district_name:
        name = f"{name}-{report.district_name}"
    file_name = default_path("loop", name, report.as_of, fmt).name
    with scratch() as folder:
        path = write_loop(report, folder / file_name, fmt)
    return file_download(path, folder, file_name, fmt)


@router.get("/districts", response_class=FileResponse, summary="各区评估工作监督报告（html/xlsx/json）",
            responses=_downloads("html", "xlsx", "json"))
def districts(ctx: Acting,
              campaign: Annotated[str, Query(description="评估批次名称", min_length=1, max_length=200, pattern=TEXT)],
              fmt: Annotated[ReviewFormat, Query(alias="format", description="html（默认）、xlsx 或 json")] = "html",
              ) -> FileResponse:
    """Completion on time, interviews, revocations and the data-quality flags per district, each with the
    audit events behind it."""
    report = district_report(ctx, campaign)
    file_name = default_path("districts", campaign, report.as_of, fmt).name
    with scratch() as folder:
        path = write_districts(report, folder / file_name, fmt)
    return file_download(path, folder, file_name, fmt)
