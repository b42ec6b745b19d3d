"""Reading an assessment file of any kind, and writing assessments as YAML or a workbook."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import yaml

from safegrade.domain.scoring import AssessmentRules
from safegrade.errors import InvalidInput
from safegrade.io.assessment.checks import _Checker
from safegrade.io.assessment.documents import _read_documents
from safegrade.io.assessment.model import (
    _YAML_DUMPER,
    ALLOWED_EXTENSIONS,
    ASSESSMENT_COLUMNS,
    ASSESSMENT_SHEET,
    DEDUCTION_COLUMNS,
    DEDUCTION_SHEET,
    AssessmentInput,
)
from safegrade.io.assessment.workbook import _read_workbook
from safegrade.io.cells import RowProblem


def read_assessments(path: Path, rules: AssessmentRules, *, accepted_codes: Collection[str] = ()
                     ) -> tuple[list[AssessmentInput], list[RowProblem]]:
    """Read and check an assessment file: the valid assessments and a problem for everything wrong.

    accepted_codes are credit codes whose failing check character an authorised user accepted (with a
    recorded reason) when the ledger was imported; the caller knows them from the database.
    """
    file = str(path)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        raise InvalidInput(f"{path}: unknown file type {path.suffix or '(none)'!r}; an assessment file is "
                           f"{', '.join(ALLOWED_EXTENSIONS)}", code="wrong_file_type", field="paths", value=str(path),
                           allowed=list(ALLOWED_EXTENSIONS))
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", code="no_such_file", field="paths", value=str(path))
    c = _Checker(file, rules, accepted_codes, None)
    pendings = _read_workbook(path, c) if suffix == ".xlsx" else _read_documents(path, c)
    return c.results(pendings), c.problems


def _mapping(a: AssessmentInput) -> dict[str, Any]:
    return {
        "credit_code": a.credit_code, "campaign": a.campaign, "assessed_on": a.assessed_on,
        "assessors": list(a.assessors), "methods": list(a.methods), "not_applicable": list(a.not_applicable),
        "materials": dict(a.materials), "remarks": a.remarks,
        "deductions": [{"item": d.item, "points": d.points, "content": d.content, "rectify": d.rectify}
                       for d in a.deductions],
    }


def assessments_to_yaml(assessments: Sequence[AssessmentInput]) -> str:
    """The assessments as a YAML list that read_assessments reads back equal."""
    return yaml.dump([_mapping(a) for a in assessments], Dumper=_YAML_DUMPER, allow_unicode=True,
                     sort_keys=False, width=1000)


def write_assessments_xlsx(assessments: Sequence[AssessmentInput], path: Path, rules: AssessmentRules) -> None:
    """The assessments as a workbook (sheets 评估 and 扣分, Chinese headers) that read_assessments reads
    back equal. Dates are date cells, credit codes text, points numbers."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(ASSESSMENT_SHEET)
    *first, remarks = (c.headers[0] for c in ASSESSMENT_COLUMNS)
    sheet.append([*first, *rules.materials, remarks])
    for a in assessments:
        sheet.append([a.credit_code, a.campaign, a.assessed_on, "、".join(a.assessors), "、".join(a.methods),
                      "、".join(a.not_applicable), *(a.materials.get(m) for m in rules.materials), a.remarks])
    sheet = wb.create_sheet(DEDUCTION_SHEET)
    sheet.append([c.headers[0] for c in DEDUCTION_COLUMNS])
    for a in assessments:
        for d in a.deductions:
            item = rules.items.get(d.item)
            element = rules.elements[item.element].label if item else ""
            points = int(d.points) if float(d.points).is_integer() else d.points
            sheet.append([a.credit_code, a.campaign, element, d.item, points, d.content, "是" if d.rectify else "否"])
    wb.save(Path(path))
