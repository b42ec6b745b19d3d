"""The per-district worksheets of a 汇总 workbook: each row must repeat a row of 汇总."""

from __future__ import annotations

from collections.abc import Mapping

from safegrade.errors import InvalidInput
from safegrade.io.cells import RowProblem, cell_text, find_header
from safegrade.io.ledger.columns import _BY_FIELD, _HEADER_FIELDS, ENTERPRISE_FIELDS, LedgerRecord, _map_header
from safegrade.io.ledger.files import _Source, _View
from safegrade.io.ledger.rows import _RowChecker
from safegrade.rules import Rules

_VIEW_COMPARED = tuple(f for f in ENTERPRISE_FIELDS if f not in ("credit_code", "in_gongmao"))  # sector covers it


def _check_view(source: _Source, view: _View, summary: Mapping[str, LedgerRecord], summary_seen: Mapping[str, int],
                rules: Rules, overrides: Mapping[str, str]) -> list[RowProblem]:
    """A problem for every row of a per-district worksheet that is bad or does not repeat a row of 汇总.

    A row whose credit code is on a 汇总 row that was itself refused is not compared: that row's
    problems are already listed, and comparing with nothing would only repeat them.
    """
    label = f"{source.file} (sheet {view.title!r})"
    rows = view.rows()
    found = find_header(rows, _HEADER_FIELDS)
    if found is None:  # the sheet had a header when the workbook was opened; it cannot vanish
        return []
    try:
        columns = _map_header(label, *found)
    except InvalidInput as exc:
        return [RowProblem(label, found[0], "工作表", view.title, f"{exc}; this per-district worksheet "
                                                                   f"cannot be compared with 汇总")]
    headers = {f: header for f, (_, header) in columns.items()}
    sheet_district = rules.district(view.title)
    checker = _RowChecker(label, rules, columns, overrides, source.epoch)
    problems: list[RowProblem] = []
    for number, cells in rows:
        record, bad = checker.check(number, cells)
        problems.extend(bad)
        if record is None:
            continue
        if sheet_district is not None and record.district != sheet_district.code:
            problems.append(RowProblem(label, number, headers["district"], rules.district_name(record.district),
                                       f"a row of {rules.district_name(record.district)} on the worksheet of "
                                       f"{sheet_district.name}; move it to its district's worksheet"))
        original = summary.get(record.credit_code)
        if original is None:
            if record.credit_code not in summary_seen:
                problems.append(RowProblem(label, number, headers["credit_code"], record.credit_code,
                                           "not in 汇总: no row of the 汇总 worksheet has this 统一社会信用代码; "
                                           "a per-district worksheet may only repeat rows of 汇总"))
            continue
        for field in _VIEW_COMPARED:
            mine, theirs = getattr(record, field), getattr(original, field)
            if mine != theirs:
                column = headers.get(field, _BY_FIELD[field].headers[0])
                problems.append(RowProblem(label, number, column, _display(rules, field, mine),
                                           f"differs from 汇总 row {original.row} in column {column}: "
                                           f"汇总 has {_display(rules, field, theirs)!r}"))
    return problems


def _display(rules: Rules, field: str, value: object) -> str:
    """A record's value as the ledger shows it: district and sector by name, dates as YYYY-MM-DD."""
    if field == "district":
        return rules.district_name(str(value))
    if field == "sector":
        sector = rules.sectors.get(str(value))
        return sector.label if sector else str(value)
    return cell_text(value)
