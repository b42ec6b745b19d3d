"""Uploads of the districts' files: ledgers (台账) and scored assessments. A dry run (the default) checks every
row and answers the report, or 422 with every problem located (the uploaded file's name, row, column, value,
reason); `dry_run=false` writes everything in one transaction, or nothing when any row is wrong.

Each route calls the service the CLI's `ledger import` / `assess import` calls, on the uploads kept as
temporary files named after the user's files (safegrade.api.uploads), so that a problem names the user's file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from fastapi import APIRouter, File, Query, UploadFile

from safegrade.api import problems
from safegrade.api.deps import Acting, require_csrf
from safegrade.api.uploads import Received, UploadRoute, located, received
from safegrade.errors import InputErrors
from safegrade.services.assessment import AssessmentReport, import_assessments
from safegrade.services.ledger import ImportReport, check_overrides_from, import_ledger

router = APIRouter(prefix="/imports", tags=["imports 导入"], route_class=UploadRoute)

LEDGER_SUFFIXES = (".xlsx", ".csv")
ASSESSMENT_SUFFIXES = (".xlsx", ".yaml", ".yml", ".json")
DRY_RUN = Annotated[bool, Query(description="只检查，不写入（默认）；false 则全部写入，或有任何错误时什么也不写")]
Report = TypeVar("Report", ImportReport, AssessmentReport)


def _run(kept: Sequence[Received], what: str, dry_run: bool, call: Callable[[], Report]) -> Report:
    """The service's report with the user's file names; its problems as one 422 problem, each located."""
    try:
        report = call()
    except InputErrors as exc:
        raise located(exc, kept) from None
    names = [r.name for r in kept]
    if report.problems:
        raise located(InputErrors(f"{what} of {', '.join(str(r.path) for r in kept)}",
                                  list(report.problems), field="files",
                                  value=names, code="invalid_rows"), kept)
    return dataclasses.replace(report, files=names, dry_run=dry_run)


@router.post("/ledger", response_model=ImportReport, summary="导入台账（先检查，后写入）",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 413, 415, 422, 503))
def import_ledger_files(
    ctx: Acting,
    files: Annotated[list[UploadFile], File(description="台账文件（.xlsx 或 .csv），一个或多个")],
    dry_run: DRY_RUN = True,
    amend: Annotated[bool, Query(description="记录已登记企业的变更（须有相应权限）")] = False,
    accept_check: Annotated[list[str] | None, Query(description="CODE=REASON：接受校验位不符的信用代码",
                                                     max_length=100)] = None,
) -> ImportReport:
    """Every row checked; with `dry_run=false` all written in one transaction, or nothing."""
    overrides = check_overrides_from(accept_check or [], "accept_check")
    with received(ctx.settings, files, suffixes=LEDGER_SUFFIXES) as kept:
        return _run(kept, "ledger import", dry_run, lambda: import_ledger(
            ctx, [r.path for r in kept], dry_run=dry_run, amend=amend, check_overrides=overrides))


@router.post("/assessments", response_model=AssessmentReport, summary="导入评估记录（先检查，后写入）",
             dependencies=[require_csrf], responses=problems.responses(401, 403, 413, 415, 422, 503))
def import_assessment_files(
    ctx: Acting,
    files: Annotated[list[UploadFile], File(description="评估文件（.xlsx：工作表 评估、扣分；或 .yaml/.json）")],
    dry_run: DRY_RUN = True,
) -> AssessmentReport:
    """Scores, results and findings derived by the rules; with `dry_run=false` all or nothing."""
    with received(ctx.settings, files, suffixes=ASSESSMENT_SUFFIXES) as kept:
        return _run(kept, "assessment import", dry_run,
                    lambda: import_assessments(ctx, [r.path for r in kept], dry_run=dry_run))
