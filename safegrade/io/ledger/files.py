"""The rows of a ledger file: a .csv (UTF-8 or GB18030) or the worksheets of an .xlsx."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from safegrade.errors import InvalidInput
from safegrade.io.cells import find_header, open_workbook, recognised
from safegrade.io.ledger.columns import _HEADER_FIELDS, ALLOWED_EXTENSIONS, SUMMARY_SHEETS


def _csv_encoding(path: Path) -> str:
    """'utf-8-sig' when the whole file decodes as UTF-8 (BOM or not), else 'gb18030'; refuses others."""
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InvalidInput(f"{path}: UTF-16 text (Excel 'Unicode text'); save it as 'CSV UTF-8' or .xlsx",
                               code="wrong_encoding", field="paths", value=str(path), allowed=["UTF-8", "GB18030"])
        for encoding in ("utf-8-sig", "gb18030"):
            f.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding
    raise InvalidInput(f"{path}: neither UTF-8 nor GB18030 text; save it as 'CSV UTF-8' or .xlsx",
                       code="wrong_encoding", field="paths", value=str(path), allowed=["UTF-8", "GB18030"])


Rows = Iterator[tuple[int, Sequence[object]]]


@dataclass(frozen=True)
class _View:
    """A per-district worksheet of a 汇总 workbook: its title and a fresh iterator over its rows."""

    title: str
    rows: Callable[[], Rows]


@dataclass
class _Source:
    """The rows of a file as (row number, cells), and where they come from for messages."""

    rows: Rows
    file: str    # the path as given
    where: str   # the path, and for a workbook the worksheet read
    epoch: datetime | None = None
    other_ledger_sheets: tuple[tuple[str, int], ...] = ()
    views: tuple[_View, ...] = ()  # only when the first worksheet is 汇总


@contextmanager
def _csv_source(path: Path, file: str) -> Iterator[_Source]:
    encoding = _csv_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)

        def rows() -> Iterator[tuple[int, Sequence[object]]]:
            start = 1
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1

        yield _Source(rows(), file, file)


def _sheet_rows(ws: Any) -> Rows:
    """A worksheet's rows as (spreadsheet row number, cell values)."""
    return enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)


@contextmanager
def _xlsx_source(path: Path, file: str) -> Iterator[_Source]:
    wb = open_workbook(path)
    try:
        if not wb.worksheets:
            raise InvalidInput(f"{path}: the workbook has no worksheet", code="no_worksheet",
                               field="paths", value=str(path))
        sheets = []
        for ws in wb.worksheets:
            ws.reset_dimensions()  # some writers record a wrong size; read what is really there
            sheets.append(ws)
        others = []
        for ws in sheets[1:]:
            found = find_header(_sheet_rows(ws), _HEADER_FIELDS)
            if found and recognised(found[1], _HEADER_FIELDS) >= 2:
                others.append((ws, found[0]))
        where = f"{file} (sheet {sheets[0].title!r})"
        if sheets[0].title.strip() in SUMMARY_SHEETS:
            views = tuple(_View(ws.title, partial(_sheet_rows, ws)) for ws, _ in others)
            yield _Source(_sheet_rows(sheets[0]), file, where, wb.epoch, views=views)
        else:
            yield _Source(_sheet_rows(sheets[0]), file, where, wb.epoch, tuple((ws.title, n) for ws, n in others))
    finally:
        wb.close()


def _opener(path: Path) -> Callable[[Path, str], AbstractContextManager[_Source]]:
    """How to read `path`; refuses an unknown extension or a missing file."""
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        raise InvalidInput(f"{path}: unknown file type {path.suffix or '(none)'!r}; a ledger is "
                           f"{' or '.join(ALLOWED_EXTENSIONS)} (save an .xls or .et file as .xlsx)",
                           code="wrong_file_type", field="paths", value=str(path), allowed=list(ALLOWED_EXTENSIONS))
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", code="no_such_file", field="paths", value=str(path))
    return _csv_source if suffix == ".csv" else _xlsx_source


