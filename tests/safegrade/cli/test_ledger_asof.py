"""`ledger export --as-of 2023-12-15` writes the 台账 of that date: the enterprises in the states they stood in
then and with a valid grade then, whatever happened to them after."""

from __future__ import annotations

import openpyxl

from safegrade.services.lifecycle import fire_event
from tests.conftest import at
from tests.safegrade.services.ledger_states import STATES, build_states, code_of


def listed(path):
    sheet = openpyxl.load_workbook(path)["汇总"]
    column = [c.value for c in sheet[1]].index("统一社会信用代码")
    return {r[column] for r in sheet.iter_rows(min_row=2, values_only=True)}


def test_ledger_export_as_of_a_past_date_lists_the_valid_grades_of_that_date(cli, make_ctx, clock, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"  # the database the `cli` fixture points the command at
    build_states(make_ctx, clock, tmp_path, url)
    clock.set(at("2024-01-10 09:00"))  # afterwards: the one in publicity is revoked, a graded one excluded
    wq = make_ctx("wq", url=url)
    fire_event(wq, code_of("revocation_pending_in_publicity"), "revoke", reason="公示期满")
    fire_event(wq, code_of("graded"), "exclude", reason="注销")
    code, out, err = cli("--as-of", "2023-12-15", "ledger", "export", str(tmp_path / "1215.xlsx"))
    assert code == 0, err
    assert "(as of 2023-12-15)" in out
    valid_then = {code_of(name) for name, (_, _, valid) in STATES.items() if valid}
    assert listed(tmp_path / "1215.xlsx") == valid_then
    code, out, err = cli("--as-of", "2024-01-10 10:00", "ledger", "export", str(tmp_path / "0110.xlsx"))
    assert code == 0, err
    assert listed(tmp_path / "0110.xlsx") == valid_then - {code_of("revocation_pending_in_publicity"),
                                                           code_of("graded")}
