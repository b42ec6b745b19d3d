"""The ledger's columns and headers, LedgerRecord, and the 标准化等级 values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from safegrade.errors import InvalidInput
from safegrade.io.cells import Column, header_key, map_header

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


_HEADER_FIELDS = {header_key(h): c.field for c in COLUMNS for h in (*c.headers, c.field)}


def allowed_headers() -> str:
    """Every accepted header, for error messages: '序号 (no, optional), 区/所属区/区县 (district), ...'."""
    return ", ".join(c.label for c in COLUMNS)


def _map_header(where: str, number: int, cells: Sequence[object]) -> dict[str, tuple[int, str]]:
    """field -> (cell index, header as written) for every column but 序号; raises InvalidInput for
    unknown, repeated or missing columns, naming each and what is allowed."""
    found, unknown, repeats = map_header(cells, _HEADER_FIELDS)
    repeated = [f"{first!r} and {header!r} both mean {_BY_FIELD[field].label}" for first, header, field in repeats]
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
                           f"Allowed headers: {allowed_headers()}", code="bad_header", field="paths", value=where,
                           allowed=allowed_headers())
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


