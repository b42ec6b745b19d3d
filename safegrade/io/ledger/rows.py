"""Checking a ledger's rows, cell by cell."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

from safegrade.domain import creditcode
from safegrade.io.cells import HALF_WIDTH, RowProblem, cell_text, parse_date_text, parse_serial, shown_value
from safegrade.io.ledger.columns import _LEVELS, OPTIONAL_TEXT_FIELDS, REQUIRED_FIELDS, LedgerRecord
from safegrade.rules import District, Rules, Sector


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


