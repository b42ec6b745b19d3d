"""Synthetic ledgers: deterministic, valid, unique, spread over every district and sector, and the bad
rows each wrong in exactly the one documented way.

The `rules` fixture is the shared one in tests/conftest.py (the project's rules/ directory).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from safegrade.demo.synthetic import HEADERS, add_years, bad_rows, synthetic_rows, write_csv, write_xlsx
from safegrade.domain import creditcode
from safegrade.domain.workday import is_working_day
from safegrade.io.ledger import read_ledger
from safegrade.rules import Rules


@pytest.fixture(scope="module")
def rows(rules: Rules) -> list[dict[str, str]]:
    return synthetic_rows(2000, seed=42, rules=rules)


def test_deterministic_by_seed(rules: Rules, rows: list[dict[str, str]]) -> None:
    assert synthetic_rows(2000, seed=42, rules=rules) == rows
    assert synthetic_rows(2000, seed=43, rules=rules) != rows
    assert synthetic_rows(20, seed=42, rules=rules) == synthetic_rows(20, seed=42, rules=rules)


def test_headers_in_order(rows: list[dict[str, str]]) -> None:
    assert all(tuple(row) == HEADERS for row in rows)
    assert HEADERS == ("序号", "区", "企业名称", "统一社会信用代码", "行业类别", "标准化等级", "证书编号", "定级日期",
                       "有效期至", "地址", "联系人", "联系电话")
    assert all(isinstance(v, str) and v for row in rows for v in row.values())


def test_numbering_and_start_no(rules: Rules, rows: list[dict[str, str]]) -> None:
    assert [row["序号"] for row in rows[:3]] == ["1", "2", "3"]
    later = synthetic_rows(5, seed=42, rules=rules, start_no=2001)
    assert [row["序号"] for row in later] == ["2001", "2002", "2003", "2004", "2005"]
    assert not {r["统一社会信用代码"] for r in later} & {r["统一社会信用代码"] for r in rows}


def test_credit_codes_valid_unique_and_tianjin(rules: Rules, rows: list[dict[str, str]]) -> None:
    codes = [row["统一社会信用代码"] for row in rows]
    assert len(set(codes)) == len(codes)
    for row in rows:
        code = row["统一社会信用代码"]
        assert creditcode.problem(code) is None, code
        district = rules.district(row["区"])
        assert district is not None
        assert code.startswith("91" + district.code)


def test_every_district_and_sector_present(rules: Rules, rows: list[dict[str, str]]) -> None:
    assert {rules.district(r["区"]).code for r in rows} == set(rules.districts)  # type: ignore[union-attr]
    assert {rules.sector(r["行业类别"]).key for r in rows} == set(rules.sectors)  # type: ignore[union-attr]
    small = synthetic_rows(16, seed=1, rules=rules)
    assert len({r["区"] for r in small}) == 16
    assert len({r["行业类别"] for r in small}) == 8


def test_mostly_third_level(rows: list[dict[str, str]]) -> None:
    levels = Counter(row["标准化等级"] for row in rows)
    assert set(levels) <= {"一级", "二级", "三级"}
    assert levels["三级"] > 0.75 * len(rows)
    assert levels["二级"] > 0
    assert levels["一级"] > 0


def test_names_unique_and_plausible(rows: list[dict[str, str]]) -> None:
    names = [row["企业名称"] for row in rows]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"天津市[\u4e00-\u9fff]{4,12}有限公司", n) for n in names), names[:5]


def test_names_unique_for_a_benchmark_sized_ledger(rules: Rules) -> None:
    big = synthetic_rows(60_000, seed=9, rules=rules)
    assert len({r["企业名称"] for r in big}) == 60_000
    assert len({r["统一社会信用代码"] for r in big}) == 60_000


def test_dates(rules: Rules, rows: list[dict[str, str]]) -> None:
    for row in rows:
        graded = date.fromisoformat(row["定级日期"])
        valid = date.fromisoformat(row["有效期至"])
        assert date(2021, 1, 1) <= graded <= date(2023, 4, 30)
        assert is_working_day(graded), graded
        assert valid == add_years(graded, rules.deadlines.grade_validity_years) - timedelta(days=1)


def test_add_years_on_leap_day() -> None:
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert add_years(date(2021, 6, 15), 3) == date(2024, 6, 15)


def test_certificate_numbers(rows: list[dict[str, str]]) -> None:
    marks = {"一级": "Ⅰ", "二级": "Ⅱ", "三级": "Ⅲ"}
    numbers = [row["证书编号"] for row in rows]
    assert len(set(numbers)) == len(numbers)
    for row in rows:
        m = re.fullmatch(r"津AQB([A-Z]{2})([ⅠⅡⅢ])(\d{4})(\d{5})", row["证书编号"])
        assert m, row["证书编号"]
        assert m.group(2) == marks[row["标准化等级"]]
        assert m.group(3) == row["定级日期"][:4]
        assert int(m.group(4)) == int(row["序号"])
    machinery = next(r for r in rows if r["行业类别"] == "机械")
    assert machinery["证书编号"].startswith("津AQBJX")


def test_addresses_contacts_phones(rows: list[dict[str, str]]) -> None:
    for row in rows:
        assert row["地址"].startswith("天津市" + row["区"])
        assert row["地址"].endswith("号")
        assert 2 <= len(row["联系人"]) <= 3
        assert re.fullmatch(r"1\d{10}|022-\d{8}", row["联系电话"]), row["联系电话"]


def test_write_csv_has_bom_and_reads_back(tmp_path: Path, rules: Rules) -> None:
    some = synthetic_rows(30, seed=2, rules=rules)
    path = tmp_path / "s.csv"
    write_csv(some, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + ",".join(HEADERS).encode())
    records, problems = read_ledger(path, rules)
    assert problems == []
    assert [r.credit_code for r in records] == [r["统一社会信用代码"] for r in some]


def test_write_xlsx_one_sheet_with_date_cells(tmp_path: Path, rules: Rules) -> None:
    some = synthetic_rows(3, seed=2, rules=rules)
    path = tmp_path / "s.xlsx"
    write_xlsx(some, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["台账"]
    ws = wb["台账"]
    assert [c.value for c in ws[1]] == list(HEADERS)
    second = [c.value for c in ws[2]]
    assert second[0] == 1
    assert second[HEADERS.index("定级日期")].date() == date.fromisoformat(some[0]["定级日期"])
    assert ws.cell(2, HEADERS.index("统一社会信用代码") + 1).data_type == "s"
    assert second[HEADERS.index("联系电话")] == some[0]["联系电话"]


def test_extra_columns_are_written_after_the_headers(tmp_path: Path, rules: Rules) -> None:
    some = [{**row, "备注": "复评"} for row in synthetic_rows(2, seed=2, rules=rules)]
    write_csv(some, tmp_path / "r.csv")
    records, problems = read_ledger(tmp_path / "r.csv", rules)
    assert problems == []
    assert [r.remarks for r in records] == ["复评", "复评"]


EXPECTED_BAD = ["统一社会信用代码", "区", "行业类别", "标准化等级", "有效期至", "定级日期"]


def test_bad_rows_each_wrong_in_one_way(tmp_path: Path, rules: Rules) -> None:
    bad = bad_rows(rules)
    assert len(bad) == len(EXPECTED_BAD)
    for i, ((row, what), column) in enumerate(zip(bad, EXPECTED_BAD, strict=True)):
        assert tuple(row) == HEADERS
        assert what
        assert column in what
        path = tmp_path / f"bad{i}.csv"
        write_csv([row], path)
        records, problems = read_ledger(path, rules)
        assert records == []
        assert [(p.row, p.column) for p in problems] == [(2, column)], (what, problems)


def test_bad_rows_are_deterministic_and_distinct(rules: Rules) -> None:
    assert bad_rows(rules) == bad_rows(rules)
    codes = [row["统一社会信用代码"] for row, _ in bad_rows(rules)]
    assert len(set(codes)) == len(codes)
