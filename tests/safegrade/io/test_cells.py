"""The one header finder and header reader (safegrade.io.cells) that ledgers and assessment sheets use."""

from __future__ import annotations

from safegrade.io.cells import HEADER_SCAN_ROWS, find_header, map_header, recognised

KNOWN = {"企业名称": "name", "name": "name", "统一社会信用代码": "credit_code", "区": "district"}


def test_the_header_is_the_first_row_with_two_known_headers_and_rows_follow_it() -> None:
    rows = iter(enumerate([[None, ""], ["2023年武清区定级企业台账"], ["区", "企业名称", "备注"], ["武清区", "甲"]],
                          start=1))
    assert find_header(rows, KNOWN) == (3, ["区", "企业名称", "备注"])
    assert next(rows) == (4, ["武清区", "甲"])  # consumed up to the header, not beyond


def test_without_a_known_header_the_first_non_empty_row_is_the_header() -> None:
    rows = [[None]] + [[f"title {n}"] for n in range(HEADER_SCAN_ROWS + 2)] + [["区", "企业名称"]]
    assert find_header(iter(enumerate(rows, start=1)), KNOWN) == (2, ["title 0"])  # the scan stops in time
    assert find_header(iter(enumerate([[None], [""]], start=1)), KNOWN) is None
    assert recognised(["区", " 企业 名称 ", "x"], KNOWN) == 2  # headers compare by header_key


def test_map_header_reports_unknown_and_repeated_columns_and_skips_empty_cells() -> None:
    found, unknown, repeated = map_header(["区", None, "企业名称", "电话", "name"], KNOWN)
    assert found == {"district": (0, "区"), "name": (2, "企业名称")}
    assert unknown == ["电话"]
    assert repeated == [("企业名称", "name", "name")]
