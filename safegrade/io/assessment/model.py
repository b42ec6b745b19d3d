"""What an assessment is as read: the columns and keys, AssessmentInput, and the values found
before checking."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from safegrade.domain.scoring import Deduction, unique_key_loader
from safegrade.io.cells import HALF_WIDTH, Column, header_key

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


