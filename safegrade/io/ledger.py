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

import codecs
import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from safegrade.domain import creditcode
from safegrade.errors import InvalidInput
from safegrade.io.cells import (
    HALF_WIDTH,
    Column,
    RowProblem,
    cell_text,
    find_header,
    header_key,
    open_workbook,
    parse_date_text,
    parse_serial,
    recognised,
    shown_value,
)
from safegrade.rules import District, Rules, Sector

ALLOWED_EXTENSIONS = (".csv", ".xlsx")
PROGRESS_EVERY = 1000
LEVELS = ("一级", "二级", "三级")
SUMMARY_SHEETS = ("汇总", "全市汇总")  # a first worksheet so named makes the other ledger sheets views of it


COLUMNS = (
    Column("no", ("序号",), False),
    Column("district", ("区", "所属区", "区县"), True),
    Column("name", ("企业名称",), True),
    Column("credit_code", ("统一社会信用代码",), True),
    Column("sector", ("行业类别", "行业"), True),
    Column("level", ("标准化等级", "等级"), True),
    Column("certificate_no", ("证书编号",), True),
    Column("graded_on", ("定级日期",), True),
    Column("valid_until", ("有效期至", "有效期"), True),
    Column("address", ("地址", "企业地址"), False),
    Column("contact", ("联系人",), False),
    Column("phone", ("联系电话",), False),
    Column("remarks", ("备注",), False),
)
_BY_FIELD = {c.field: c for c in COLUMNS}
REQUIRED_FIELDS = tuple(c.field for c in COLUMNS if c.required)
OPTIONAL_TEXT_FIELDS = ("address", "contact", "phone", "remarks")
ENTERPRISE_FIELDS = ("credit_code", "name", "district", "sector", "in_gongmao", "level", "certificate_no",
                     "graded_on", "valid_until", "address", "contact", "phone", "remarks")


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One valid row of a ledger: a graded enterprise as the district reports it."""

    file: str            # the path as given
    row: int             # spreadsheet row number / csv line number as a user sees it (header = 1)
    credit_code: str     # normalized
    name: str
    district: str        # district CODE from rules (e.g. "120114")
    sector: str          # sector key from rules (e.g. "machinery"), or the raw text when not one of the eight
    in_gongmao: bool     # False when the sector is not one of the eight 工贸 sectors (imported but flagged)
    level: str           # "一级" | "二级" | "三级"
    certificate_no: str
    graded_on: date
    valid_until: date
    address: str = ""
    contact: str = ""
    phone: str = ""
    remarks: str = ""
    check_override: str | None = None   # the recorded reason when a failing check character was accepted

    def fields(self) -> dict[str, object]:
        """The enterprise's own fields, without where the row came from or the override."""
        return {name: getattr(self, name) for name in ENTERPRISE_FIELDS}


# ---------------------------------------------------------------------------------------------------
# Headers


_HEADER_FIELDS = {header_key(h): c.field for c in COLUMNS for h in (*c.headers, c.field)}


def allowed_headers() -> str:
    """Every accepted header, for error messages: '序号 (no, optional), 区/所属区/区县 (district), ...'."""
    return ", ".join(c.label for c in COLUMNS)


def _map_header(where: str, number: int, cells: Sequence[object]) -> dict[str, tuple[int, str]]:
    """field -> (cell index, header as written) for every column but 序号; raises InvalidInput for
    unknown, repeated or missing columns, naming each and what is allowed."""
    found: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    for index, value in enumerate(cells):
        header = cell_text(value)
        if not header:
            continue
        field = _HEADER_FIELDS.get(header_key(header))
        if field is None:
            unknown.append(header)
        elif field in found:
            repeated.append(f"{found[field][1]!r} and {header!r} both mean {_BY_FIELD[field].label}")
        else:
            found[field] = (index, header)
    missing = [_BY_FIELD[f].label for f in REQUIRED_FIELDS if f not in found]
    reasons = []
    if missing:
        reasons.append(f"missing required column(s) {', '.join(missing)}")
    if unknown:
        reasons.append(f"unknown column header(s) {', '.join(repr(h) for h in unknown)}")
    if repeated:
        reasons.append("repeated column(s): " + "; ".join(repeated) + "; keep one")
    if reasons:
        raise InvalidInput(f"{where}, header row {number}: {'; '.join(reasons)}. "
                           f"Allowed headers: {allowed_headers()}")
    found.pop("no", None)
    return found


# ---------------------------------------------------------------------------------------------------
# Cell values


def _levels() -> dict[str, str]:
    """Every accepted spelling of a level -> its canonical form (一级/二级/三级)."""
    table: dict[str, str] = {}
    for digit, (numeral, level) in enumerate(zip("一二三", LEVELS, strict=True), start=1):
        for stem in (level, f"{digit}级"):
            for suffix in ("", "标准化", "企业", "标准化企业"):
                table[stem + suffix] = level
        table[str(digit)] = table[numeral] = level
    return table


_LEVELS = _levels()


# ---------------------------------------------------------------------------------------------------
# Rows


class _RowChecker:
    """Checks data rows against the rules. Lookups are cached by the text as written: a ledger repeats
    a few dozen districts, sectors and levels and a few thousand dates over many thousand rows."""

    def __init__(self, file: str, rules: Rules, columns: dict[str, tuple[int, str]],
                 overrides: Mapping[str, str], epoch: datetime | None) -> None:
        self.file = file
        self.rules = rules
        self.overrides = overrides
        self.epoch = epoch  # None for csv: numbers there are not date serials
        self.required = tuple((f, *columns[f]) for f in REQUIRED_FIELDS)
        self.optional = tuple((f, *columns[f]) for f in OPTIONAL_TEXT_FIELDS if f in columns)
        self.position = {header: i for i, header in columns.values()}
        self.seen: dict[str, int] = {}
        self._districts: dict[str, District | None] = {}
        self._sectors: dict[str, Sector | None] = {}
        self._dates: dict[object, date | str] = {}
        self._district_help = "; ".join(f"{d.name} ({code})" for code, d in rules.districts.items())
        self._sector_help = "、".join(s.label for s in rules.sectors.values())

    def check(self, number: int, cells: Sequence[object]) -> tuple[LedgerRecord | None, list[RowProblem]]:
        """The record of one row, or None with a problem per bad cell; (None, []) for a row to skip."""
        size = len(cells)
        raw = {f: (cells[i] if i < size else None, header) for f, i, header in self.required}
        texts = {f: cell_text(v) for f, (v, _) in raw.items()}
        if not any(texts.values()):
            return None, []
        problems: list[RowProblem] = []

        def bad(field: str, reason: str) -> None:
            value, header = raw[field]
            problems.append(RowProblem(self.file, number, header, shown_value(value), reason))

        for field, text in texts.items():
            if not text:
                bad(field, self._empty_reason(field))
        district = self._district(texts["district"], bad)
        sector, in_gongmao = self._sector(texts["sector"])
        level = self._level(texts["level"], bad)
        code, override = self._credit_code(number, raw["credit_code"][0], texts["credit_code"], bad)
        graded_on = self._date("graded_on", raw["graded_on"][0], texts["graded_on"], bad)
        valid_until = self._date("valid_until", raw["valid_until"][0], texts["valid_until"], bad)
        if graded_on and valid_until and valid_until <= graded_on:
            bad("valid_until", f"must be after {raw['graded_on'][1]} {graded_on.isoformat()}; "
                               f"it is {valid_until.isoformat()}")
        if problems or not (district and level and code and graded_on and valid_until):
            problems.sort(key=lambda p: self.position[p.column])
            return None, problems
        extra = {f: cell_text(cells[i]) if i < size else "" for f, i, _ in self.optional}
        return LedgerRecord(
            self.file, number, code, texts["name"], district.code, sector, in_gongmao, level,
            texts["certificate_no"], graded_on, valid_until, check_override=override, **extra,
        ), []

    def _empty_reason(self, field: str) -> str:
        if field == "sector":
            return (f"required; the cell is empty. Write the industry: one of the eight 工贸 sectors "
                    f"({self._sector_help}) or the enterprise's actual industry, which is flagged")
        return "required; the cell is empty"

    def _district(self, text: str, bad: Callable[[str, str], None]) -> District | None:
        if not text:
            return None
        if text not in self._districts:
            self._districts[text] = self.rules.district(text)
        found = self._districts[text]
        if found is None:
            bad("district", f"not a Tianjin district; write a name, short name or code: {self._district_help}")
        return found

    def _sector(self, text: str) -> tuple[str, bool]:
        """The sector key and True, or the text as written and False for a sector outside 工贸."""
        if text not in self._sectors:
            self._sectors[text] = self.rules.sector(text) if text else None
        found = self._sectors[text]
        return (found.key, True) if found else (text, False)

    def _level(self, text: str, bad: Callable[[str, str], None]) -> str | None:
        if not text:
            return None
        level = _LEVELS.get(text.translate(HALF_WIDTH).replace(" ", ""))
        if level is None:
            bad("level", "not a grade level; write 一级, 二级 or 三级 (also accepted: 1/2/3, 一/二/三, "
                         "and those followed by 标准化 or 企业, e.g. 三级标准化)")
        return level

    def _credit_code(self, number: int, value: object, text: str,
                     bad: Callable[[str, str], None]) -> tuple[str | None, str | None]:
        """The normalized code and the override reason used, if any; None when the cell is bad."""
        if not text:
            return None, None
        if isinstance(value, int | float) and not isinstance(value, bool):
            # Refused even when it happens to pass the check: Excel keeps 15 significant digits, so an
            # all-digit code stored as a number has lost its last digits, and 1 in 31 still "passes".
            bad("credit_code", "the cell is a number, not text: a spreadsheet keeps only 15 digits, "
                               "so the code is damaged; format the column as text (文本) and re-enter it")
            return None, None
        code = creditcode.normalize(text)
        first = self.seen.setdefault(code, number)
        override = None
        problem = creditcode.problem(code)
        if problem and creditcode.check_char_mismatch(code):
            override = self.overrides.get(code)
            if override is None:
                problem += ("; if the code is genuine (a few real codes fail the check), an authorised "
                            "user may accept it with a recorded reason")
        if problem and override is None:
            bad("credit_code", problem)
            return None, None
        if first != number:
            bad("credit_code", f"duplicate of row {first}: the same 统一社会信用代码 appears twice in the file")
            return None, None
        return code, override

    def _date(self, field: str, value: object, text: str, bad: Callable[[str, str], None]) -> date | None:
        if not text:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        epoch = self.epoch
        if epoch is not None and isinstance(value, int | float) and not isinstance(value, bool):
            parsed = self._dates.get(value)
            if parsed is None:
                parsed = self._dates[value] = parse_serial(float(value), epoch)
        else:
            parsed = self._dates.get(text)
            if parsed is None:
                parsed = self._dates[text] = parse_date_text(text)
        if isinstance(parsed, str):
            bad(field, parsed + (", or use an Excel date cell" if self.epoch is not None else ""))
            return None
        return parsed


# ---------------------------------------------------------------------------------------------------
# Files


def _csv_encoding(path: Path) -> str:
    """'utf-8-sig' when the whole file decodes as UTF-8 (BOM or not), else 'gb18030'; refuses others."""
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InvalidInput(f"{path}: UTF-16 text (Excel 'Unicode text'); save it as 'CSV UTF-8' or .xlsx")
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
    raise InvalidInput(f"{path}: neither UTF-8 nor GB18030 text; save it as 'CSV UTF-8' or .xlsx")


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
            raise InvalidInput(f"{path}: the workbook has no worksheet")
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
                           f"{' or '.join(ALLOWED_EXTENSIONS)} (save an .xls or .et file as .xlsx)")
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    return _csv_source if suffix == ".csv" else _xlsx_source


def _normal_overrides(check_overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Override reasons keyed by the normalized code; an override without a reason is refused."""
    out: dict[str, str] = {}
    for code, reason in (check_overrides or {}).items():
        if not str(reason or "").strip():
            raise InvalidInput(f"check override for {code!r} has no reason; an override must record why "
                               f"the code is accepted despite its check character")
        out[creditcode.normalize(code)] = str(reason).strip()
    return out


def _header(source: _Source) -> tuple[dict[str, tuple[int, str]], list[RowProblem]]:
    """The columns of the source's header row and a problem for each other worksheet that has one."""
    others = source.other_ledger_sheets
    hint = (f" The worksheet(s) {', '.join(repr(t) for t, _ in others)} have a ledger header: "
            f"make one of them the first worksheet.") if others else ""
    found = find_header(source.rows, _HEADER_FIELDS)
    if found is None:
        raise InvalidInput(f"{source.where}: no header row; the file has no data. "
                           f"Allowed headers: {allowed_headers()}.{hint}")
    try:
        columns = _map_header(source.where, *found)
    except InvalidInput as exc:
        raise InvalidInput(f"{exc}{hint}") from None
    problems = [
        RowProblem(source.file, row, "工作表", title,
                   f"this worksheet also has a ledger header (row {row}), but only the first worksheet "
                   f"is read; move its rows to the first worksheet or send it as a separate file")
        for title, row in others
    ]
    return columns, problems


def read_ledger(path: Path, rules: Rules, *, check_overrides: Mapping[str, str] | None = None,
                progress: Callable[[int], None] | None = None) -> tuple[list[LedgerRecord], list[RowProblem]]:
    """Read and check a district's ledger: the valid records and a problem for every bad cell.

    check_overrides maps a credit code to the recorded reason for accepting it although its check
    character is wrong; nothing else about a code can be overridden. progress(n) is called with the
    number of data rows read so far (rows after the header, blank ones included) every 1,000 rows, and
    at the end with the total unless that number was just reported.
    """
    file = str(path)
    path = Path(path)
    overrides = _normal_overrides(check_overrides)
    opener = _opener(path)
    records: list[LedgerRecord] = []
    with opener(path, file) as source:
        columns, problems = _header(source)
        checker = _RowChecker(file, rules, columns, overrides, source.epoch)
        count = 0
        for number, cells in source.rows:
            record, bad = checker.check(number, cells)
            if record is not None:
                records.append(record)
            elif bad:
                problems.extend(bad)
            count += 1
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
        if progress and (count % PROGRESS_EVERY or count == 0):
            progress(count)
        summary = {r.credit_code: r for r in records} if source.views else {}
        for view in source.views:
            problems.extend(_check_view(source, view, summary, checker.seen, rules, overrides))
    return records, problems


# ---------------------------------------------------------------------------------------------------
# Per-district views of a 汇总 workbook


_VIEW_COMPARED = tuple(f for f in ENTERPRISE_FIELDS if f not in ("credit_code", "in_gongmao"))  # sector covers it


def _check_view(source: _Source, view: _View, summary: Mapping[str, LedgerRecord], summary_seen: Mapping[str, int],
                rules: Rules, overrides: Mapping[str, str]) -> list[RowProblem]:
    """A problem for every row of a per-district worksheet that is bad or does not repeat a row of 汇总.

    A row whose credit code is on a 汇总 row that was itself refused is not compared: that row's
    problems are already listed, and comparing with nothing would only repeat them.
    """
    label = f"{source.file} (sheet {view.title!r})"
    rows = view.rows()
    found = find_header(rows, _HEADER_FIELDS)
    if found is None:  # the sheet had a header when the workbook was opened; it cannot vanish
        return []
    try:
        columns = _map_header(label, *found)
    except InvalidInput as exc:
        return [RowProblem(label, found[0], "工作表", view.title, f"{exc}; this per-district worksheet "
                                                                   f"cannot be compared with 汇总")]
    headers = {f: header for f, (_, header) in columns.items()}
    sheet_district = rules.district(view.title)
    checker = _RowChecker(label, rules, columns, overrides, source.epoch)
    problems: list[RowProblem] = []
    for number, cells in rows:
        record, bad = checker.check(number, cells)
        problems.extend(bad)
        if record is None:
            continue
        if sheet_district is not None and record.district != sheet_district.code:
            problems.append(RowProblem(label, number, headers["district"], rules.district_name(record.district),
                                       f"a row of {rules.district_name(record.district)} on the worksheet of "
                                       f"{sheet_district.name}; move it to its district's worksheet"))
        original = summary.get(record.credit_code)
        if original is None:
            if record.credit_code not in summary_seen:
                problems.append(RowProblem(label, number, headers["credit_code"], record.credit_code,
                                           "not in 汇总: no row of the 汇总 worksheet has this 统一社会信用代码; "
                                           "a per-district worksheet may only repeat rows of 汇总"))
            continue
        for field in _VIEW_COMPARED:
            mine, theirs = getattr(record, field), getattr(original, field)
            if mine != theirs:
                column = headers.get(field, _BY_FIELD[field].headers[0])
                problems.append(RowProblem(label, number, column, _display(rules, field, mine),
                                           f"differs from 汇总 row {original.row} in column {column}: "
                                           f"汇总 has {_display(rules, field, theirs)!r}"))
    return problems


def _display(rules: Rules, field: str, value: object) -> str:
    """A record's value as the ledger shows it: district and sector by name, dates as YYYY-MM-DD."""
    if field == "district":
        return rules.district_name(str(value))
    if field == "sector":
        sector = rules.sectors.get(str(value))
        return sector.label if sector else str(value)
    return cell_text(value)
