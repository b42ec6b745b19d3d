"""Checking raw assessments and their deductions against the rules, collecting every problem."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

from safegrade.domain import creditcode
from safegrade.domain.scoring import AssessmentRules, Deduction, Item
from safegrade.io.assessment.model import (
    _NO,
    _SEPARATORS,
    _SPACES,
    _YES,
    CONTENT_RULE,
    MIN_CONTENT_CHARS,
    AssessmentInput,
    _fold,
    _item_code,
    _number,
    _Pending,
    _Raw,
    _Value,
)
from safegrade.io.cells import RowProblem, cell_text, parse_date_text, parse_serial, shown_value


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


