"""Reconciling districts' 台账 rows with the registered enterprises: each kind of discrepancy has a case
that raises it and a near case that must not; the districts filter; sorted, deterministic output.

Inputs are plain LedgerRecord objects and dicts shaped like list_enterprises' rows; no database.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from safegrade.demo.synthetic import synthetic_rows
from safegrade.domain.creditcode import make
from safegrade.io.ledger import LedgerRecord
from safegrade.io.reconcile import KIND_LABELS, TABLE_COLUMNS, Discrepancy, discrepancies_table, reconcile
from safegrade.rules import Rules
from safegrade.services.valid import valid_grade

TODAY = date(2023, 12, 15)
WUQING, HEXI, BEICHEN = "120114", "120103", "120113"


def record(i: int, district: str = WUQING, file: str = "wq.xlsx", **changes: Any) -> LedgerRecord:
    """Ledger row i (spreadsheet row i + 1) of a valid machinery enterprise."""
    rec = LedgerRecord(
        file=file, row=i + 1, credit_code=make(f"91{district}MA{i:07d}"), name=f"天津市测试{i:04d}机械有限公司",
        district=district, sector="machinery", in_gongmao=True, level="三级", certificate_no=f"津AQBJXⅢ2022{i:05d}",
        graded_on=date(2022, 3, 1), valid_until=date(2025, 2, 28), address="天津市某路1号", contact="王伟",
        phone="13812345678",
    )
    return replace(rec, **changes)


def registered(rec: LedgerRecord, state: str = "graded", **changes: Any) -> dict[str, Any]:
    """The enterprise as the database holds it (list_enterprises' dict) when it matches the row."""
    e: dict[str, Any] = {**rec.fields(), "state": state, "flags": [], "version": 1}
    e.update(changes)
    return e


def run(records: list[LedgerRecord], db: list[dict[str, Any]], rules: Rules, **kw: Any) -> list[Discrepancy]:
    return reconcile(records, db, rules, today=kw.pop("today", TODAY), valid=valid_grade, **kw)


def kinds(found: list[Discrepancy]) -> list[tuple[str, str]]:
    return [(d.kind, d.credit_code) for d in found]


def test_matching_ledger_gives_nothing(rules: Rules) -> None:
    records = [record(i) for i in range(1, 6)]
    assert run(records, [registered(r) for r in records], rules) == []


def test_synthetic_ledger_matching_its_records_gives_nothing(rules: Rules) -> None:
    rows = synthetic_rows(200, seed=5, rules=rules)
    records = []
    for i, row in enumerate(rows, start=2):
        district, sector = rules.district(row["区"]), rules.sector(row["行业类别"])
        assert district is not None
        assert sector is not None
        records.append(LedgerRecord(
            "s.xlsx", i, row["统一社会信用代码"], row["企业名称"], district.code, sector.key, True, row["标准化等级"],
            row["证书编号"], date.fromisoformat(row["定级日期"]), date.fromisoformat(row["有效期至"])))
    assert run(records, [registered(r) for r in records], rules) == []


# --- missing ---------------------------------------------------------------------------------------


def test_missing_valid_enterprise(rules: Rules) -> None:
    listed, absent = record(1), record(2)
    found = run([listed], [registered(listed), registered(absent)], rules)
    assert found == [Discrepancy("missing", absent.credit_code, absent.name, WUQING, "database",
                                 "台账缺少：数据库中有效的定级企业未列入台账（证书编号 津AQBJXⅢ202200002，"
                                 "有效期至 2025-02-28）", None)]


@pytest.mark.parametrize(("state", "valid_until", "publicity_ends_on", "raised"), [
    ("graded", TODAY, None, True),                        # valid on its last day
    ("revocation_pending", TODAY, TODAY, True),           # still valid during the publicity
    ("revocation_pending", date(2025, 2, 28), TODAY - timedelta(days=1), False),  # publicity over: not owed
    ("graded", TODAY - timedelta(days=1), None, False),   # validity passed: not owed in the ledger
    ("expired", date(2025, 2, 28), None, False),
    ("revoked", date(2025, 2, 28), None, False),
    ("excluded", date(2025, 2, 28), None, False),
])
def test_missing_only_when_still_valid(rules: Rules, state: str, valid_until: date, publicity_ends_on: date | None,
                                       raised: bool) -> None:
    listed, absent = record(1), record(2, valid_until=valid_until)
    found = run([listed], [registered(listed), registered(absent, state, publicity_ends_on=publicity_ends_on)],
                rules)
    assert kinds(found) == ([("missing", absent.credit_code)] if raised else [])


def test_missing_names_the_other_district_where_it_is_listed(rules: Rules) -> None:
    wq = record(1)
    moved = record(2, district=HEXI, file="hx.xlsx")
    db = [registered(wq), registered(moved, district=WUQING)]
    found = run([wq, moved], db, rules)
    assert kinds(found) == [("changed", moved.credit_code), ("two_districts", moved.credit_code),
                            ("missing", moved.credit_code)]
    missing = found[2]
    assert missing.district == WUQING
    assert "该企业列于 河西区 hx.xlsx:3" in missing.detail


def test_missing_not_gongmao_says_to_revoke(rules: Rules) -> None:
    listed, absent = record(1), record(2)
    found = run([listed], [registered(listed), registered(absent, sector="化工", in_gongmao=False)], rules)
    assert "行业类别 化工 不属于工贸行业，应公告撤销而非仅从台账删去" in found[0].detail


# --- extra, changed ----------------------------------------------------------------------------------


def test_extra_row_not_registered(rules: Rules) -> None:
    known, unknown = record(1), record(2)
    found = run([known, unknown], [registered(known)], rules)
    assert found == [Discrepancy("extra", unknown.credit_code, unknown.name, WUQING, "wq.xlsx:3",
                                 f"台账多出：数据库中没有统一社会信用代码为 {unknown.credit_code} 的定级企业"
                                 "（未登记入库，或信用代码填写有误）", None)]


def test_changed_lists_each_difference_db_then_ledger(rules: Rules) -> None:
    rec = record(1, name="天津市新名称有限公司", level="二级", sector="light", valid_until=date(2026, 2, 28))
    found = run([rec], [registered(record(1))], rules)
    assert kinds(found) == [("changed", rec.credit_code)]
    assert found[0].detail == ("台账与数据库不一致（数据库 → 台账）："
                               "企业名称: 天津市测试0001机械有限公司 → 天津市新名称有限公司；行业类别: 机械 → 轻工；"
                               "标准化等级: 三级 → 二级；有效期至: 2025-02-28 → 2026-02-28")
    assert found[0].where == "wq.xlsx:2"
    assert found[0].action is None


def test_changed_certificate_and_graded_on(rules: Rules) -> None:
    rec = record(1, certificate_no="X-1", graded_on=date(2022, 3, 2))
    found = run([rec], [registered(record(1))], rules)
    assert "证书编号: 津AQBJXⅢ202200001 → X-1；定级日期: 2022-03-01 → 2022-03-02" in found[0].detail


def test_not_changed_for_spacing_bracket_width_or_dates_as_text(rules: Rules) -> None:
    rec = record(1, name="天津市测试（集团）机械有限公司")
    db = registered(rec, name=" 天津市测试(集团)机械 有限公司", graded_on="2022-03-01", valid_until="2025-02-28")
    assert run([rec], [db], rules) == []


def test_revoked_but_still_listed_is_changed(rules: Rules) -> None:
    rec = record(1)
    found = run([rec], [registered(rec, "revoked")], rules)
    assert kinds(found) == [("changed", rec.credit_code)]
    assert "状态: 已撤销 → 台账仍列为有效定级企业" in found[0].detail


# --- not_gongmao, expired ------------------------------------------------------------------------------


def test_not_gongmao_proposes_revocation(rules: Rules) -> None:
    rec = record(1, sector="化工", in_gongmao=False)
    found = run([rec], [registered(rec)], rules)
    assert kinds(found) == [("not_gongmao", rec.credit_code)]
    assert found[0].detail.startswith("行业类别 化工 不属于工贸行业，应公告撤销")
    assert found[0].action == "propose_revocation"


def test_not_gongmao_near_case_alias_is_gongmao(rules: Rules) -> None:
    sector = rules.sector("机械行业")
    assert sector is not None
    rec = record(1, sector=sector.key)
    assert run([rec], [registered(rec)], rules) == []


@pytest.mark.parametrize(("state", "action"), [("graded", "propose_revocation"),
                                           ("revocation_pending", None)])
def test_no_revocation_proposed_where_the_lifecycle_forbids_it(rules: Rules, state: str, action: str | None) -> None:
    rec = record(1, sector="化工", in_gongmao=False)
    found = [d for d in run([rec], [registered(rec, state)], rules) if d.kind == "not_gongmao"]
    assert [d.action for d in found] == [action]


def test_not_gongmao_unregistered_still_proposes_revocation(rules: Rules) -> None:
    rec = record(1, sector="化工", in_gongmao=False)
    found = run([rec], [], rules)
    assert [(d.kind, d.action) for d in found] == [("extra", None), ("not_gongmao", "propose_revocation")]


@pytest.mark.parametrize(("valid_until", "expired"), [
    (TODAY - timedelta(days=1), True), (date(2023, 6, 30), True), (TODAY, False), (TODAY + timedelta(days=1), False),
])
def test_expired_only_before_today(rules: Rules, valid_until: date, expired: bool) -> None:
    rec = record(1, valid_until=valid_until, graded_on=date(2020, 7, 1))
    found = run([rec], [registered(rec)], rules)
    assert kinds(found) == ([("expired", rec.credit_code)] if expired else [])
    if expired:
        assert found[0].detail.startswith(f"有效期至 {valid_until.isoformat()} 已届满")


# --- two_districts -------------------------------------------------------------------------------------


def test_same_code_in_two_districts_ledgers(rules: Rules) -> None:
    wq = record(1)
    hx = replace(wq, district=HEXI, file="hx.xlsx", row=7)
    found = run([wq, hx], [registered(wq)], rules)
    assert [(d.district, d.kind, d.where) for d in found] == [
        (HEXI, "changed", "hx.xlsx:7"), (HEXI, "two_districts", "hx.xlsx:7"), (WUQING, "two_districts", "wq.xlsx:2")]
    assert found[1].detail == ("同一信用代码同时在 河西区 与 武清区 台账中（另见 wq.xlsx:2）；"
                               "数据库登记在 武清区，台账列于 河西区")
    assert found[2].detail == "同一信用代码同时在 河西区 与 武清区 台账中（另见 hx.xlsx:7）"
    assert "区: 武清区 → 河西区" in found[0].detail


def test_registered_in_another_district(rules: Rules) -> None:
    rec = record(1)
    found = run([rec], [registered(rec, district=BEICHEN)], rules)
    assert kinds(found) == [("changed", rec.credit_code), ("two_districts", rec.credit_code)]
    assert found[1].detail == "数据库登记在 北辰区，台账列于 武清区"


def test_same_code_twice_in_one_district_is_not_two_districts(rules: Rules) -> None:
    first = record(1)
    again = replace(first, file="wq-2.xlsx")
    assert run([first, again], [registered(first)], rules) == []


# --- deregistered --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("remarks", "raised"), [
    ("已注销", True), ("2023年8月注销", True), ("已迁址至河北省", True), ("迁出本市", True),
    ("未注销", False), ("尚未迁出", False), ("由河西区迁入", False), ("2023年复评", False), ("", False),
])
def test_deregistered_by_remarks(rules: Rules, remarks: str, raised: bool) -> None:
    rec = record(1, remarks=remarks)
    found = run([rec], [registered(rec)], rules)
    assert [(d.kind, d.action) for d in found] == ([("deregistered", "propose_revocation")] if raised else [])
    if raised:
        assert f"备注“{remarks}”" in found[0].detail


def test_excluded_on_record_but_listed(rules: Rules) -> None:
    rec = record(1)
    found = run([rec], [registered(rec, "excluded")], rules)
    assert [(d.kind, d.action) for d in found] == [("deregistered", None)]  # excluded is final: nothing to revoke
    assert "数据库中该企业为 已注销/不予评估，仍列入台账" in found[0].detail


def test_one_row_several_kinds(rules: Rules) -> None:
    rec = record(1, sector="化工", in_gongmao=False, valid_until=date(2023, 6, 30), graded_on=date(2020, 7, 1),
                 remarks="已注销")
    found = run([rec], [registered(rec)], rules)
    assert [d.kind for d in found] == ["deregistered", "expired", "not_gongmao"]
    assert found[1].detail.startswith("有效期至 2023-06-30 已届满")


# --- districts filter, order, determinism ----------------------------------------------------------------


def world() -> tuple[list[LedgerRecord], list[dict[str, Any]]]:
    wq = [record(i) for i in range(1, 5)]
    hx = [record(i, district=HEXI, file="hx.xlsx") for i in range(1, 4)]
    db = [registered(r) for r in [*wq, *hx]]
    db.append(registered(record(9)))                                  # missing in 武清
    db.append(registered(record(8, district=HEXI)))                   # missing in 河西
    db.append(registered(record(7, district=BEICHEN)))                # 北辰: sent no ledger
    deregistered, extra = record(20, remarks="已注销"), record(21, district=HEXI, file="hx.xlsx")
    db.append(registered(deregistered))
    records = [*wq, *hx, deregistered, extra]
    return records, db


def test_default_scope_is_the_districts_of_the_records(rules: Rules) -> None:
    records, db = world()
    found = run(records, db, rules)
    assert {d.district for d in found} == {WUQING, HEXI}
    assert [(d.district, d.kind) for d in found] == [
        (HEXI, "extra"), (HEXI, "missing"), (WUQING, "deregistered"), (WUQING, "missing")]


def test_districts_filter(rules: Rules) -> None:
    records, db = world()
    found = run(records, db, rules, districts=[WUQING])
    assert [(d.district, d.kind) for d in found] == [(WUQING, "deregistered"), (WUQING, "missing")]
    beichen = run(records, db, rules, districts={BEICHEN})
    assert [(d.district, d.kind, d.where) for d in beichen] == [(BEICHEN, "missing", "database")]
    assert run(records, db, rules, districts=()) == []


def test_sorted_and_deterministic(rules: Rules) -> None:
    records, db = world()
    records += [record(30, valid_until=date(2023, 1, 1), graded_on=date(2020, 1, 2)),
                record(31, sector="化工", in_gongmao=False)]
    expected = run(records, db, rules)
    assert expected == sorted(expected, key=lambda d: (d.district, d.kind, d.credit_code))
    rng = random.Random(7)
    for _ in range(5):
        shuffled_records, shuffled_db = records[:], db[:]
        rng.shuffle(shuffled_records)
        rng.shuffle(shuffled_db)
        assert run(shuffled_records, shuffled_db, rules) == expected


# --- table -----------------------------------------------------------------------------------------------


def test_table_has_chinese_columns_and_labels(rules: Rules) -> None:
    rec = record(1, sector="化工", in_gongmao=False)
    absent = record(2)
    found = run([rec], [registered(rec), registered(absent)], rules)
    table = discrepancies_table(found)
    assert [list(row) for row in table] == [list(TABLE_COLUMNS)] * 2
    assert [(row["类型"], row["区"], row["位置"], row["建议操作"]) for row in table] == [
        ("缺失", WUQING, "database", ""), ("非工贸行业", WUQING, "wq.xlsx:2", "提出撤销（公示）")]
    named = discrepancies_table(found, rules=rules)
    assert [row["区"] for row in named] == ["武清区", "武清区"]
    assert named[1]["建议操作"] == rules.lifecycle.event_label("propose_revocation")
    assert named[0]["说明"] == found[0].detail
    assert named[0]["统一社会信用代码"] == absent.credit_code
    assert set(KIND_LABELS.values()) == {"缺失", "多出", "不一致", "非工贸行业", "有效期届满", "跨区重复",
                                         "已注销/迁址"}
