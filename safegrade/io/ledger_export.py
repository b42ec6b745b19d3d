"""Writing the 台账 (ledger of graded enterprises) as an .xlsx workbook in the attachment's format.

The workbook has a first worksheet 汇总 with every enterprise, then one worksheet per district that
has enterprises, named by the district (e.g. 武清区), in district-code order. The columns and their
Chinese headers are those read_ledger reads (safegrade.io.ledger.COLUMNS), the header is on row 1 and
nothing is written above it, so the file imports back: read_ledger takes the records from 汇总 and
checks that every row of a district worksheet repeats a row of 汇总.

Choices a user will notice:
- Rows are ordered by district code, then credit code; 序号 counts from 1 on every worksheet.
- 定级日期 and 有效期至 are Excel date cells shown as yyyy-mm-dd; credit codes, certificate numbers and
  phone numbers are text cells, so a spreadsheet never turns them into numbers.
- A text value that begins with '=' stays text: a name or remark typed as '=…' is never written as a
  formula (a formula in a file sent to the bureau would run on the bureau's machine).
- Characters that an .xlsx cannot hold (control characters other than tab and newline) are dropped.
- `title` goes into the workbook's document properties (Excel: File › Info), not onto a row.

Written by safegrade.io.xlsx in openpyxl's write-only (streaming) mode: the bold header, frozen first row,
filter and column widths are all available there, and no cell objects are kept: memory grows only with the
enterprises' values (about 45 MiB more for 100,000), and writing them takes about 25 s (2.3 s for 10,000;
every enterprise is written twice, on 汇总 and on its district's worksheet).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from safegrade.errors import InvalidInput
from safegrade.io.cells import as_date
from safegrade.io.ledger import COLUMNS, SUMMARY_SHEETS
from safegrade.io.xlsx import MAX_WIDTH, MIN_WIDTH, Sheet, display_width, write_workbook
from safegrade.rules import Rules

SUMMARY_SHEET = SUMMARY_SHEETS[0]
HEADERS = tuple(c.headers[0] for c in COLUMNS)  # 序号, 区, 企业名称, 统一社会信用代码, …, 备注
DATE_HEADERS = ("定级日期", "有效期至")
DATE_FORMAT = "yyyy-mm-dd"
MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows less the header
_REQUIRED = ("credit_code", "name", "district", "sector", "level", "certificate_no", "graded_on", "valid_until")
_TEXT = ("address", "contact", "phone", "remarks")
# Positions in the values of a row (HEADERS without 序号): where the district code and the credit code are.
_DISTRICT, _CODE = HEADERS.index("区") - 1, HEADERS.index("统一社会信用代码") - 1


def write_ledger_xlsx(path: Path, enterprises: Sequence[Mapping[str, Any]], rules: Rules, *,
                      title: str | None = None) -> dict[str, int]:
    """Write the 台账 of `enterprises` (dicts as list_enterprises returns them) to `path`.

    Returns the number of data rows written per worksheet, 汇总 first, e.g. {'汇总': 100, '和平区': 2, …}.
    The file is replaced only once it is complete. Raises InvalidInput, writing nothing, for an
    enterprise whose district is not in the rules, a credit code given twice, a missing field or a
    date that is not a date.
    """
    rows = sorted((_values(e, rules) for e in enterprises), key=lambda v: (v[_DISTRICT], v[_CODE]))
    _refuse_duplicates(rows)
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"{len(rows)} enterprises do not fit on one worksheet (at most {MAX_ROWS}); "
                           "export the districts separately", code="too_many_rows", field="district",
                           allowed=f"at most {MAX_ROWS} enterprises")
    per_district = Counter(v[_DISTRICT] for v in rows)
    names = {code: rules.district_name(code) for code in sorted(per_district)}
    widths = _widths(rows, names.values())
    for values in rows:
        values[_DISTRICT] = names[values[_DISTRICT]]
    sheets = [_sheet(SUMMARY_SHEET, rows, widths)]
    start = 0
    for code, name in names.items():  # the rows are sorted by district: each district's rows follow each other
        sheets.append(_sheet(name, rows[start:start + per_district[code]], widths))
        start += per_district[code]
    write_workbook(Path(path), sheets, title)
    return {SUMMARY_SHEET: len(rows)} | {name: per_district[code] for code, name in names.items()}


def _values(e: Mapping[str, Any], rules: Rules) -> list[Any]:
    """One enterprise as cell values in HEADERS order without 序号; the district as its code (the
    caller writes the name) so that rows sort by code."""
    code = str(e.get("credit_code") or "")
    missing = [f for f in _REQUIRED if e.get(f) in (None, "")]
    if missing:
        raise InvalidInput(f"enterprise {code or '(no credit code)'}: missing {', '.join(missing)}; "
                           "a 台账 row needs every required column", code="incomplete_record", value=code)
    district = str(e["district"])
    if district not in rules.districts:
        raise InvalidInput(f"enterprise {code}: district {district!r} is not a district code in the rules "
                           f"(known: {', '.join(rules.districts)}); the ledger would not import back",
                           code="unknown_district", value=district, allowed=list(rules.districts))
    sector = rules.sectors.get(str(e["sector"]))
    return [
        district, _clean(e["name"]), code, sector.label if sector else _clean(e["sector"]), _clean(e["level"]),
        _clean(e["certificate_no"]), _date(code, "graded_on", e["graded_on"]),
        _date(code, "valid_until", e["valid_until"]), *(_clean(e.get(f) or "") for f in _TEXT),
    ]


def _clean(value: object) -> str:
    """Text for a cell, without the control characters an .xlsx cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text) if ILLEGAL_CHARACTERS_RE.search(text) else text


def _date(code: str, field: str, value: object) -> date:
    found = as_date(value)
    if found is None:
        raise InvalidInput(f"enterprise {code}: {field} {value!r} is not a date (YYYY-MM-DD)", code="invalid_date",
                           value=value, allowed="YYYY-MM-DD")
    return found


def _refuse_duplicates(rows: Sequence[Sequence[Any]]) -> None:
    """A code given twice would be refused when the file is read back, so it is refused here."""
    counts = Counter(v[_CODE] for v in rows)
    twice = sorted(code for code, n in counts.items() if n > 1)
    if twice:
        raise InvalidInput(f"credit code(s) given more than once: {', '.join(twice[:10])}"
                           f"{' …' if len(twice) > 10 else ''}; a 台账 lists each enterprise once", code="duplicate",
                           value=twice)


def _widths(rows: Sequence[Sequence[Any]], district_names: Iterable[str]) -> list[float]:
    """A width per column: the widest of the header and the values, plus a margin, within limits.
    (Rows still hold the district's code; its column is as wide as the widest district name.)"""
    widths = [display_width(h) for h in HEADERS]
    widths[0] = max(widths[0], len(str(len(rows))))
    widths[1] = max(widths[1], *map(display_width, district_names), 0)
    for i in range(2, len(HEADERS)):
        if HEADERS[i] in DATE_HEADERS:
            widths[i] = max(widths[i], len(DATE_FORMAT))
        else:
            widths[i] = max(widths[i], max((display_width(v[i - 1]) for v in rows), default=0))
    return [min(max(w + 2, MIN_WIDTH), MAX_WIDTH) for w in widths]


def _sheet(title: str, rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> Sheet:
    """A worksheet of the 台账: 序号 counting from 1, then the row's values."""
    return Sheet(title, HEADERS, ([no, *values] for no, values in enumerate(rows, start=1)), widths, len(rows),
                 wrap_header=False)
