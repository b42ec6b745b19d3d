"""Assessment documents (运行质量评估), read from .yaml/.yml/.json or .xlsx and checked against the rules.

The 2023 circular criticised districts that "only deducted points without recording the deduction
items and content": here a deduction without its item and specific content cannot be read. Like the
ledger reader, every problem is collected as a RowProblem (file, row, column, value, reason) and bad
assessments never stop the reading: read_assessments returns the valid assessments and the problems,
and the caller decides (refusing the whole file when there is any problem). Only a file that cannot
be read as assessments at all (unknown type, not valid YAML/JSON, no 评估 sheet, bad headers) raises
InvalidInput. Checks that need the database (is the enterprise known, in the campaign, already
assessed) are the caller's.

Where a problem is:
- YAML/JSON: row is the assessment's 1-based position in the file (a file holds one assessment, a
  list of them, or several YAML documents of either); column is a path into it with 0-based list
  indices, as written in the file: `deductions[2].content`, `materials.口袋书`, `methods[1]`.
- .xlsx: row is the spreadsheet row; column is `sheet!header` as written, e.g. `扣分!扣分内容`.
  The workbook has a sheet 评估 (one row per assessment) and a sheet 扣分 (one row per deduction,
  attached to the assessment with the same 统一社会信用代码 and 评估批次); other sheets are ignored.
  A title row above the header is allowed, as in ledgers.

AssessmentInput's file and row say where it was read from and take no part in ==, so the same
assessment read from YAML, JSON or a workbook compares equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from safegrade.domain import creditcode
from safegrade.domain.scoring import AssessmentRules, Deduction, Item, unique_key_loader
from safegrade.errors import InvalidInput
from safegrade.io.cells import (
    HALF_WIDTH,
    Column,
    RowProblem,
    cell_text,
    find_header,
    header_key,
    is_empty,
    open_workbook,
    parse_date_text,
    parse_serial,
    shown_value,
)

ALLOWED_EXTENSIONS = (".yaml", ".yml", ".json", ".xlsx")
ASSESSMENT_SHEET = "评估"
DEDUCTION_SHEET = "扣分"
MIN_CONTENT_CHARS = 4
CONTENT_RULE = ("every deduction must record its item and specific content (扣分内容): the 2023 circular "
                "criticised assessments that only deducted points without recording the deduction items and "
                f"content (只进行了扣分，未记录扣分事项、具体内容); write what was found, at least {MIN_CONTENT_CHARS} "
                "characters")

ASSESSMENT_COLUMNS = (
    Column("credit_code", ("统一社会信用代码",), True),
    Column("campaign", ("评估批次",), True),
    Column("assessed_on", ("评估日期",), True),
    Column("assessors", ("评估人员",), True),
    Column("methods", ("评估方式",), True),
    Column("not_applicable", ("不适用项",), False),
    Column("remarks", ("备注",), False),
)
DEDUCTION_COLUMNS = (
    Column("credit_code", ("统一社会信用代码",), True),
    Column("campaign", ("评估批次",), True),
    Column("element", ("要素",), False),
    Column("item", ("扣分项",), True),
    Column("points", ("扣分",), True),
    Column("content", ("扣分内容",), True),
    Column("rectify", ("需整改",), False),
)
_DEDUCTION_FIELDS = tuple(c for c in DEDUCTION_COLUMNS if c.field not in ("credit_code", "campaign"))
_SEPARATORS = re.compile(r"[、,，;；\n]+")
_SPACES = re.compile(r"\s+")
_YES = frozenset({"是", "需要", "需整改", "y", "yes", "true", "1"})
_NO = frozenset({"否", "不需要", "无需整改", "n", "no", "false", "0"})
_YAML_LOADER = unique_key_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class AssessmentInput:
    """One valid assessment as written by the district, deductions in the order written."""

    file: str = field(compare=False)   # where it was read from; not part of ==
    row: int = field(compare=False)    # the 1-based assessment in a YAML/JSON file, the 评估 row in a workbook
    credit_code: str                   # normalized
    campaign: str
    assessed_on: date
    assessors: tuple[str, ...]
    methods: tuple[str, ...]           # from the rules' methods
    deductions: tuple[Deduction, ...]
    not_applicable: tuple[str, ...]    # item codes
    materials: Mapping[str, int]       # material name -> copies, for the materials given
    remarks: str = ""


@dataclass(frozen=True, slots=True)
class _Value:
    """A value as found, and where: row and column as a problem reports them."""

    row: int
    column: str
    value: object


@dataclass
class _Raw:
    """One assessment as found in a file, before checking. `fields` holds every column/key (missing
    ones as None), `deductions` the YAML/JSON deductions (a workbook's come from its 扣分 sheet)."""

    row: int
    fields: dict[str, _Value]
    materials: list[tuple[str, _Value]] = field(default_factory=list)
    deductions: list[dict[str, _Value]] = field(default_factory=list)


@dataclass
class _Pending:
    """An assessment being checked: its valid fields (None if any was bad) and its deductions."""

    raw: _Raw
    values: dict[str, Any] | None
    excluded: frozenset[str]
    deductions: list[Deduction] = field(default_factory=list)
    ok: bool = True


def _fold(text: str) -> str:
    return header_key(text.translate(HALF_WIDTH))


def _item_code(text: str) -> str:
    return text.translate(HALF_WIDTH).replace(" ", "").upper()


def _number(value: object) -> Decimal | None:
    """A finite number from a number or numeric text; None otherwise (bools are not numbers)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            number = Decimal(value.translate(HALF_WIDTH).strip())
        else:
            return None
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Checker:
    """Checks raw assessments and deductions against the rules, collecting every problem."""

    def __init__(self, file: str, rules: AssessmentRules, accepted_codes: Collection[str],
                 epoch: datetime | None) -> None:
        self.file = file
        self.rules = rules
        self.accepted = frozenset(creditcode.normalize(c) for c in accepted_codes)
        self.epoch = epoch   # a workbook's date epoch; None for YAML/JSON, whose numbers are not dates
        self.problems: list[RowProblem] = []
        self.seen: dict[tuple[str, str], int] = {}
        self.by_key: dict[tuple[str, str], _Pending] = {}
        self._dates: dict[object, date | str] = {}
        self._elements = {_fold(name): e.key for e in rules.elements.values() for name in (e.key, e.label)}
        firsts = [e.items[0] for e in rules.elements.values() if e.items]
        self._code_hint = (f"item codes look like {', '.join(firsts)} (the full list of {len(rules.items)} items "
                           f"is under elements: in the assessment rules, rules/assessment.yaml)")
        may = [c for c, i in rules.items.items() if i.not_applicable]
        self._na_hint = f"items that may: {', '.join(may)}" if may else "no item may"
        self._methods = "、".join(rules.methods)
        self._materials = "、".join(rules.materials) or "(none)"

    def bad(self, v: _Value, reason: str, column: str | None = None, value: object = None) -> None:
        shown = shown_value(v.value if value is None else value)
        self.problems.append(RowProblem(self.file, v.row, column or v.column, shown, reason))

    # --- values ------------------------------------------------------------------------------------

    def text(self, v: _Value, required: bool) -> str | None:
        if isinstance(v.value, list | dict):
            self.bad(v, f"must be text, got a {'list' if isinstance(v.value, list) else 'mapping'}")
            return None
        text = cell_text(v.value)
        if required and not text:
            self.bad(v, "required; it is empty or missing")
            return None
        return text

    def names(self, v: _Value) -> list[tuple[_Value, str]]:
        """The names of a list or of text separated by 、 , ; or new lines, each with where it is."""
        if isinstance(v.value, list):
            out = []
            for i, element in enumerate(v.value):
                at = _Value(v.row, f"{v.column}[{i}]", element)
                text = self.text(at, required=False)
                if text:
                    out.append((at, text))
            return out
        text = self.text(v, required=False)
        return [(v, part.strip()) for part in _SEPARATORS.split(text) if part.strip()] if text else []

    def credit_code(self, v: _Value) -> str | None:
        text = self.text(v, required=True)
        if text is None:
            return None
        if isinstance(v.value, float) or (self.epoch is not None and isinstance(v.value, int)):
            self.bad(v, "a number, not text: a spreadsheet keeps only 15 digits, so the code is damaged; "
                        "write it as text (format the column as 文本, or quote it in YAML)")
            return None
        code = creditcode.normalize(text)
        problem = creditcode.problem(code)
        if problem and not (code in self.accepted and creditcode.check_char_mismatch(code)):
            self.bad(v, problem)
            return None
        return code

    def date(self, v: _Value) -> date | None:
        value = v.value
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = self.text(v, required=True)
        if text is None:
            return None
        cache_key = (type(value) is str, text)   # in a workbook, 45000 is a date serial and '45000' is not
        parsed = self._dates.get(cache_key)
        if parsed is None:
            if self.epoch is not None and isinstance(value, int | float) and not isinstance(value, bool):
                parsed = parse_serial(float(value), self.epoch)
            else:
                parsed = parse_date_text(text)
            self._dates[cache_key] = parsed
        if isinstance(parsed, str):
            self.bad(v, parsed + (", or use an Excel date cell" if self.epoch is not None else ""))
            return None
        return parsed

    # --- an assessment -----------------------------------------------------------------------------

    def assessment(self, raw: _Raw) -> _Pending:
        """Check an assessment's own fields; its deductions are checked by deduction()."""
        before = len(self.problems)
        f = raw.fields
        code = self.credit_code(f["credit_code"])
        campaign = self.text(f["campaign"], required=True)
        assessed_on = self.date(f["assessed_on"])
        assessors = tuple(dict.fromkeys(name for _, name in self.names(f["assessors"])))
        if not assessors:
            self.bad(f["assessors"], "required; name at least one assessor (评估人员)")
        methods = self.methods(f["methods"])
        excluded = self.not_applicable(f["not_applicable"])
        materials = self.materials(raw.materials)
        remarks = self.text(f["remarks"], required=False)
        key = (creditcode.normalize(cell_text(f["credit_code"].value)), cell_text(f["campaign"].value))
        pending = _Pending(raw, None, frozenset(excluded))
        if all(key):
            first = self.seen.setdefault(key, raw.row)
            if first != raw.row:
                self.bad(f["credit_code"], f"duplicate of row {first}: the same 统一社会信用代码 and 评估批次 "
                                           f"appear twice in the file; one assessment per enterprise and campaign")
            else:
                self.by_key[key] = pending
        if len(self.problems) > before or None in (code, campaign, assessed_on, remarks):
            pending.ok = False
            return pending
        pending.values = {
            "credit_code": code, "campaign": campaign, "assessed_on": assessed_on, "assessors": assessors,
            "methods": methods, "not_applicable": tuple(excluded), "materials": materials, "remarks": remarks,
        }
        return pending

    def methods(self, v: _Value) -> tuple[str, ...]:
        found = self.names(v)
        if not found:
            self.bad(v, f"required; name at least one method (评估方式): {self._methods}")
        for at, name in found:
            if name not in self.rules.methods:
                self.bad(at, f"unknown method; the methods are {self._methods}", value=name)
        return tuple(dict.fromkeys(name for _, name in found))

    def not_applicable(self, v: _Value) -> list[str]:
        codes: list[str] = []
        for at, text in self.names(v):
            code = _item_code(text)
            item = self.rules.items.get(code)
            if item is None:
                self.bad(at, f"unknown item code {code}; {self._code_hint}", value=text)
            elif not item.not_applicable:
                self.bad(at, f"item {code} ({item.label}) may not be marked not applicable; {self._na_hint}",
                         value=text)
            elif code not in codes:
                codes.append(code)
        return codes

    def materials(self, found: list[tuple[str, _Value]]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, v in found:
            if name not in self.rules.materials:
                self.bad(v, f"unknown material {name}; the materials counted are {self._materials}")
                continue
            if v.value is None or v.value == "":
                continue
            number = _number(v.value)
            if number is None or number != number.to_integral_value():
                self.bad(v, "must be a whole number of copies")
            elif number < 0:
                self.bad(v, "must be 0 or more copies")
            else:
                counts[name] = int(number)
        return counts

    # --- a deduction -------------------------------------------------------------------------------

    def deduction(self, pending: _Pending, d: dict[str, _Value]) -> None:
        """Check one deduction of `pending` and add it, or add its problems and mark pending bad."""
        before = len(self.problems)
        item_text = self.text(d["item"], required=False)
        code = _item_code(item_text or "")
        item = self.rules.items.get(code)
        if item_text is not None and not code:
            self.bad(d["item"], f"required: every deduction must record its item (扣分项) and specific content; "
                                f"{self._code_hint}")
        elif item_text is not None and item is None:
            self.bad(d["item"], f"unknown item code {code}; {self._code_hint}")
        elif item is not None and code in pending.excluded:
            self.bad(d["item"], f"item {code} is also marked not applicable (不适用项) in this assessment; "
                                f"either deduct points on it or mark it not applicable, not both")
        element = self.text(d["element"], required=False)
        if element and item is not None and self._elements.get(_fold(element)) != item.element:
            label = self.rules.elements[item.element].label
            self.bad(d["element"], f"item {code} belongs to {label} ({item.element}), not to {element}")
        points = self.points(d["points"], code, item)
        content = self.text(d["content"], required=False)
        if content is not None:
            length = len(content)
            if length >= MIN_CONTENT_CHARS and _SPACES.search(content):   # spaces inside do not count
                length = len(_SPACES.sub("", content))
            if length < MIN_CONTENT_CHARS:
                self.bad(d["content"], ("empty: " if not length else f"only {length} character(s): ") + CONTENT_RULE)
        rectify = self.rectify(d["rectify"], item)
        if len(self.problems) > before or item is None or points is None or content is None or rectify is None:
            pending.ok = False
            return
        pending.deductions.append(Deduction(code, points, content, rectify))

    def points(self, v: _Value, code: str, item: Item | None) -> float | None:
        if v.value is None or cell_text(v.value) == "":
            self.bad(v, "required; write the points deducted (扣分)")
            return None
        number = _number(v.value)
        if number is None:
            self.bad(v, "not a number; write the points deducted, e.g. 2 or 0.5")
            return None
        if number <= 0:
            self.bad(v, "must be above 0; a deduction takes points off (leave an item without deductions out)")
            return None
        if item is not None and number > Decimal(repr(item.points)):
            self.bad(v, f"above the item's maximum of {item.points:g} points ({code} {item.label})")
            return None
        return float(number)

    def rectify(self, v: _Value, item: Item | None) -> bool | None:
        default = item.rectify if item is not None else True
        value = v.value
        if isinstance(value, bool):
            flag = value
        else:
            text = cell_text(value).casefold()
            if not text:
                return default
            if text in _YES:
                flag = True
            elif text in _NO:
                flag = False
            else:
                self.bad(v, "write 是 or 否 (whether the deduction opens a finding to rectify), or leave it empty "
                            "for the item's default")
                return None
        if item is not None and item.veto and not flag:
            self.bad(v, "a major accident hazard (重大事故隐患) is always rectified; write 是 or leave it empty")
            return None
        return flag

    def results(self, pendings: list[_Pending]) -> list[AssessmentInput]:
        out = []
        for p in pendings:
            if p.ok and p.values is not None:
                out.append(AssessmentInput(self.file, p.raw.row, deductions=tuple(p.deductions), **p.values))
        return out


# ---------------------------------------------------------------------------------------------------
# YAML and JSON

_TOP_KEYS = {header_key(h): c.field for c in ASSESSMENT_COLUMNS for h in (c.field, *c.headers)}
_TOP_KEYS |= {"materials": "materials", "deductions": "deductions"}
_DEDUCTION_KEYS = {header_key(h): c.field for c in _DEDUCTION_FIELDS for h in (c.field, *c.headers)}
_TOP_ALLOWED = ", ".join([*(c.field for c in ASSESSMENT_COLUMNS), "materials", "deductions"])
_DEDUCTION_ALLOWED = ", ".join(c.field for c in _DEDUCTION_FIELDS)


def _keyed(c: _Checker, row: int, prefix: str, body: Mapping[Any, Any], keys: dict[str, str],
           fields: Sequence[str], allowed: str) -> dict[str, _Value]:
    """Each known field of a mapping as a _Value (missing ones None); unknown or doubled keys reported."""
    out: dict[str, _Value] = {}
    written: dict[str, str] = {}
    for key, value in body.items():
        name = str(key)
        at = _Value(row, f"{prefix}{name}", value)
        known = keys.get(name) or keys.get(header_key(name))
        if known is None:
            c.bad(at, f"unknown key {name}; allowed keys are {allowed}", value="")
        elif known in out:
            c.bad(at, f"given twice, as {written[known]} and {name}; keep one", value="")
        else:
            out[known] = at
            written[known] = name
    for name in fields:
        out.setdefault(name, _Value(row, f"{prefix}{name}", None))
    return out


def _raw_from_mapping(c: _Checker, row: int, body: Any) -> _Raw | None:
    if not isinstance(body, Mapping):
        c.problems.append(RowProblem(c.file, row, "(assessment)", shown_value(body),
                                     f"must be a mapping with keys {_TOP_ALLOWED}"))
        return None
    fields = _keyed(c, row, "", body, _TOP_KEYS, [*(col.field for col in ASSESSMENT_COLUMNS), "materials",
                                                   "deductions"], _TOP_ALLOWED)
    raw = _Raw(row, fields)
    materials = fields.pop("materials")
    if isinstance(materials.value, Mapping):
        raw.materials = [(str(k), _Value(row, f"materials.{k}", v)) for k, v in materials.value.items()]
    elif materials.value is not None:
        c.bad(materials, f"must be a mapping of material name to copies, e.g. {{口袋书: 120}}; "
                         f"the materials counted are {c._materials}")
    deductions = fields.pop("deductions")
    if isinstance(deductions.value, list):
        for i, d in enumerate(deductions.value):
            prefix = f"deductions[{i}]"
            if not isinstance(d, Mapping):
                c.bad(_Value(row, prefix, d), f"must be a mapping with keys {_DEDUCTION_ALLOWED}")
                raw.deductions.append({})
                continue
            raw.deductions.append(_keyed(c, row, f"{prefix}.", d, _DEDUCTION_KEYS,
                                         [col.field for col in _DEDUCTION_FIELDS], _DEDUCTION_ALLOWED))
    elif deductions.value is not None:
        c.bad(deductions, f"must be a list of deductions, each with {_DEDUCTION_ALLOWED}")
    return raw


def _documents(path: Path) -> list[Any]:
    """The assessments of a YAML or JSON file, in order (still unchecked)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text; save it as UTF-8") from exc
    if path.suffix.lower() == ".json":
        try:
            docs = [json.loads(text, object_pairs_hook=_unique_json_object)]
        except ValueError as exc:
            raise InvalidInput(f"{path}: not valid JSON: {exc}") from exc
    else:
        try:
            docs = [d for d in yaml.load_all(text, Loader=_YAML_LOADER) if d is not None]
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    found: list[Any] = []
    for doc in docs:
        if isinstance(doc, list):
            found.extend(doc)
        elif isinstance(doc, Mapping):
            found.append(doc)
        else:
            raise InvalidInput(f"{path}: holds {type(doc).__name__}; an assessment file holds one assessment "
                               f"(a mapping with keys {_TOP_ALLOWED}) or a list of them")
    if not docs:
        raise InvalidInput(f"{path}: empty; an assessment file holds one assessment (a mapping with keys "
                           f"{_TOP_ALLOWED}) or a list of them")
    return found


def _unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} written twice in one object")
        out[key] = value
    return out


def _read_documents(path: Path, c: _Checker) -> list[_Pending]:
    pendings = []
    for row, body in enumerate(_documents(path), start=1):
        before = len(c.problems)
        raw = _raw_from_mapping(c, row, body)
        if raw is None:
            continue
        pending = c.assessment(raw)
        for d in raw.deductions:
            if d:
                c.deduction(pending, d)
        pending.ok = pending.ok and len(c.problems) == before   # also unknown keys, deductions not mappings
        pendings.append(pending)
    return pendings


# ---------------------------------------------------------------------------------------------------
# Workbooks


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
        raise InvalidInput(f"{where}: no header row; allowed headers: {allowed}")
    number, cells = found_header
    found: dict[str, tuple[int, str]] = {}
    unknown, repeated = [], []
    for index, value in enumerate(cells):
        header = cell_text(value)
        if not header:
            continue
        name = table.get(header_key(header))
        if name is None:
            unknown.append(repr(header))
        elif name in found:
            repeated.append(f"{found[name][1]!r} and {header!r}")
        else:
            found[name] = (index, header)
    missing = [c.label for c in columns if c.required and c.field not in found]
    reasons = [text for text in (
        f"missing required column(s) {', '.join(missing)}" if missing else "",
        f"unknown column header(s) {', '.join(unknown)}" if unknown else "",
        f"repeated column(s): {'; '.join(repeated)} mean the same; keep one" if repeated else "",
    ) if text]
    if reasons:
        raise InvalidInput(f"{where}, header row {number}: {'; '.join(reasons)}. Allowed headers: {allowed}")
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
                               f"(one row per deduction); it has {', '.join(map(repr, sheets)) or 'none'}")
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


# ---------------------------------------------------------------------------------------------------
# Reading and writing


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
                           f"{', '.join(ALLOWED_EXTENSIONS)}")
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
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
