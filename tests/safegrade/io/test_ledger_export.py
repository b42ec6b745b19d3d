"""Writing the 台账 workbook (汇总 plus one worksheet per district) and reading it back: read_ledger takes
the records from 汇总 and reports every per-district row that does not repeat a row of 汇总.

The `rules` fixture is the shared one in tests/conftest.py (the project's rules/ directory).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from safegrade.demo.synthetic import synthetic_rows
from safegrade.errors import InvalidInput
from safegrade.io.ledger import read_ledger
from safegrade.io.ledger_export import HEADERS, write_ledger_xlsx
from safegrade.rules import Rules


def enterprise(row: Mapping[str, str], rules: Rules, **changes: Any) -> dict[str, Any]:
    """A dict as list_enterprises returns it, from a synthetic ledger row."""
    district = rules.district(row["区"])
    sector = rules.sector(row["行业类别"])
    assert district is not None
    assert sector is not None
    e: dict[str, Any] = {
        "credit_code": row["统一社会信用代码"], "name": row["企业名称"], "district": district.code,
        "district_name": district.name, "sector": sector.key, "sector_label": sector.label, "in_gongmao": True,
        "level": row["标准化等级"], "certificate_no": row["证书编号"],
        "graded_on": date.fromisoformat(row["定级日期"]), "valid_until": date.fromisoformat(row["有效期至"]),
        "address": row["地址"], "contact": row["联系人"], "phone": row["联系电话"], "remarks": "",
        "state": "graded", "state_label": "已定级", "flags": [], "version": 1,
    }
    e.update(changes)
    return e


def enterprises(rules: Rules, n: int = 100, seed: int = 23) -> list[dict[str, Any]]:
    return [enterprise(row, rules) for row in synthetic_rows(n, seed=seed, rules=rules)]


def fields_of(e: Mapping[str, Any]) -> dict[str, Any]:
    """What read_ledger's LedgerRecord.fields() should give back for an exported enterprise."""
    keys = ("credit_code", "name", "district", "sector", "in_gongmao", "level", "certificate_no", "graded_on",
            "valid_until", "address", "contact", "phone", "remarks")
    return {k: e[k] for k in keys}


def ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda e: (e["district"], e["credit_code"]))


@pytest.fixture
def exported(tmp_path: Path, rules: Rules) -> tuple[Path, list[dict[str, Any]], dict[str, int]]:
    items = enterprises(rules)
    path = tmp_path / "台账.xlsx"
    return path, items, write_ledger_xlsx(path, items, rules)


# --- round trip ------------------------------------------------------------------------------------


def test_round_trip_gives_the_exported_enterprises(exported: Any, rules: Rules) -> None:
    path, items, _ = exported
    records, problems = read_ledger(path, rules)
    assert problems == []
    assert [r.fields() for r in records] == [fields_of(e) for e in ordered(items)]
    assert [r.row for r in records] == list(range(2, 102))
    assert all(r.file == str(path) for r in records)


def test_sheet_counts_and_order(exported: Any, rules: Rules) -> None:
    path, items, counts = exported
    per_district = Counter(e["district"] for e in items)
    expected = {"汇总": 100} | {rules.district_name(code): n for code, n in sorted(per_district.items())}
    assert counts == expected
    assert list(counts) == list(expected)  # 汇总 first, then districts in code order
    assert len(counts) == 17  # 100 synthetic rows cover all 16 districts
    wb = load_workbook(path)
    assert wb.sheetnames == list(expected)
    assert {ws.title: ws.max_row - 1 for ws in wb.worksheets} == expected


@pytest.mark.usefixtures("rules")
def test_district_sheets_repeat_summary_rows_numbered_from_one(exported: Any) -> None:
    path, _, counts = exported
    wb = load_workbook(path)
    summary = {row[3]: row[1:] for row in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert [row[0] for row in wb["汇总"].iter_rows(min_row=2, values_only=True)] == list(range(1, 101))
    for name in list(counts)[1:]:
        rows = list(wb[name].iter_rows(min_row=2, values_only=True))
        assert [row[0] for row in rows] == list(range(1, counts[name] + 1))
        assert all(row[1] == name and summary[row[3]] == row[1:] for row in rows)
        codes = [row[3] for row in rows]
        assert codes == sorted(codes)


@pytest.mark.usefixtures("rules")
def test_cells_header_and_layout(exported: Any) -> None:
    path, items, _ = exported
    wb = load_workbook(path)
    for ws in wb.worksheets:
        assert [c.value for c in ws[1]] == list(HEADERS)
        assert all(c.font.b for c in ws[1])
        assert ws.freeze_panes == "A2"
        assert all(ws.column_dimensions[letter].width >= 6 for letter in "ABCDEFGHIJKLM")
    ws = wb["汇总"]
    first = ordered(items)[0]
    row = {h: c for h, c in zip(HEADERS, ws[2], strict=True)}
    assert row["统一社会信用代码"].data_type == "s"
    assert row["统一社会信用代码"].value == first["credit_code"]
    assert row["联系电话"].data_type == "s"
    for header, field in (("定级日期", "graded_on"), ("有效期至", "valid_until")):
        assert row[header].is_date
        assert row[header].number_format == "yyyy-mm-dd"
        assert row[header].value.date() == first[field]
    assert ws.column_dimensions["C"].width > ws.column_dimensions["F"].width  # names are wider than levels


def test_title_goes_into_the_properties_not_a_row(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "t.xlsx"
    write_ledger_xlsx(path, enterprises(rules, 5), rules, title="2023年工贸行业安全生产标准化定级企业台账")
    wb = load_workbook(path)
    assert wb.properties.title == "2023年工贸行业安全生产标准化定级企业台账"
    assert wb["汇总"]["A1"].value == "序号"


def test_not_gongmao_sector_and_text_like_formulas_survive(tmp_path: Path, rules: Rules) -> None:
    rows = synthetic_rows(3, seed=4, rules=rules)
    items = [enterprise(rows[0], rules, sector="化工", sector_label="化工", in_gongmao=False),
             enterprise(rows[1], rules, remarks="=HYPERLINK(\"http://x\")", name="=甲公司"),
             enterprise(rows[2], rules, address="", contact="", phone="")]
    path = tmp_path / "f.xlsx"
    write_ledger_xlsx(path, items, rules)
    records, problems = read_ledger(path, rules)
    assert problems == []
    assert sorted((r.fields() for r in records), key=lambda f: str(f["credit_code"])) == sorted(
        (fields_of(e) for e in items), key=lambda f: str(f["credit_code"]))
    cells = [c for ws in load_workbook(path).worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)


def test_control_characters_are_dropped(tmp_path: Path, rules: Rules) -> None:
    item = enterprise(synthetic_rows(1, seed=8, rules=rules)[0], rules, remarks="复评\x07通过")
    path = tmp_path / "c.xlsx"
    write_ledger_xlsx(path, [item], rules)
    records, _ = read_ledger(path, rules)
    assert records[0].remarks == "复评通过"


def test_no_enterprises_gives_an_empty_ledger(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "e.xlsx"
    assert write_ledger_xlsx(path, [], rules) == {"汇总": 0}
    assert read_ledger(path, rules) == ([], [])


def test_dates_given_as_text_are_accepted(tmp_path: Path, rules: Rules) -> None:
    row = synthetic_rows(1, seed=9, rules=rules)[0]
    item = enterprise(row, rules, graded_on=row["定级日期"], valid_until=row["有效期至"])
    path = tmp_path / "d.xlsx"
    write_ledger_xlsx(path, [item], rules)
    records, _ = read_ledger(path, rules)
    assert records[0].graded_on == date.fromisoformat(row["定级日期"])


@pytest.mark.parametrize(("change", "words"), [
    ({"district": "110105"}, "district '110105' is not a district code"),
    ({"graded_on": "2021年6月"}, "graded_on '2021年6月' is not a date"),
    ({"certificate_no": ""}, "missing certificate_no"),
])
def test_bad_enterprise_refused_and_nothing_written(tmp_path: Path, rules: Rules, change: dict[str, Any],
                                                    words: str) -> None:
    items = enterprises(rules, 3)
    items[1].update(change)
    path = tmp_path / "bad.xlsx"
    with pytest.raises(InvalidInput, match=words):
        write_ledger_xlsx(path, items, rules)
    assert not path.exists()


def test_duplicate_credit_code_refused(tmp_path: Path, rules: Rules) -> None:
    items = enterprises(rules, 3)
    items.append({**items[0], "district": "120103"})
    with pytest.raises(InvalidInput, match=f"given more than once: {items[0]['credit_code']}"):
        write_ledger_xlsx(tmp_path / "dup.xlsx", items, rules)


# --- per-district worksheets checked against 汇总 -----------------------------------------------------


def tamper(path: Path, sheet: str, row: int, header: str, value: object) -> None:
    wb = load_workbook(path)
    wb[sheet].cell(row=row, column=HEADERS.index(header) + 1, value=value)
    wb.save(path)


def busiest(counts: dict[str, int]) -> str:
    return max(list(counts)[1:], key=lambda name: (counts[name], name))


def test_changed_cell_in_a_district_sheet_is_reported(exported: Any, rules: Rules) -> None:
    path, _, counts = exported
    sheet = busiest(counts)
    code = load_workbook(path)[sheet].cell(row=3, column=4).value
    tamper(path, sheet, 3, "企业名称", "天津市篡改有限公司")
    records, problems = read_ledger(path, rules)
    assert len(records) == 100
    summary_row = next(r.row for r in records if r.credit_code == code)
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        (f"{path} (sheet {sheet!r})", 3, "企业名称", "天津市篡改有限公司")]
    assert problems[0].reason.startswith(f"differs from 汇总 row {summary_row} in column 企业名称: 汇总 has '")


def test_changed_date_and_district_shown_as_the_ledger_writes_them(exported: Any, rules: Rules) -> None:
    path, _, counts = exported
    sheet = busiest(counts)
    tamper(path, sheet, 2, "有效期至", date(2030, 1, 1))
    tamper(path, sheet, 2, "区", "和平区")
    _, problems = read_ledger(path, rules)
    assert [(p.row, p.column, p.value) for p in problems] == [
        (2, "区", "和平区"), (2, "区", "和平区"), (2, "有效期至", "2030-01-01")]
    assert f"a row of 和平区 on the worksheet of {sheet}" in problems[0].reason
    assert f"汇总 has '{sheet}'" in problems[1].reason


def test_row_not_in_summary_is_reported(exported: Any, rules: Rules) -> None:
    path, _, counts = exported
    sheet = busiest(counts)
    stranger = enterprise(synthetic_rows(1, seed=999, rules=rules)[0], rules)
    wb = load_workbook(path)
    ws = wb[sheet]
    extra_row = ws.max_row + 1
    ws.append([99, sheet, stranger["name"], stranger["credit_code"], stranger["sector_label"], stranger["level"],
               stranger["certificate_no"], stranger["graded_on"], stranger["valid_until"]])
    wb.save(path)
    records, problems = read_ledger(path, rules)
    assert len(records) == 100
    assert stranger["credit_code"] not in {r.credit_code for r in records}
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        (f"{path} (sheet {sheet!r})", extra_row, "统一社会信用代码", stranger["credit_code"])]
    assert problems[0].reason.startswith("not in 汇总")


def test_bad_cell_in_a_district_sheet_names_the_sheet(exported: Any, rules: Rules) -> None:
    path, _, counts = exported
    sheet = busiest(counts)
    tamper(path, sheet, 2, "标准化等级", "五级")
    _, problems = read_ledger(path, rules)
    assert [(p.file, p.row, p.column) for p in problems] == [(f"{path} (sheet {sheet!r})", 2, "标准化等级")]
    assert "not a grade level" in problems[0].reason


def test_row_refused_in_summary_is_not_compared_again(exported: Any, rules: Rules) -> None:
    path, _, _ = exported
    tamper(path, "汇总", 2, "标准化等级", "五级")  # its district's worksheet still holds the good copy
    records, problems = read_ledger(path, rules)
    assert len(records) == 99
    assert [(p.file, p.row, p.column) for p in problems] == [(str(path), 2, "标准化等级")]


def test_bad_header_in_a_district_sheet_is_a_problem_not_a_refusal(exported: Any, rules: Rules) -> None:
    path, _, counts = exported
    sheet = busiest(counts)
    tamper(path, sheet, 1, "备注", "经营状态")
    records, problems = read_ledger(path, rules)
    assert len(records) == 100
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [(f"{path} (sheet {sheet!r})", 1, "工作表", sheet)]
    assert "unknown column header(s) '经营状态'" in problems[0].reason


def test_full_city_summary_name_also_accepted(exported: Any, rules: Rules) -> None:
    path, _, _ = exported
    wb = load_workbook(path)
    wb["汇总"].title = "全市汇总"
    wb.save(path)
    records, problems = read_ledger(path, rules)
    assert len(records) == 100
    assert problems == []


def test_first_sheet_not_named_summary_keeps_first_sheet_only(exported: Any, rules: Rules) -> None:
    path, _, counts = exported
    wb = load_workbook(path)
    wb["汇总"].title = "台账"
    wb.save(path)
    records, problems = read_ledger(path, rules)
    assert len(records) == 100
    assert [(p.column, p.value) for p in problems] == [("工作表", name) for name in list(counts)[1:]]
    assert all("only the first worksheet is read" in p.reason for p in problems)


# --- size ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_thousand_enterprises(tmp_path: Path, rules: Rules) -> None:
    items = [enterprise(row, rules) for start in (1, 5001)
             for row in synthetic_rows(5000, seed=31, rules=rules, start_no=start)]
    path = tmp_path / "big.xlsx"
    counts = write_ledger_xlsx(path, items, rules)
    assert counts["汇总"] == 10_000
    assert sum(counts.values()) == 20_000
    records, problems = read_ledger(path, rules)
    assert len(records) == 10_000
    assert problems == []
