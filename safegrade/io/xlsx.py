"""The one .xlsx writer: worksheets of a header and rows, written in openpyxl's write-only (streaming)
mode, so memory stays bounded for a campaign or a ledger of any size.

Every worksheet gets a bold header on row 1, a frozen first row, a filter over its rows and column
widths (given, or from the header). Cell values are written as a user reads them: instants as local
text, bools as 是/否, lists one per line; None and '' as no cell at all; characters an .xlsx cannot
hold are dropped; and a text that begins with '=' stays text, never a formula (a formula in a file
sent on would run on the reader's machine). Dates stay dates (openpyxl shows them as yyyy-mm-dd).
The file is replaced only once it is complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

MIN_WIDTH, MAX_WIDTH = 6, 60


@dataclass
class Sheet:
    """A worksheet: its title, header, rows (cell values) and column widths (None: from the header).

    `count` is the number of rows when the caller knows it (the rows are then streamed, not listed);
    `wrap_header` wraps the header's text within its column."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[float] | None = None
    count: int | None = None
    wrap_header: bool = True


def display_width(text: str) -> int:
    """Columns a text takes on screen: CJK and full-width characters (3 bytes in UTF-8) count two."""
    return len(text) + (len(text.encode()) - len(text)) // 2


def local_text(value: datetime | date | None, seconds: bool = False) -> str:
    """An instant as local 'YYYY-MM-DD HH:MM' (the reports' data holds local times), a date as ISO."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return value.isoformat()


def converter(ws: Any) -> Any:
    """cell(value) for one worksheet: instants as local text, bools as 是/否, lists joined, '=…' kept as
    text; None and '' as no cell at all. (The openpyxl names are looked up once, not per cell.)"""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return local_text(value, seconds=True)
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list | tuple):
            value = "\n".join(str(v) for v in value)
        if isinstance(value, str):
            if ILLEGAL_CHARACTERS_RE.search(value):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith("="):
                protected = WriteOnlyCell(ws, value=value)
                protected.data_type = "s"
                return protected
        return value

    return cell


def write_workbook(path: Path, sheets: Sequence[Sheet], title: str | None = None) -> None:
    """Write the sheets (bold header, frozen first row, filter, widths) and replace `path` when done;
    `title` goes into the document properties (Excel: File › Info), not onto a row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from safegrade.output import save_atomically

    wb = Workbook(write_only=True)
    if title:
        wb.properties.title = title
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        widths = sheet.widths or [min(max(display_width(h) + 4, MIN_WIDTH), MAX_WIDTH) for h in sheet.header]
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        rows = sheet.rows if sheet.count is not None else list(sheet.rows)
        count = sheet.count if sheet.count is not None else len(rows)  # type: ignore[arg-type]
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.header))}{count + 1}"  # before any row
        alignment = (Alignment(horizontal="center", vertical="center", wrap_text=True) if sheet.wrap_header
                     else Alignment(horizontal="center", vertical="center"))
        header = []
        for text in sheet.header:
            c = WriteOnlyCell(ws, value=text)
            c.font, c.alignment = bold, alignment
            header.append(c)
        ws.append(header)
        cell = converter(ws)
        for row in rows:
            ws.append([cell(v) for v in row])
    save_atomically(wb, path)
