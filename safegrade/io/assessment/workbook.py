"""Assessments in a workbook: a sheet 评估 (one row per assessment) and a sheet 扣分 (one row per
deduction)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from safegrade.domain import creditcode
from safegrade.errors import InvalidInput
from safegrade.io.assessment.checks import _Checker
from safegrade.io.assessment.model import (
    ASSESSMENT_COLUMNS,
    ASSESSMENT_SHEET,
    DEDUCTION_COLUMNS,
    DEDUCTION_SHEET,
    _Pending,
    _Raw,
    _Value,
)
from safegrade.io.cells import Column, cell_text, find_header, header_key, is_empty, map_header, open_workbook


def _header_map(columns: Sequence[Column], extra: Sequence[str]) -> dict[str, str]:
    table = {header_key(h): c.field for c in columns for h in (c.field, *c.headers)}
    table.update({header_key(name): f"material:{name}" for name in extra})
    return table


def _sheet_header(where: str, rows: Iterator[tuple[int, Sequence[object]]], columns: Sequence[Column],
                  materials: Sequence[str]) -> dict[str, tuple[int, str]]:
    """field -> (cell index, header as written) of the first row with two recognised headers among the
    first non-empty rows; raises InvalidInput for no header, unknown, repeated or missing columns."""
    table = _header_map(columns, materials)
    allowed = ", ".join([*(c.label for c in columns), *(f"{m} (copies, optional)" for m in materials)])
    found_header = find_header(rows, table)
    if found_header is None:
        raise InvalidInput(f"{where}: no header row; allowed headers: {allowed}", code="no_header", field="paths",
                           value=where, allowed=allowed)
    number, cells = found_header
    found, unknown_headers, repeats = map_header(cells, table)
    unknown = [repr(header) for header in unknown_headers]
    repeated = [f"{first!r} and {header!r}" for first, header, _ in repeats]
    missing = [c.label for c in columns if c.required and c.field not in found]
    reasons = [text for text in (
        f"missing required column(s) {', '.join(missing)}" if missing else "",
        f"unknown column header(s) {', '.join(unknown)}" if unknown else "",
        f"repeated column(s): {'; '.join(repeated)} mean the same; keep one" if repeated else "",
    ) if text]
    if reasons:
        raise InvalidInput(f"{where}, header row {number}: {'; '.join(reasons)}. Allowed headers: {allowed}",
                           code="bad_header", field="paths", value=where, allowed=allowed)
    return found


def _reader(columns: dict[str, tuple[int, str]], sheet: str,
            fields: Sequence[str]) -> Callable[[int, Sequence[object]], dict[str, _Value]]:
    """A function giving a row's cells as field -> _Value (a missing optional column as None)."""
    spec = [(name, *columns.get(name, (-1, name))) for name in fields]
    spec = [(name, index, f"{sheet}!{header}") for name, index, header in spec]

    def cells_of(number: int, cells: Sequence[object]) -> dict[str, _Value]:
        size = len(cells)
        return {name: _Value(number, column, cells[index] if 0 <= index < size else None)
                for name, index, column in spec}

    return cells_of


def _read_workbook(path: Path, c: _Checker) -> list[_Pending]:
    wb = open_workbook(path)
    try:
        sheets = {ws.title.strip(): ws for ws in wb.worksheets}
        missing = [name for name in (ASSESSMENT_SHEET, DEDUCTION_SHEET) if name not in sheets]
        if missing:
            raise InvalidInput(f"{path}: no worksheet named {' or '.join(missing)}; an assessment workbook has a "
                               f"sheet {ASSESSMENT_SHEET} (one row per assessment) and a sheet {DEDUCTION_SHEET} "
                               f"(one row per deduction); it has {', '.join(map(repr, sheets)) or 'none'}",
                               code="no_worksheet",
                               field="paths", value=str(path), allowed=[ASSESSMENT_SHEET, DEDUCTION_SHEET])
        c.epoch = wb.epoch
        materials = c.rules.materials
        ws = sheets[ASSESSMENT_SHEET]
        ws.reset_dimensions()
        rows = enumerate(ws.iter_rows(values_only=True), start=1)
        columns = _sheet_header(f"{path} (sheet {ASSESSMENT_SHEET})", rows, ASSESSMENT_COLUMNS, materials)
        present = [(m, columns[f"material:{m}"]) for m in materials if f"material:{m}" in columns]
        cells_of = _reader(columns, ASSESSMENT_SHEET, [col.field for col in ASSESSMENT_COLUMNS])
        pendings = []
        for number, cells in rows:
            if is_empty(cells):
                continue
            raw = _Raw(number, cells_of(number, cells))
            raw.materials = [(m, _Value(number, f"{ASSESSMENT_SHEET}!{header}",
                                        cells[i] if i < len(cells) else None)) for m, (i, header) in present]
            pendings.append(c.assessment(raw))

        ws = sheets[DEDUCTION_SHEET]
        ws.reset_dimensions()
        rows = enumerate(ws.iter_rows(values_only=True), start=1)
        columns = _sheet_header(f"{path} (sheet {DEDUCTION_SHEET})", rows, DEDUCTION_COLUMNS, ())
        cells_of = _reader(columns, DEDUCTION_SHEET, [col.field for col in DEDUCTION_COLUMNS])
        for number, cells in rows:
            if is_empty(cells):
                continue
            _attach(c, cells_of(number, cells))
    finally:
        wb.close()
    return pendings


def _attach(c: _Checker, d: dict[str, _Value]) -> None:
    """Check a 扣分 row against the assessment with its credit code and campaign."""
    code_v, campaign_v = d.pop("credit_code"), d.pop("campaign")
    code = creditcode.normalize(cell_text(code_v.value))
    campaign = cell_text(campaign_v.value)
    if not code or not campaign:
        for v in (code_v, campaign_v):
            if not cell_text(v.value):
                c.bad(v, "required; the cell is empty: it names the assessment (in sheet "
                         f"{ASSESSMENT_SHEET}) this deduction belongs to")
        return
    pending = c.by_key.get((code, campaign))
    if pending is None:
        c.bad(code_v, f"no assessment in sheet {ASSESSMENT_SHEET} has 统一社会信用代码 {code} and 评估批次 "
                      f"{campaign}; add its row there or correct this one")
        return
    c.deduction(pending, d)


