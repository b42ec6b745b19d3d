"""A district's ledger (台账) of graded enterprises, read from .csv or .xlsx and checked row by row.

Districts send the bureau their ledger in the attachment's format; it is typed by hand, so every row
is checked and every bad cell reported as file:row, column, value and reason, all at once. Bad rows
never stop the reading: read_ledger returns the good records and the problems together, and the
caller decides what to do with them. Only a file that cannot be read as a ledger at all (missing,
wrong type, no header, missing or unknown columns) raises InvalidInput.

Choices a user will notice:
- The header is the first row with at least two recognised column headers among the first ten
  non-empty rows, so a title row above it (e.g. "2023年武清区定级企业台账") is allowed; rows above
  the header are ignored. Row numbers are those a user sees: the spreadsheet row, or the csv line on
  which the record starts (header = 1 in the usual layout).
- An .xlsx workbook is read from its first worksheet only, so that file and row always identify one
  cell. Any other worksheet that also has a ledger header is reported as a problem (column 工作表),
  so rows kept there are never lost silently.
- Except in a workbook whose first worksheet is named 汇总 (or 全市汇总), as safegrade writes them
  (ledger_export): its other ledger worksheets are per-district views of 汇总. Their rows are not
  records of their own; each must repeat a row of 汇总 (same credit code, same values), and every
  one that does not is a problem whose file names the worksheet ("x.xlsx (sheet '武清区')").
- Header cells that are empty are ignored with their column.
- A .csv is UTF-8 (with or without BOM) or, failing that, GB18030 (what Excel and WPS save in China).
"""

from __future__ import annotations

from safegrade.io.cells import RowProblem
from safegrade.io.ledger.columns import (
           ALLOWED_EXTENSIONS,
           COLUMNS,
           ENTERPRISE_FIELDS,
           LEVELS,
           OPTIONAL_TEXT_FIELDS,
           PROGRESS_EVERY,
           REQUIRED_FIELDS,
           SUMMARY_SHEETS,
           LedgerRecord,
           allowed_headers,
)
from safegrade.io.ledger.read import read_ledger

__all__ = ["ALLOWED_EXTENSIONS", "COLUMNS", "ENTERPRISE_FIELDS", "LEVELS", "LedgerRecord", "OPTIONAL_TEXT_FIELDS",
           "PROGRESS_EVERY", "REQUIRED_FIELDS", "RowProblem", "SUMMARY_SHEETS", "allowed_headers", "read_ledger"]
