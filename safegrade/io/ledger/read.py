"""Reading a ledger: its header, its rows, and the per-district worksheets of a 汇总 workbook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from safegrade.domain import creditcode
from safegrade.errors import InvalidInput
from safegrade.io.cells import RowProblem, find_header
from safegrade.io.ledger.columns import _HEADER_FIELDS, PROGRESS_EVERY, LedgerRecord, _map_header, allowed_headers
from safegrade.io.ledger.files import _opener, _Source
from safegrade.io.ledger.rows import _RowChecker
from safegrade.io.ledger.views import _check_view
from safegrade.rules import Rules


def _normal_overrides(check_overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Override reasons keyed by the normalized code; an override without a reason is refused."""
    out: dict[str, str] = {}
    for code, reason in (check_overrides or {}).items():
        if not str(reason or "").strip():
            raise InvalidInput(f"check override for {code!r} has no reason; an override must record why "
                               f"the code is accepted despite its check character", code="required",
                               field="check_overrides", value=code, allowed="CODE=REASON")
        out[creditcode.normalize(code)] = str(reason).strip()
    return out


def _header(source: _Source) -> tuple[dict[str, tuple[int, str]], list[RowProblem]]:
    """The columns of the source's header row and a problem for each other worksheet that has one."""
    others = source.other_ledger_sheets
    hint = (f" The worksheet(s) {', '.join(repr(t) for t, _ in others)} have a ledger header: "
            f"make one of them the first worksheet.") if others else ""
    found = find_header(source.rows, _HEADER_FIELDS)
    if found is None:
        raise InvalidInput(f"{source.where}: no header row; the file has no data. "
                           f"Allowed headers: {allowed_headers()}.{hint}", code="no_header", field="paths",
                           value=source.where, allowed=allowed_headers())
    try:
        columns = _map_header(source.where, *found)
    except InvalidInput as exc:
        raise InvalidInput(f"{exc.message}{hint}", code=exc.code, field=exc.field, value=exc.value,
                           allowed=exc.allowed) from None
    problems = [
        RowProblem(source.file, row, "工作表", title,
                   f"this worksheet also has a ledger header (row {row}), but only the first worksheet "
                   f"is read; move its rows to the first worksheet or send it as a separate file")
        for title, row in others
    ]
    return columns, problems


def read_ledger(path: Path, rules: Rules, *, check_overrides: Mapping[str, str] | None = None,
                progress: Callable[[int], None] | None = None) -> tuple[list[LedgerRecord], list[RowProblem]]:
    """Read and check a district's ledger: the valid records and a problem for every bad cell.

    check_overrides maps a credit code to the recorded reason for accepting it although its check
    character is wrong; nothing else about a code can be overridden. progress(n) is called with the
    number of data rows read so far (rows after the header, blank ones included) every 1,000 rows, and
    at the end with the total unless that number was just reported.
    """
    file = str(path)
    path = Path(path)
    overrides = _normal_overrides(check_overrides)
    opener = _opener(path)
    records: list[LedgerRecord] = []
    with opener(path, file) as source:
        columns, problems = _header(source)
        checker = _RowChecker(file, rules, columns, overrides, source.epoch)
        count = 0
        for number, cells in source.rows:
            record, bad = checker.check(number, cells)
            if record is not None:
                records.append(record)
            elif bad:
                problems.extend(bad)
            count += 1
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)
        if progress and (count % PROGRESS_EVERY or count == 0):
            progress(count)
        summary = {r.credit_code: r for r in records} if source.views else {}
        for view in source.views:
            problems.extend(_check_view(source, view, summary, checker.seen, rules, overrides))
    return records, problems


