"""Reading a district's ledger (台账): every bad cell reported at its exact row and column, good rows
kept, file-level problems refused with what is allowed.

The `rules` fixture is the shared one in tests/conftest.py (the project's rules/ directory).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from safegrade.demo.synthetic import HEADERS, bad_rows, synthetic_rows, write_csv, write_xlsx
from safegrade.domain import creditcode
from safegrade.errors import InvalidInput
from safegrade.io.ledger import LedgerRecord, RowProblem, read_ledger
from safegrade.rules import Rules

CODE_A = creditcode.make("91120114MA05K1234")
CODE_B = creditcode.make("91120116MA06AB12C")
CODE_C = creditcode.make("9112011006FD12345")


def good(**changes: str) -> dict[str, str]:
    """One valid row keyed by the Chinese headers; keyword arguments replace cells by header."""
    row = {
        "序号": "1", "区": "武清区", "企业名称": "天津市宏达机械制造有限公司", "统一社会信用代码": CODE_A,
        "行业类别": "机械", "标准化等级": "三级", "证书编号": "津AQBJXⅢ202100123", "定级日期": "2021-06-15",
        "有效期至": "2024-06-14", "地址": "天津市武清区泉兴路18号", "联系人": "王伟", "联系电话": "13812345678",
    }
    row.update(changes)
    return row


def write_table(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]],
                encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_rows(path: Path, rows: Sequence[dict[str, str]], encoding: str = "utf-8-sig") -> Path:
    header = list(rows[0]) if rows else list(HEADERS)
    return write_table(path, header, [[r.get(h, "") for h in header] for r in rows], encoding)


def write_sheet(path: Path, rows: Sequence[Sequence[object]], title: str = "台账",
                more: dict[str, Sequence[Sequence[object]]] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
    for name, sheet_rows in (more or {}).items():
        other = wb.create_sheet(name)
        for row in sheet_rows:
            other.append(list(row))
    wb.save(path)
    return path


def where(problems: Sequence[RowProblem]) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in problems]


# --- good ledgers --------------------------------------------------------------------------------


def test_one_good_row_every_field(tmp_path: Path, rules: Rules) -> None:
    path = write_rows(tmp_path / "wq.csv", [good(备注="2023年复评")])
    records, problems = read_ledger(path, rules)
    assert problems == []
    assert records == [LedgerRecord(
        file=str(path), row=2, credit_code=CODE_A, name="天津市宏达机械制造有限公司", district="120114",
        sector="machinery", in_gongmao=True, level="三级", certificate_no="津AQBJXⅢ202100123",
        graded_on=date(2021, 6, 15), valid_until=date(2024, 6, 14), address="天津市武清区泉兴路18号",
        contact="王伟", phone="13812345678", remarks="2023年复评", check_override=None,
    )]
    assert records[0].fields() == {
        "credit_code": CODE_A, "name": "天津市宏达机械制造有限公司", "district": "120114",
        "sector": "machinery", "in_gongmao": True, "level": "三级", "certificate_no": "津AQBJXⅢ202100123",
        "graded_on": date(2021, 6, 15), "valid_until": date(2024, 6, 14), "address": "天津市武清区泉兴路18号",
        "contact": "王伟", "phone": "13812345678", "remarks": "2023年复评",
    }


def test_file_is_the_path_as_given(tmp_path: Path, rules: Rules, monkeypatch: pytest.MonkeyPatch) -> None:
    write_rows(tmp_path / "wq.csv", [good()])
    monkeypatch.chdir(tmp_path)
    records, _ = read_ledger(Path("wq.csv"), rules)
    assert records[0].file == "wq.csv"


def expected_from(row: dict[str, str], rules: Rules) -> dict[str, object]:
    district = rules.district(row["区"])
    sector = rules.sector(row["行业类别"])
    assert district is not None
    assert sector is not None
    return {
        "credit_code": row["统一社会信用代码"], "name": row["企业名称"], "district": district.code,
        "sector": sector.key, "in_gongmao": True, "level": row["标准化等级"], "certificate_no": row["证书编号"],
        "graded_on": date.fromisoformat(row["定级日期"]), "valid_until": date.fromisoformat(row["有效期至"]),
        "address": row["地址"], "contact": row["联系人"], "phone": row["联系电话"], "remarks": "",
    }


@pytest.mark.parametrize(("suffix", "writer"), [(".csv", write_csv), (".xlsx", write_xlsx)])
def test_synthetic_round_trip(tmp_path: Path, rules: Rules, suffix: str, writer) -> None:  # type: ignore[no-untyped-def]
    rows = synthetic_rows(300, seed=11, rules=rules)
    path = tmp_path / f"ledger{suffix}"
    writer(rows, path)
    records, problems = read_ledger(path, rules)
    assert problems == []
    assert [r.row for r in records] == list(range(2, 302))
    assert [r.fields() for r in records] == [expected_from(row, rules) for row in rows]
    assert all(r.file == str(path) and r.check_override is None for r in records)


def test_csv_and_xlsx_give_the_same_records(tmp_path: Path, rules: Rules) -> None:
    rows = synthetic_rows(50, seed=3, rules=rules)
    write_csv(rows, tmp_path / "a.csv")
    write_xlsx(rows, tmp_path / "a.xlsx")
    from_csv, _ = read_ledger(tmp_path / "a.csv", rules)
    from_xlsx, _ = read_ledger(tmp_path / "a.xlsx", rules)
    assert [(r.row, r.fields()) for r in from_csv] == [(r.row, r.fields()) for r in from_xlsx]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_encodings(tmp_path: Path, rules: Rules, encoding: str) -> None:
    path = write_rows(tmp_path / "l.csv", [good(), good(序号="2", 统一社会信用代码=CODE_B, 区="滨海新区")],
                      encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    records, problems = read_ledger(path, rules)
    assert problems == []
    assert [(r.row, r.name, r.district) for r in records] == [
        (2, "天津市宏达机械制造有限公司", "120114"), (3, "天津市宏达机械制造有限公司", "120116")]


def test_utf16_refused(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "l.csv"
    path.write_text("序号,区\n", encoding="utf-16")
    with pytest.raises(InvalidInput, match="UTF-16"):
        read_ledger(path, rules)


def test_english_headers(tmp_path: Path, rules: Rules) -> None:
    header = ["no", "district", "name", "credit_code", "sector", "level", "certificate_no", "graded_on",
              "valid_until", "address", "contact", "phone", "remarks"]
    row = ["1", "120114", "天津市宏达机械制造有限公司", CODE_A, "machinery", "3", "C-1", "2021-06-15",
           "2024-06-14", "", "", "", "note"]
    records, problems = read_ledger(write_table(tmp_path / "en.csv", header, [row]), rules)
    assert problems == []
    assert (records[0].district, records[0].sector, records[0].level, records[0].remarks) == (
        "120114", "machinery", "三级", "note")


def test_header_spellings_and_aliases(tmp_path: Path, rules: Rules) -> None:
    header = [" 序 号", "所属区*", "企业名称＊", "统一社会\u3000信用代码", "行业", "等级", "证书编号",
              "定级日期", "有效期", "企业地址", "联系人", "联系电话", "备注", "Credit_Code"]
    # Credit_Code repeats 统一社会信用代码: refused as a repeated column, so drop it for the good case
    records, problems = read_ledger(write_table(tmp_path / "h.csv", header[:-1], [
        ["1", "武清", "甲公司", CODE_A, "机械行业", "三级", "X1", "2021-06-15", "2024-06-14", "某路1号", "", "", ""],
    ]), rules)
    assert problems == []
    assert records[0].address == "某路1号"
    assert records[0].district == "120114"
    spaced = header[3]
    repeated = f"repeated column(s): {spaced!r} and 'Credit_Code' both mean 统一社会信用代码"
    with pytest.raises(InvalidInput, match=re.escape(repeated)):
        read_ledger(write_table(tmp_path / "h2.csv", header, []), rules)


def test_only_required_columns(tmp_path: Path, rules: Rules) -> None:
    header = ["区", "企业名称", "统一社会信用代码", "行业类别", "标准化等级", "证书编号", "定级日期", "有效期至"]
    path = write_table(tmp_path / "r.csv", header,
                       [["河西区", "乙公司", CODE_A, "商贸", "二级", "Z", "2022/1/5", "2025/1/4"]])
    records, problems = read_ledger(path, rules)
    assert problems == []
    assert (records[0].address, records[0].contact, records[0].phone, records[0].remarks) == ("", "", "", "")


def test_title_row_above_header_keeps_spreadsheet_row_numbers(tmp_path: Path, rules: Rules) -> None:
    rows = [["2023年武清区工贸行业安全生产标准化定级企业台账"], [], list(good()),
            list(good().values()), list(good(序号="2", 统一社会信用代码=CODE_B, 标准化等级="五级").values())]
    for path in (write_sheet(tmp_path / "t.xlsx", rows),
                 write_table(tmp_path / "t.csv", rows[0], rows[1:])):
        records, problems = read_ledger(path, rules)
        assert [r.row for r in records] == [4]
        assert where(problems) == [(5, "标准化等级")]


# --- bad rows ------------------------------------------------------------------------------------

BAD_KINDS = [  # in bad_rows() order: the column each row is wrong in, and words the reason must hold
    ("统一社会信用代码", "check character is"),
    ("区", "not a Tianjin district"),
    ("行业类别", "required; the cell is empty"),
    ("标准化等级", "not a grade level"),
    ("有效期至", "must be after 定级日期"),
    ("定级日期", "no such day"),
]


@pytest.mark.parametrize(("suffix", "writer"), [(".csv", write_csv), (".xlsx", write_xlsx)])
def test_each_bad_row_gives_its_problem(tmp_path: Path, rules: Rules, suffix: str, writer) -> None:  # type: ignore[no-untyped-def]
    good_rows = synthetic_rows(5, seed=1, rules=rules)
    bad = [row for row, _ in bad_rows(rules)]
    rows = good_rows[:2] + bad + good_rows[2:]
    path = tmp_path / f"bad{suffix}"
    writer(rows, path)
    records, problems = read_ledger(path, rules)
    assert [r.row for r in records] == [2, 3, 10, 11, 12]
    assert where(problems) == [(4 + i, column) for i, (column, _) in enumerate(BAD_KINDS)]
    for problem, (column, words), row in zip(problems, BAD_KINDS, bad, strict=True):
        assert words in problem.reason, problem
        assert problem.value == row[column]
        assert problem.file == str(path)


def test_bad_check_character_reason_names_both(tmp_path: Path, rules: Rules) -> None:
    wrong = CODE_A[:-1] + ("0" if CODE_A[-1] != "0" else "1")
    _, problems = read_ledger(write_rows(tmp_path / "c.csv", [good(统一社会信用代码=wrong)]), rules)
    assert where(problems) == [(2, "统一社会信用代码")]
    assert problems[0].reason.startswith(f"check character is {wrong[-1]!r}, expected {CODE_A[-1]!r}")
    assert "authorised user" in problems[0].reason


@pytest.mark.parametrize(("code", "words"), [
    (CODE_A[:-1], "has 17 character(s), 18 needed"),
    (CODE_A[:8] + "O" + CODE_A[9:], "'O' not allowed"),
    ("", "required; the cell is empty"),
])
def test_other_bad_codes(tmp_path: Path, rules: Rules, code: str, words: str) -> None:
    _, problems = read_ledger(write_rows(tmp_path / "c.csv", [good(统一社会信用代码=code)]), rules)
    assert where(problems) == [(2, "统一社会信用代码")]
    assert words in problems[0].reason


def test_credit_code_is_normalized(tmp_path: Path, rules: Rules) -> None:
    typed = " " + CODE_A[:9].lower() + "\u3000" + CODE_A[9:].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    records, problems = read_ledger(write_rows(tmp_path / "n.csv", [good(统一社会信用代码=typed)]), rules)
    assert problems == []
    assert records[0].credit_code == CODE_A


def test_several_bad_cells_in_one_row_each_reported_in_column_order(tmp_path: Path, rules: Rules) -> None:
    row = good(区="塘沽", 企业名称="", 统一社会信用代码="123", 行业类别="", 标准化等级="A级", 证书编号=" ",
               定级日期="2021-02-30", 有效期至="明年")
    _, problems = read_ledger(write_rows(tmp_path / "m.csv", [good(), row]), rules)
    assert where(problems) == [(3, "区"), (3, "企业名称"), (3, "统一社会信用代码"), (3, "行业类别"),
                               (3, "标准化等级"), (3, "证书编号"), (3, "定级日期"), (3, "有效期至")]
    assert problems[5].value == " "


def test_valid_until_equal_to_graded_on_is_refused(tmp_path: Path, rules: Rules) -> None:
    _, problems = read_ledger(write_rows(tmp_path / "v.csv", [good(有效期至="2021-06-15")]), rules)
    assert where(problems) == [(2, "有效期至")]
    assert problems[0].reason == "must be after 定级日期 2021-06-15; it is 2021-06-15"


def test_problem_as_text(tmp_path: Path, rules: Rules) -> None:
    path = write_rows(tmp_path / "p.csv", [good(标准化等级="四级")])
    _, problems = read_ledger(path, rules)
    assert str(problems[0]).startswith(f"{path}:2, column 标准化等级, value '四级': not a grade level")
    p = RowProblem("x.csv", 7, "区", "塘沽", "why")
    assert str(p) == "x.csv:7, column 区, value '塘沽': why"


def test_duplicate_names_the_first_row(tmp_path: Path, rules: Rules) -> None:
    rows = [good(), good(序号="2", 统一社会信用代码=CODE_B), good(序号="3", 企业名称="天津市另一家有限公司"),
            good(序号="4", 统一社会信用代码=CODE_B.lower())]
    records, problems = read_ledger(write_rows(tmp_path / "d.csv", rows), rules)
    assert [r.row for r in records] == [2, 3]
    assert where(problems) == [(4, "统一社会信用代码"), (5, "统一社会信用代码")]
    assert problems[0].reason.startswith("duplicate of row 2")
    assert problems[1].reason.startswith("duplicate of row 3")


def test_duplicate_of_a_row_with_other_problems_still_names_it(tmp_path: Path, rules: Rules) -> None:
    rows = [good(标准化等级="?"), good(序号="2")]
    records, problems = read_ledger(write_rows(tmp_path / "d.csv", rows), rules)
    assert records == []
    assert where(problems) == [(2, "标准化等级"), (3, "统一社会信用代码")]
    assert problems[1].reason.startswith("duplicate of row 2")


def test_non_gongmao_sector_is_kept_and_flagged(tmp_path: Path, rules: Rules) -> None:
    rows = [good(行业类别="化工"), good(序号="2", 统一社会信用代码=CODE_B, 行业类别="商贸（仓储）"),
            good(序号="3", 统一社会信用代码=CODE_C, 行业类别="商贸(仓储)")]
    records, problems = read_ledger(write_rows(tmp_path / "s.csv", rows), rules)
    assert problems == []
    assert [(r.row, r.sector, r.in_gongmao) for r in records] == [
        (2, "化工", False), (3, "commerce", True), (4, "commerce", True)]


@pytest.mark.parametrize(("text", "level"), [
    ("一级", "一级"), ("二级", "二级"), ("三级", "三级"), ("1", "一级"), ("2", "二级"), ("3", "三级"),
    ("一", "一级"), ("三", "三级"), ("三级标准化", "三级"), ("二级企业", "二级"), ("一级标准化企业", "一级"),
    ("3级", "三级"), ("３", "三级"), (" 三 级 ", "三级"),
])
def test_level_spellings(tmp_path: Path, rules: Rules, text: str, level: str) -> None:
    records, problems = read_ledger(write_rows(tmp_path / "l.csv", [good(标准化等级=text)]), rules)
    assert problems == []
    assert records[0].level == level


@pytest.mark.parametrize("text", ["四级", "0", "4", "三等", "A", "三级三级"])
def test_bad_levels(tmp_path: Path, rules: Rules, text: str) -> None:
    _, problems = read_ledger(write_rows(tmp_path / "l.csv", [good(标准化等级=text)]), rules)
    assert where(problems) == [(2, "标准化等级")]


@pytest.mark.parametrize("text", ["2021-06-15", "2021/6/15", "2021.6.15", "2021年6月15日", "2021-06-15 00:00:00",
                                  "２０２１年６月１５日", "2021 年 6 月 15 日"])
def test_date_spellings(tmp_path: Path, rules: Rules, text: str) -> None:
    records, problems = read_ledger(write_rows(tmp_path / "d.csv", [good(定级日期=text)]), rules)
    assert problems == []
    assert records[0].graded_on == date(2021, 6, 15)


@pytest.mark.parametrize(("text", "words"), [
    ("2021-13-01", "no such day"), ("2021/6-15", "not a date"), ("15/06/2021", "not a date"),
    ("44362", "not a date"), ("六月", "not a date"), ("2021年6月", "not a date"),
])
def test_bad_dates_in_csv(tmp_path: Path, rules: Rules, text: str, words: str) -> None:
    _, problems = read_ledger(write_rows(tmp_path / "d.csv", [good(定级日期=text)]), rules)
    assert where(problems) == [(2, "定级日期")]
    assert words in problems[0].reason


def test_unknown_district_lists_the_districts(tmp_path: Path, rules: Rules) -> None:
    _, problems = read_ledger(write_rows(tmp_path / "u.csv", [good(区="北京市朝阳区")]), rules)
    assert where(problems) == [(2, "区")]
    assert "武清区 (120114)" in problems[0].reason
    assert "蓟州区 (120119)" in problems[0].reason


def test_district_by_code_name_or_alias(tmp_path: Path, rules: Rules) -> None:
    rows = [good(区="120116"), good(序号="2", 统一社会信用代码=CODE_B, 区="滨海"),
            good(序号="3", 统一社会信用代码=CODE_C, 区=" 滨海新区 ")]
    records, problems = read_ledger(write_rows(tmp_path / "d.csv", rows), rules)
    assert problems == []
    assert [r.district for r in records] == ["120116"] * 3


# --- check-character override ----------------------------------------------------------------------

WRONG_CHECK = CODE_A[:-1] + creditcode.ALPHABET[(creditcode.ALPHABET.index(CODE_A[-1]) + 1) % 31]


def test_check_override_accepted_with_reason(tmp_path: Path, rules: Rules) -> None:
    path = write_rows(tmp_path / "o.csv", [good(统一社会信用代码=WRONG_CHECK.lower())])
    reason = "营业执照原件核对无误（2023-12-01 区局张三）"
    records, problems = read_ledger(path, rules, check_overrides={WRONG_CHECK: reason})
    assert problems == []
    assert (records[0].credit_code, records[0].check_override) == (WRONG_CHECK, reason)


def test_override_keys_are_normalized(tmp_path: Path, rules: Rules) -> None:
    path = write_rows(tmp_path / "o.csv", [good(统一社会信用代码=WRONG_CHECK)])
    records, _ = read_ledger(path, rules, check_overrides={" " + WRONG_CHECK.lower(): "核对无误"})
    assert records[0].check_override == "核对无误"


def test_override_does_not_excuse_other_defects(tmp_path: Path, rules: Rules) -> None:
    short = WRONG_CHECK[:-2] + WRONG_CHECK[-1]
    with_o = "O" + WRONG_CHECK[1:]
    path = write_rows(tmp_path / "o.csv", [good(统一社会信用代码=short), good(序号="2", 统一社会信用代码=with_o)])
    records, problems = read_ledger(path, rules, check_overrides={short: "r", with_o: "r"})
    assert records == []
    assert where(problems) == [(2, "统一社会信用代码"), (3, "统一社会信用代码")]


def test_override_not_used_for_a_valid_code(tmp_path: Path, rules: Rules) -> None:
    records, _ = read_ledger(write_rows(tmp_path / "o.csv", [good()]), rules, check_overrides={CODE_A: "r"})
    assert records[0].check_override is None


def test_override_without_reason_refused(tmp_path: Path, rules: Rules) -> None:
    with pytest.raises(InvalidInput, match="no reason"):
        read_ledger(write_rows(tmp_path / "o.csv", [good()]), rules, check_overrides={WRONG_CHECK: "  "})


def test_no_override_for_other_codes(tmp_path: Path, rules: Rules) -> None:
    path = write_rows(tmp_path / "o.csv", [good(统一社会信用代码=WRONG_CHECK)])
    records, problems = read_ledger(path, rules, check_overrides={CODE_B: "r"})
    assert records == []
    assert where(problems) == [(2, "统一社会信用代码")]


# --- file-level problems ----------------------------------------------------------------------------


def test_missing_required_columns_named(tmp_path: Path, rules: Rules) -> None:
    header = [h for h in HEADERS if h not in ("企业名称", "有效期至")]
    with pytest.raises(InvalidInput) as caught:
        read_ledger(write_table(tmp_path / "m.csv", header, []), rules)
    message = str(caught.value)
    assert "header row 1" in message
    assert "missing required column(s) 企业名称 (name), 有效期至/有效期 (valid_until)" in message
    assert "Allowed headers: 序号 (no, optional), 区/所属区/区县 (district)" in message


def test_unknown_column_named(tmp_path: Path, rules: Rules) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_ledger(write_table(tmp_path / "u.csv", [*HEADERS, "经营状态"], []), rules)
    message = str(caught.value)
    assert "unknown column header(s) '经营状态'" in message
    assert "missing" not in message
    assert "备注 (remarks, optional)" in message


def test_misspelt_header_is_both_unknown_and_missing(tmp_path: Path, rules: Rules) -> None:
    header = ["统一信用代码" if h == "统一社会信用代码" else h for h in HEADERS]
    with pytest.raises(InvalidInput, match=r"missing required column\(s\) 统一社会信用代码 \(credit_code\); "
                                           r"unknown column header\(s\) '统一信用代码'"):
        read_ledger(write_table(tmp_path / "u.csv", header, []), rules)


@pytest.mark.parametrize("name", ["ledger.xls", "ledger.txt", "ledger", "ledger.et"])
def test_unknown_extension(tmp_path: Path, rules: Rules, name: str) -> None:
    path = tmp_path / name
    path.write_text("序号\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"unknown file type .*\.csv or \.xlsx"):
        read_ledger(path, rules)


def test_upper_case_extension_accepted(tmp_path: Path, rules: Rules) -> None:
    records, _ = read_ledger(write_rows(tmp_path / "LEDGER.CSV", [good()]), rules)
    assert len(records) == 1


@pytest.mark.parametrize("name", ["missing.csv", "missing.xlsx"])
def test_missing_file(tmp_path: Path, rules: Rules, name: str) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        read_ledger(tmp_path / name, rules)


def test_empty_file_has_no_header(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n,,\r\n")
    with pytest.raises(InvalidInput, match="no header row"):
        read_ledger(path, rules)
    with pytest.raises(InvalidInput, match="no header row"):
        read_ledger(write_sheet(tmp_path / "e.xlsx", []), rules)


def test_not_a_workbook(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("序号,区\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not a readable .xlsx workbook"):
        read_ledger(path, rules)


def test_header_only_gives_nothing(tmp_path: Path, rules: Rules) -> None:
    assert read_ledger(write_table(tmp_path / "h.csv", HEADERS, []), rules) == ([], [])


# --- skipping, row numbers, progress ----------------------------------------------------------------


def test_empty_rows_skipped_and_line_numbers_kept(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "e.csv"
    lines = [",".join(HEADERS), ",".join(good().values()), "", ",,,,,,,,,,,", "99,,,,,,,,,,,",
             ",".join(good(序号="2", 统一社会信用代码=CODE_B, 标准化等级="X").values())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, problems = read_ledger(path, rules)
    assert [r.row for r in records] == [2]
    assert where(problems) == [(6, "标准化等级")]


def test_row_with_only_optional_cells_is_skipped(tmp_path: Path, rules: Rules) -> None:
    blank = dict.fromkeys(HEADERS, "")
    rows = [good(), {**blank, "序号": "合计", "备注": "共1家"}]
    records, problems = read_ledger(write_rows(tmp_path / "s.csv", [{**r, "备注": r.get("备注", "")} for r in rows]),
                                    rules)
    assert len(records) == 1
    assert problems == []


def test_csv_row_is_the_line_where_the_record_starts(tmp_path: Path, rules: Rules) -> None:
    rows = [good(地址="天津市武清区\n泉兴路18号"), good(序号="2", 统一社会信用代码=CODE_B, 区="?")]
    records, problems = read_ledger(write_rows(tmp_path / "q.csv", rows), rules)
    assert records[0].address == "天津市武清区\n泉兴路18号"
    assert where(problems) == [(4, "区")]


def test_xlsx_rows_are_spreadsheet_rows(tmp_path: Path, rules: Rules) -> None:
    rows: list[list[object]] = [list(HEADERS), list(good().values()), [], [],
                                list(good(序号="2", 统一社会信用代码=CODE_B, 区="?").values())]
    _, problems = read_ledger(write_sheet(tmp_path / "x.xlsx", rows), rules)
    assert where(problems) == [(5, "区")]


@pytest.mark.parametrize(("n", "calls"), [(0, [0]), (999, [999]), (2000, [1000, 2000]), (2500, [1000, 2000, 2500])])
def test_progress(tmp_path: Path, rules: Rules, n: int, calls: list[int]) -> None:
    path = tmp_path / "p.csv"
    write_csv(synthetic_rows(n, seed=5, rules=rules), path)
    seen: list[int] = []
    records, problems = read_ledger(path, rules, progress=seen.append)
    assert seen == calls
    assert len(records) == n
    assert problems == []


# --- spreadsheet cells ----------------------------------------------------------------------------


def test_excel_date_cells_and_serials(tmp_path: Path, rules: Rules) -> None:
    base = good()
    cells: list[tuple[object, object]] = [
        (date(2021, 6, 15), date(2024, 6, 14)),
        (datetime(2021, 6, 15, 0, 0), datetime(2024, 6, 14, 17, 30)),  # noqa: DTZ001 - Excel has no zones
        (44362, 45457),             # Excel serials of 2021-06-15 and 2024-06-14
        (44362.0, 45457.75),
        ("2021/6/15", "2024年6月14日"),
    ]
    rows: list[list[object]] = [list(HEADERS)]
    codes = [creditcode.make(f"9112011400000000{i}") for i in range(len(cells))]
    for i, (graded, valid) in enumerate(cells):
        rows.append([*{**base, "统一社会信用代码": codes[i]}.values()])
        rows[-1][HEADERS.index("定级日期")] = graded
        rows[-1][HEADERS.index("有效期至")] = valid
    records, problems = read_ledger(write_sheet(tmp_path / "dates.xlsx", rows), rules)
    assert problems == []
    assert [(r.graded_on, r.valid_until) for r in records] == [(date(2021, 6, 15), date(2024, 6, 14))] * 5


@pytest.mark.parametrize(("value", "words"), [(0, "not an Excel date serial"), (-5, "not an Excel date serial"),
                                          (3_000_000, "not an Excel date serial"), ("45457", "not a date")])
def test_bad_excel_dates(tmp_path: Path, rules: Rules, value: object, words: str) -> None:
    row: list[object] = list(good().values())
    row[HEADERS.index("有效期至")] = value
    _, problems = read_ledger(write_sheet(tmp_path / "d.xlsx", [list(HEADERS), row]), rules)
    assert where(problems) == [(2, "有效期至")]
    assert words in problems[0].reason
    assert "Excel date cell" in problems[0].reason


def test_numbers_in_text_columns(tmp_path: Path, rules: Rules) -> None:
    row: list[object] = list(good().values())
    row[HEADERS.index("序号")] = 1
    row[HEADERS.index("联系电话")] = 13812345678
    row[HEADERS.index("标准化等级")] = 3
    row[HEADERS.index("证书编号")] = 2021001.0
    records, problems = read_ledger(write_sheet(tmp_path / "n.xlsx", [list(HEADERS), row]), rules)
    assert problems == []
    assert (records[0].phone, records[0].level, records[0].certificate_no) == ("13812345678", "三级", "2021001")


def test_credit_code_stored_as_a_number(tmp_path: Path, rules: Rules) -> None:
    """Refused even when valid: a spreadsheet keeps 15 digits, so the stored number is not the code
    (openpyxl itself writes 9.11201141234567e+17), and 1 damaged code in 31 would pass the check."""
    valid_digits = next(c for c in (creditcode.make(f"911201141234567{i:02d}") for i in range(100))
                        if c.isdigit())
    rows: list[list[object]] = [list(HEADERS)]
    for value in (int(valid_digits), 91120114):
        row: list[object] = list(good().values())
        row[HEADERS.index("统一社会信用代码")] = value
        rows.append(row)
    _, problems = read_ledger(write_sheet(tmp_path / "n.xlsx", rows), rules)
    assert where(problems) == [(2, "统一社会信用代码"), (3, "统一社会信用代码")]
    assert all("the cell is a number, not text" in p.reason for p in problems)


def test_only_first_worksheet_read_other_ledger_sheets_flagged(tmp_path: Path, rules: Rules) -> None:
    first = [list(HEADERS), list(good().values())]
    other = [["二级企业"], list(HEADERS), list(good(统一社会信用代码=CODE_B).values())]
    notes = [["填表说明"], ["日期写成 YYYY-MM-DD"]]
    path = write_sheet(tmp_path / "w.xlsx", first, more={"说明": notes, "二级": other})
    records, problems = read_ledger(path, rules)
    assert [r.credit_code for r in records] == [CODE_A]
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "工作表", "二级")]
    assert "only the first worksheet is read" in problems[0].reason


def test_first_worksheet_without_ledger_names_the_sheet_that_has_one(tmp_path: Path, rules: Rules) -> None:
    path = write_sheet(tmp_path / "w.xlsx", [["填表说明"]], title="说明", more={"台账": [list(HEADERS)]})
    with pytest.raises(InvalidInput) as caught:
        read_ledger(path, rules)
    message = str(caught.value)
    assert "(sheet '说明')" in message
    assert "'台账' have a ledger header" in message

