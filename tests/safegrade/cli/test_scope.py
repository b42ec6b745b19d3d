"""Issue 11: the command line's reads follow the one policy of services/scope.py. `--actor NAME` reads what that
actor may read; the operator's console (no --actor) reads everything; an object out of scope is not found (exit 1,
the message of a missing one); a read the role may not take is refused (exit 1)."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from tests.factories import credit_code


@pytest.fixture
def town(ready):
    """`ready` (boss, wq of 武清区, an enterprise in 武清区 and one in 河西区) with an account of each enterprise,
    the officer of 河西区 and a reviewer."""
    cli, wuqing, hexi = ready
    for args in (("e1", "--role", "enterprise", "--enterprise", wuqing),
                 ("e2", "--role", "enterprise", "--enterprise", hexi),
                 ("hx", "--role", "district", "--district", "河西区"), ("rev", "--role", "reviewer")):
        code, _, err = cli("--actor", "boss", "--as-of", "2023-05-21", "actor", "add", *args)
        assert code == 0, err
    return cli, wuqing, hexi


def exported_codes(path) -> set[str]:
    """The credit codes on the 汇总 sheet of an exported 台账."""
    sheet = load_workbook(path, read_only=True).worksheets[0]
    return {c for r in sheet.iter_rows(values_only=True) for c in r if isinstance(c, str) and len(c) == 18
            and c in (credit_code(1), credit_code(2, "河西区"))}


def test_an_enterprise_account_may_not_export_the_ledger(town, tmp_path):
    cli, wuqing, hexi = town
    code, out, err = cli("--actor", "e1", "ledger", "export", str(tmp_path / "e1.xlsx"))
    assert code == 1
    assert out == ""
    assert "role 'enterprise' may not export ledger" in err
    assert not (tmp_path / "e1.xlsx").exists()


def test_a_district_officer_exports_its_districts_rows_and_the_console_every_row(town, tmp_path):
    cli, wuqing, hexi = town
    assert cli("--actor", "wq", "ledger", "export", "--all", str(tmp_path / "wq.xlsx"))[0] == 0
    assert exported_codes(tmp_path / "wq.xlsx") == {wuqing}
    assert cli("ledger", "export", "--all", str(tmp_path / "all.xlsx"))[0] == 0
    assert exported_codes(tmp_path / "all.xlsx") == {wuqing, hexi}


def test_enterprise_show_of_another_enterprise_is_not_found(town):
    cli, wuqing, hexi = town
    code, out, err = cli("--actor", "e1", "enterprise", "show", hexi)
    assert (code, out) == (1, "")
    missing = "91120114MA00009999"
    _, _, err_missing = cli("--actor", "e1", "enterprise", "show", missing)
    assert err.replace(hexi, "X") == err_missing.replace(missing, "X")
    assert f"no enterprise with credit code {hexi}" in err
    code, out, _ = cli("--actor", "e1", "enterprise", "show", wuqing)
    assert code == 0
    assert wuqing in out


def test_enterprise_list_and_audit_show_follow_the_scope(town):
    cli, wuqing, hexi = town
    listed = {r: {e["credit_code"] for e in json.loads(cli("--json", *a, "enterprise", "list")[1])}
              for r, a in (("e1", ("--actor", "e1")), ("hx", ("--actor", "hx")), ("rev", ("--actor", "rev")),
                           ("console", ()))}
    assert listed == {"e1": {wuqing}, "hx": {hexi}, "rev": {wuqing, hexi}, "console": {wuqing, hexi}}
    code, out, err = cli("--actor", "e2", "audit", "show", wuqing)
    assert (code, out) == (1, "")
    assert f"no enterprise with credit code {wuqing}" in err
    assert cli("--actor", "e2", "audit", "show", hexi)[0] == 0


def test_the_whole_trail_is_not_an_enterprise_accounts_and_a_district_officer_exports_its_chains(town, tmp_path):
    cli, wuqing, hexi = town
    code, _, err = cli("--actor", "e1", "audit", "export", str(tmp_path / "e1.jsonl"))
    assert code == 1
    assert "role 'enterprise' may not read audit" in err
    assert cli("--actor", "e1", "actor", "list")[0] == 1
    assert cli("--actor", "wq", "audit", "export", str(tmp_path / "wq.jsonl"))[0] == 0
    lines = [json.loads(line) for line in (tmp_path / "wq.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {x["enterprise"] for x in lines if x["type"] == "event"} == {wuqing}
    assert lines[0]["scope"] == "district:120114"
    code, out, _ = cli("--json", "--actor", "wq", "audit", "verify")
    assert code == 0
    assert json.loads(out)["chains"] == 1
    actors = {a["name"] for a in json.loads(cli("--json", "--actor", "wq", "actor", "list")[1])}
    assert actors == {"wq", "e1"}
