"""Ledger export and reconciliation through the services: what a bureau does with the districts' 台账."""

from __future__ import annotations

import openpyxl
import pytest

from safegrade.errors import InvalidInput
from safegrade.services.enterprise import show_enterprise
from safegrade.services.ledger import export_ledger, import_ledger, reconcile_ledger
from safegrade.services.lifecycle import fire_event
from tests.factories import build_world, plain


@pytest.fixture
def world(make_ctx, tmp_path):
    return build_world(make_ctx, tmp_path, per_district=3)


def test_export_lists_valid_grades_only_and_imports_back_unchanged(make_ctx, world, tmp_path):
    boss = make_ctx("boss")
    fire_event(make_ctx("wq"), world.wuqing[0], "exclude", reason="注销")
    done = plain(export_ledger(boss, tmp_path / "台账.xlsx"))
    assert done["enterprises"] == 5
    assert done["sheets"] == {"汇总": 5, "河西区": 3, "武清区": 2}
    again = import_ledger(boss, [tmp_path / "台账.xlsx"])
    assert (again.created, again.unchanged, again.problems) == (0, 5, [])
    assert plain(export_ledger(boss, tmp_path / "all.xlsx", include_all=True))["enterprises"] == 6
    with pytest.raises(InvalidInput, match=".xlsx"):
        plain(export_ledger(boss, tmp_path / "台账.csv"))


@pytest.mark.usefixtures("world")
def test_an_unchanged_ledger_reconciles_clean(make_ctx, tmp_path):
    boss = make_ctx("boss")
    plain(export_ledger(boss, tmp_path / "台账.xlsx"))
    result = plain(reconcile_ledger(boss, [tmp_path / "台账.xlsx"]))
    assert result["rows"] == 6
    assert result["discrepancies"] == []
    assert result["unreadable_rows"] == []


def test_reconcile_finds_the_differences_and_proposes_revocations(make_ctx, world, tmp_path):
    boss = make_ctx("boss")
    plain(export_ledger(boss, tmp_path / "台账.xlsx", district="武清"))
    wb = openpyxl.load_workbook(tmp_path / "台账.xlsx")
    for ws in wb.worksheets:  # the same edits on 汇总 and on the district sheet
        ws.cell(row=2, column=5).value = "化工"
        ws.cell(row=3, column=13).value = "该企业已注销"
        ws.delete_rows(4)
    wb.save(tmp_path / "submitted.xlsx")
    result = plain(reconcile_ledger(boss, [tmp_path / "submitted.xlsx"], district="武清", propose=True))
    kinds = sorted((d["类型"], d["统一社会信用代码"]) for d in result["discrepancies"])
    assert kinds == sorted([("不一致", world.wuqing[0]), ("非工贸行业", world.wuqing[0]),
                            ("已注销/迁址", world.wuqing[1]), ("缺失", world.wuqing[2])])
    assert sorted(result["proposed"]) == sorted(world.wuqing[:2])
    assert plain(show_enterprise(boss, world.wuqing[0]))["revocation_reason"] == "not_gongmao"
    assert plain(show_enterprise(boss, world.wuqing[1]))["revocation_reason"] == "deregistered"
    again = plain(reconcile_ledger(boss, [tmp_path / "submitted.xlsx"], district="武清", propose=True))
    # already in publicity: still listed, but no action is suggested and nothing is fired twice
    assert again["proposed"] == []
    assert again["refused"] == []
    assert {d["建议操作"] for d in again["discrepancies"]} == {""}
