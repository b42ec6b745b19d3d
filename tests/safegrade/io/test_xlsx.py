"""The one .xlsx writer (safegrade.io.xlsx), as the ledger export and the reviewer's reports use it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from safegrade.io.xlsx import Sheet, display_width, local_text, write_workbook

TZ = ZoneInfo("Asia/Shanghai")


def test_sheets_streamed_or_listed_are_written_alike(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    rows = [["甲", 1, date(2023, 6, 1)], ["乙", 2, date(2023, 6, 2)]]
    write_workbook(path, [
        Sheet("listed", ["名称", "n", "日期"], rows),
        Sheet("streamed", ["名称", "n", "日期"], (r for r in rows), [20, 8, 12], count=len(rows), wrap_header=False),
    ], "标题")
    wb = load_workbook(path)
    assert wb.sheetnames == ["listed", "streamed"]
    assert wb.properties.title == "标题"
    for ws in wb.worksheets:
        read = [[c.value.date() if isinstance(c.value, datetime) else c.value for c in row]
                for row in ws.iter_rows(min_row=2)]
        # dates stay date cells
        assert read == rows
        assert ws["C2"].is_date
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == "A1:C3"
        assert all(c.font.b for c in ws[1])
    listed, streamed = wb.worksheets
    assert listed["A1"].alignment.wrap_text
    assert not streamed["A1"].alignment.wrap_text
    assert streamed.column_dimensions["A"].width == 20
    assert listed.column_dimensions["A"].width == display_width("名称") + 4  # from the header, within limits
    assert not list(tmp_path.glob(".*.part"))  # written through a temporary file, replaced whole


def test_cells_are_written_as_a_user_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "cells.xlsx"
    at = datetime(2023, 6, 1, 9, 30, 5, tzinfo=TZ)
    write_workbook(path, [Sheet("s", ["a", "b", "c", "d", "e", "f", "g"],
                                [["=1+1", True, at, ["x", "y"], None, "", "bad\x01char"]])])
    ws = load_workbook(path).worksheets[0]
    a, b, c, d, e, f, g = ws[2]
    assert (a.value, a.data_type) == ("=1+1", "s")  # text, never a formula
    assert b.value == "是"
    assert c.value == "2023-06-01 09:30:05"
    assert d.value == "x\ny"
    assert e.value is None
    assert f.value is None
    assert g.value == "badchar"
    assert load_workbook(path).properties.title is None  # no title given, none written


def test_local_text_and_display_width() -> None:
    assert local_text(None) == ""
    assert local_text(date(2023, 6, 1)) == "2023-06-01"
    assert local_text(datetime(2023, 6, 1, 9, 30, 5, tzinfo=TZ)) == "2023-06-01 09:30"
    assert local_text(datetime(2023, 6, 1, 9, 30, 5, tzinfo=TZ), seconds=True) == "2023-06-01 09:30:05"
    assert display_width("ab") == 2
    assert display_width("台账") == 4
