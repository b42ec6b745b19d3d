"""Importing ledgers through the service: atomic, idempotent, scoped, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from safegrade.errors import Forbidden, InputErrors
from safegrade.models import AuditEvent, Enterprise
from safegrade.services.actors import add_actor, ensure_system_actor
from safegrade.services.enterprise import list_enterprises, show_enterprise, timeline
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from tests.factories import credit_code, plain, row, write_ledger


@pytest.fixture
def boss(make_ctx):
    ensure_system_actor(make_ctx())
    add_actor(make_ctx(), "boss", "bureau")
    add_actor(make_ctx("boss"), "wq", "district", district="武清区")
    add_actor(make_ctx("boss"), "rev", "reviewer")
    return make_ctx("boss")


def counts(ctx) -> tuple[int, int]:
    with ctx.store.read() as s:
        return (s.execute(select(func.count()).select_from(Enterprise)).scalar_one(),
                s.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def test_a_good_ledger_registers_each_enterprise_with_one_audit_event(boss, tmp_path):
    report = import_ledger(boss, [write_ledger(tmp_path / "l.csv", [row(i) for i in range(1, 6)])])
    assert (report.created, report.unchanged, report.amended, report.problems) == (5, 0, 0, [])
    assert counts(boss) == (5, 5)
    first = plain(timeline(boss, credit_code(1)))[0]
    assert first["event"] == "register"
    assert first["reason"] == "台账导入 l.csv 第2行"


def test_one_bad_row_means_nothing_is_written_and_every_bad_row_is_listed(boss, tmp_path):
    rows = [row(1), row(2, "塘沽区"), row(3), row(4, 有效期至="2020-01-01")]
    with pytest.raises(InputErrors) as info:
        import_ledger(boss, [write_ledger(tmp_path / "l.csv", rows)])
    assert len(info.value.problems) == 2
    assert info.value.problems[0].startswith(f"{tmp_path / 'l.csv'}:3, column 区")
    assert info.value.problems[1].startswith(f"{tmp_path / 'l.csv'}:5, column 有效期至")
    assert counts(boss) == (0, 0)


def test_dry_run_validates_only(boss, tmp_path):
    report = import_ledger(boss, [write_ledger(tmp_path / "l.csv", [row(1), row(2, "塘沽区")])], dry_run=True)
    assert report.dry_run
    assert report.created == 1
    assert len(report.problems) == 1
    assert counts(boss) == (0, 0)


def test_reimporting_the_same_ledger_changes_nothing(boss, tmp_path):
    path = write_ledger(tmp_path / "l.csv", [row(i) for i in range(1, 4)])
    import_ledger(boss, [path])
    again = import_ledger(boss, [path])
    assert (again.created, again.unchanged) == (0, 3)
    assert counts(boss) == (3, 3)


def test_changed_values_are_refused_without_amend_and_audited_with_it(boss, tmp_path):
    import_ledger(boss, [write_ledger(tmp_path / "a.csv", [row(1)])])
    changed = write_ledger(tmp_path / "b.csv", [row(1, 有效期至="2025-03-31")])
    with pytest.raises(InputErrors) as info:
        import_ledger(boss, [changed])
    assert "valid_until: 2025-02-28 → 2025-03-31" in info.value.problems[0]
    assert "--amend" in info.value.problems[0]
    report = import_ledger(boss, [changed], amend=True)
    assert report.amended == 1
    amended = plain(timeline(boss, credit_code(1)))[-1]
    assert amended["event"] == "amend"
    assert amended["payload"]["before"] == {"valid_until": "2025-02-28"}
    assert amended["payload"]["after"] == {"valid_until": "2025-03-31"}
    assert plain(show_enterprise(boss, credit_code(1)))["version"] == 2


@pytest.mark.usefixtures("boss")
def test_a_district_officer_imports_only_their_district(make_ctx, tmp_path):
    with pytest.raises(InputErrors) as info:
        import_ledger(make_ctx("wq"), [write_ledger(tmp_path / "l.csv", [row(1), row(2, "河西区")])])
    assert "imports for 武清区 only" in info.value.problems[0]
    assert import_ledger(make_ctx("wq"), [write_ledger(tmp_path / "m.csv", [row(1)])]).created == 1


@pytest.mark.usefixtures("boss")
def test_a_reviewer_may_not_import(make_ctx, tmp_path):
    with pytest.raises(Forbidden, match="may not import ledger"):
        import_ledger(make_ctx("rev"), [write_ledger(tmp_path / "l.csv", [row(1)])])


def test_non_gongmao_enterprises_are_kept_and_flagged(boss, tmp_path):
    report = import_ledger(boss, [write_ledger(tmp_path / "l.csv", [row(1), row(2, sector="化工")])])
    assert report.not_gongmao == 1
    flagged = plain(list_enterprises(boss, flag="not_gongmao"))
    assert [e["credit_code"] for e in flagged] == [credit_code(2)]
    assert flagged[0]["sector"] == "化工"


def test_a_failing_check_character_needs_a_bureau_override_with_a_reason(boss, make_ctx, tmp_path):
    good = credit_code(1)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    path = write_ledger(tmp_path / "l.csv", [row(1, 统一社会信用代码=bad)])
    with pytest.raises(InputErrors, match="1 problem"):
        import_ledger(boss, [path])
    with pytest.raises(Forbidden, match="override check"):
        import_ledger(make_ctx("wq"), [path], check_overrides={bad: "营业执照原件核对无误"})
    report = import_ledger(boss, [path], check_overrides={bad: "营业执照原件核对无误"})
    assert report.check_overrides == 1
    assert plain(timeline(boss, bad))[0]["payload"]["data"]["check_override"] == "营业执照原件核对无误"
    with pytest.raises(InputErrors) as info:
        import_ledger(boss, [write_ledger(tmp_path / "m.csv", [row(3)])], check_overrides={"X" * 18: "typo"})
    assert "no row in the ledger(s) needed this override" in info.value.problems[0]


def test_the_same_enterprise_in_two_ledgers_is_refused(boss, tmp_path):
    a = write_ledger(tmp_path / "a.csv", [row(1)])
    b = write_ledger(tmp_path / "b.csv", [row(2), {**row(1), "区": "河西区"}])
    with pytest.raises(InputErrors) as info:
        import_ledger(boss, [a, b])
    assert f"also in {a}:2" in info.value.problems[0]


@pytest.mark.usefixtures("clock")
def test_a_revoked_enterprise_is_not_changed_by_a_ledger(boss, make_ctx, tmp_path):
    import_ledger(boss, [write_ledger(tmp_path / "a.csv", [row(1)])])
    fire_event(make_ctx("wq"), credit_code(1), "exclude", reason="注销")
    with pytest.raises(InputErrors) as info:
        import_ledger(boss, [write_ledger(tmp_path / "b.csv", [row(1, 有效期至="2026-01-01")])], amend=True)
    assert "已注销/不予评估; a closed record is not changed by a ledger" in info.value.problems[0]


def test_a_revoked_enterprise_is_regraded_by_its_event_not_by_a_ledger(boss, make_ctx, tmp_path, clock):
    import_ledger(boss, [write_ledger(tmp_path / "a.csv", [row(1)])])
    wq = make_ctx("wq")
    fire_event(wq, credit_code(1), "propose_revocation", reason="迁址",
               data={"revocation_reason": "relocated", "revocation_source": "complaint"})
    clock.advance(days=20)
    fire_event(wq, credit_code(1), "revoke", reason="公告撤销")
    with pytest.raises(InputErrors) as info:
        import_ledger(boss, [write_ledger(tmp_path / "b.csv", [row(1, 有效期至="2026-01-01")])], amend=True)
    assert "graded again only with `fire CODE regrade` from 2024-06-" in info.value.problems[0]
