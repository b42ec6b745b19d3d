"""What the reviewer's reports (closed loop, district oversight) share: the Jinja2 environment of their
html pages, one way to write an .xlsx of several sheets, and where a report goes by default.

The html pages are self-contained (styles inline, no script, no external asset) and print on A4
landscape. The workbooks are written in openpyxl's streaming mode (bounded memory for a campaign of
any size); a text that begins with '=' is kept as text, never written as a formula.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from safegrade.errors import InvalidInput
from safegrade.output import jsonable, save_atomically

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("html", "xlsx", "json")
REPORTS_DIR = Path("var/reports")
MIN_WIDTH, MAX_WIDTH = 6, 60


def _when(value: datetime | date | None, seconds: bool = False) -> str:
    """An instant as local 'YYYY-MM-DD HH:MM' (the report's data holds local times), a date as ISO."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return value.isoformat()


def _short(digest: str | None, n: int = 12) -> str:
    return f"{digest[:n]}…" if digest else ""


def _blank(value: Any) -> Any:
    return "—" if value is None or value == "" else value


def environment() -> jinja2.Environment:
    """The templates of safegrade/reports/templates, html-escaped, strict about missing names."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=_when, short=_short, blank=_blank)
    return env


def render(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values)


def choose_format(out: Path | None, fmt: str | None) -> str:
    """The format: --format if given (it must agree with the file's suffix), else the suffix, else html."""
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    if fmt is not None and fmt not in FORMATS:
        raise InvalidInput(f"--format: {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt is not None and suffix and suffix != fmt:
        raise InvalidInput(f"--out {out} ends in .{suffix} but --format is {fmt}; make them agree")
    if fmt is None and suffix and suffix not in FORMATS:
        raise InvalidInput(f"--out {out}: cannot tell the format from .{suffix}; use .html, .xlsx or .json, "
                           "or give --format")
    return fmt or suffix or "html"


def default_path(prefix: str, name: str, as_of: date, fmt: str) -> Path:
    """var/reports/<prefix>-<name>-<as of>.<format>, under the working directory."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return REPORTS_DIR / f"{prefix}-{safe}-{as_of.isoformat()}.{fmt}"


def target(out: Path) -> Path:
    """The output file's folder must exist (var/reports is made when it is the default)."""
    if out.parent == REPORTS_DIR or REPORTS_DIR in out.parents:
        out.parent.mkdir(parents=True, exist_ok=True)
    if not out.parent.is_dir():
        raise InvalidInput(f"--out {out}: folder {out.parent} does not exist")
    return out


def write_text(path: Path, text: str) -> None:
    """Replace `path` only once the whole text is written."""
    partial = path.with_name(f".{path.name}.part")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(path: Path, report: Any) -> None:
    write_text(path, json.dumps(jsonable(report), ensure_ascii=False, indent=2) + "\n")


@dataclass
class Sheet:
    """A worksheet: its title, header, rows (cell values) and column widths (None: from the header)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[float] | None = None


def _display_width(text: str) -> int:
    """Columns a text takes: CJK and full-width characters count two."""
    return len(text) + (len(text.encode()) - len(text)) // 2


def converter(ws: Any) -> Any:
    """cell(value) for one worksheet: instants as local text, bools as 是/否, lists joined, '=…' kept as
    text; None and '' as no cell at all. (The openpyxl names are looked up once, not per cell.)"""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return _when(value, seconds=True)
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


def write_workbook(path: Path, sheets: Sequence[Sheet], title: str) -> None:
    """Write the sheets (bold header, frozen first row, filter, widths) and replace `path` when done."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    wb.properties.title = title
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        widths = sheet.widths or [min(max(_display_width(h) + 4, MIN_WIDTH), MAX_WIDTH) for h in sheet.header]
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        rows = list(sheet.rows)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.header))}{len(rows) + 1}"  # before any row
        header = []
        for text in sheet.header:
            c = WriteOnlyCell(ws, value=text)
            c.font, c.alignment = bold, Alignment(horizontal="center", vertical="center", wrap_text=True)
            header.append(c)
        ws.append(header)
        cell = converter(ws)
        for row in rows:
            ws.append([cell(v) for v in row])
    save_atomically(wb, path)
