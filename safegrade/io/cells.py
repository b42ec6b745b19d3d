"""Reading spreadsheet cells as districts type them: text, dates (also Excel serials and Chinese
forms), header matching, and the row-precise problem every reader reports (file:row, column, value,
reason). Shared by the ledger reader and the assessment reader."""

from __future__ import annotations

import re
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from safegrade.errors import InvalidInput, Problem

HEADER_SCAN_ROWS = 10  # the header is looked for among this many first non-empty rows


@dataclass(frozen=True)
class Column:
    """One ledger column: the field it fills, its Chinese headers (first is canonical), required or not."""

    field: str
    headers: tuple[str, ...]
    required: bool

    @property
    def label(self) -> str:
        return f"{'/'.join(self.headers)} ({self.field}{'' if self.required else ', optional'})"


RowProblem = Problem  # one bad cell: where it is, what it holds and why it was refused


def header_key(text: str) -> str:
    """Headers match ignoring spaces (also full-width), case and a trailing '*' (必填 mark)."""
    return re.sub(r"[\s\u3000]+", "", text).casefold().rstrip("*＊")


def is_empty(cells: Sequence[object]) -> bool:
    return all(not cell_text(v) for v in cells)


# Full-width letters, digits and punctuation (U+FF01..U+FF5E) to half-width; full-width spaces to ' '.
HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20}
DATE_SEP = re.compile(r"(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})"
                       r"(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
DATE_ZH = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
EXCEL_SERIAL_MAX = 2958465  # 9999-12-31


def recognised(cells: Sequence[object], known: Container[str]) -> int:
    """How many of a row's cells are known headers (their header_key is in `known`)."""
    return sum(header_key(cell_text(v)) in known for v in cells)


def find_header(rows: Iterator[tuple[int, Sequence[object]]],
                known: Container[str]) -> tuple[int, Sequence[object]] | None:
    """The header row of a ledger or an assessment sheet: the first with two or more known headers among
    the first HEADER_SCAN_ROWS non-empty rows, else the first non-empty row (which then fails with a
    message naming its columns); None when there is no non-empty row. The rows are consumed up to it."""
    first: tuple[int, Sequence[object]] | None = None
    seen = 0
    for number, cells in rows:
        if is_empty(cells):
            continue
        if first is None:
            first = (number, cells)
        if recognised(cells, known) >= 2:
            return number, cells
        seen += 1
        if seen >= HEADER_SCAN_ROWS:
            break
    return first


def map_header(cells: Sequence[object], known: Mapping[str, str]
               ) -> tuple[dict[str, tuple[int, str]], list[str], list[tuple[str, str, str]]]:
    """A header row read with `known` (header_key -> field): field -> (cell index, header as written),
    the unknown headers, and each repeat as (first header, repeating header, field). Empty cells are
    ignored with their column. The caller refuses unknown, repeated and missing columns in its words."""
    found: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    repeated: list[tuple[str, str, str]] = []
    for index, value in enumerate(cells):
        header = cell_text(value)
        if not header:
            continue
        field = known.get(header_key(header))
        if field is None:
            unknown.append(header)
        elif field in found:
            repeated.append((found[field][1], header, field))
        else:
            found[field] = (index, header)
    return found, unknown, repeated


def cell_text(value: object) -> str:
    """A cell as text: strings stripped, whole numbers without '.0', date cells as YYYY-MM-DD."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_date_text(text: str) -> date | str:
    """A date from text in an accepted format, or the reason it is not one."""
    folded = text.translate(HALF_WIDTH)
    m = DATE_SEP.fullmatch(folded)
    parts: tuple[str, ...] | None = (m.group(1), m.group(3), m.group(4)) if m else None
    if parts is None:
        m = DATE_ZH.fullmatch(folded)
        parts = m.groups() if m else None
    if parts is None:
        return "not a date; write YYYY-MM-DD (also accepted: YYYY/M/D, YYYY.M.D, YYYY年M月D日)"
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return "no such day in the calendar; write YYYY-MM-DD"


def parse_serial(value: float, epoch: datetime) -> date | str:
    """A date from an Excel serial number (a date typed into a cell formatted as a number)."""
    from openpyxl.utils.datetime import from_excel

    if not 1 <= value <= EXCEL_SERIAL_MAX:
        return f"a number, but not an Excel date serial (1 to {EXCEL_SERIAL_MAX}); write YYYY-MM-DD"
    converted = from_excel(value, epoch=epoch)
    return converted.date() if isinstance(converted, datetime) else converted


def shown_value(value: object) -> str:
    """A cell's value as a problem shows it: strings exactly as written, other cells as text."""
    return value if type(value) is str else cell_text(value)


def as_date(value: object) -> date | None:
    """A date cell, a date-time or ISO text as a date; None when it is none of them."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def open_workbook(path: Path) -> Any:
    """An .xlsx opened read-only for its values, or InvalidInput saying it cannot be read."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InvalidInput(f"{path}: not a readable .xlsx workbook ({exc}); save it again as .xlsx",
                           code="unreadable_workbook", field="paths", value=str(path)) from exc
