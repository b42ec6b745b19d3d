"""The 台账 of valid graded enterprises is the valid grades of the date asked (services.valid.valid_grade on the
enterprises as they stood then): one enterprise driven to each state through the real services, the ledger
exported as of 2023-12-15, and whether each is listed. `ledger reconcile` judges "missing" by the same
filter. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from safegrade.services.context import Context
from safegrade.services.enterprise import list_enterprises
from safegrade.services.ledger import export_ledger, reconcile_ledger
from safegrade.services.valid import valid_grade
from tests.conftest import at
from tests.factories import plain
from tests.safegrade.services.ledger_states import DAY, STATES, as_of, build_states, code_of


def exported(ctx: Context, path: Path) -> set[str]:
    """The credit codes on the exported workbook's 汇总 sheet."""
    plain(export_ledger(ctx, path))
    sheet = openpyxl.load_workbook(path)["汇总"]
    header = [c.value for c in sheet[1]]
    column = header.index("统一社会信用代码")
    return {r[column] for r in sheet.iter_rows(min_row=2, values_only=True)}


@pytest.fixture
def states(make_ctx, clock, tmp_path, db_url) -> Callable[..., Context]:
    build_states(make_ctx, clock, tmp_path, db_url)

    def mk(actor: str | None = None) -> Context:
        return make_ctx(actor, url=db_url)

    return mk


def test_the_states_are_those_of_the_day(states):
    stood = {e["credit_code"]: e for e in plain(list_enterprises(states()))}
    for name, (_, _, _) in STATES.items():
        expected = name.removesuffix("_in_publicity").removesuffix("_after_publicity")
        expected = "graded" if expected == "validity_passed_without_expire" else expected
        assert stood[code_of(name)]["state"] == expected, name
    assert stood[code_of("revocation_pending_in_publicity")]["publicity_ends_on"] >= DAY.date()
    assert stood[code_of("revocation_pending_after_publicity")]["publicity_ends_on"] < DAY.date()


@pytest.mark.parametrize("name", list(STATES))
def test_a_valid_grade_on_the_day_is_listed_and_no_other(states, tmp_path, name):
    listed = exported(states(), tmp_path / "台账.xlsx")
    assert (code_of(name) in listed) is STATES[name][2]


def test_the_ledger_is_exactly_the_valid_grades_and_says_its_date(states, tmp_path):
    done = plain(export_ledger(states(), tmp_path / "台账.xlsx"))
    assert done["as_of"] == DAY.date()
    assert done["enterprises"] == sum(listed for _, _, listed in STATES.values())
    title = openpyxl.load_workbook(tmp_path / "台账.xlsx").properties.title
    assert title == "工贸行业安全生产标准化定级企业台账（2023-12-15）"
    every = plain(export_ledger(states(), tmp_path / "all.xlsx", include_all=True))
    assert every["enterprises"] == len(STATES)


def test_validity_ends_after_its_last_day(states, tmp_path):
    lapsing = code_of("validity_passed_without_expire")
    assert lapsing in exported(as_of(states(), at("2023-09-30 23:00")), tmp_path / "last-day.xlsx")
    assert lapsing not in exported(as_of(states(), at("2023-10-01 00:00")), tmp_path / "next-day.xlsx")


def test_reconcile_does_not_miss_a_revocation_whose_publicity_has_ended(states, tmp_path):
    """A district that leaves out an enterprise under revocation after its publicity is not told it is missing;
    one still in publicity is still owed."""
    boss = states("boss")
    exported(as_of(boss, at("2023-10-31 10:00")), tmp_path / "oct.xlsx")  # before both proposals
    workbook = openpyxl.load_workbook(tmp_path / "oct.xlsx")
    for sheet in workbook.worksheets:
        column = [c.value for c in sheet[1]].index("统一社会信用代码") + 1
        for r in range(sheet.max_row, 1, -1):
            if sheet.cell(row=r, column=column).value in (code_of("revocation_pending_after_publicity"),
                                                           code_of("revocation_pending_in_publicity")):
                sheet.delete_rows(r)
    workbook.save(tmp_path / "submitted.xlsx")
    found = plain(reconcile_ledger(boss, [tmp_path / "submitted.xlsx"]))
    missing = {d["统一社会信用代码"] for d in found["discrepancies"] if d["类型"] == "缺失"}
    assert missing == {code_of("revocation_pending_in_publicity")}


@pytest.mark.parametrize(("fields", "valid"), [
    ({"state": "graded", "valid_until": date(2023, 12, 15)}, True),
    ({"state": "graded", "valid_until": date(2023, 12, 14)}, False),
    ({"state": "rectifying", "valid_until": "2024-01-01"}, True),  # as JSON replays give it
    ({"state": "revocation_pending", "valid_until": date(2024, 1, 1), "publicity_ends_on": date(2023, 12, 15)}, True),
    ({"state": "revocation_pending", "valid_until": date(2024, 1, 1), "publicity_ends_on": date(2023, 12, 14)}, False),
    ({"state": "expired", "valid_until": date(2024, 1, 1)}, False),
    ({"state": "rectifying", "valid_until": date(2024, 1, 1), "validity_ended_on": date(2023, 12, 1)}, False),
    ({"state": "rectifying", "valid_until": date(2024, 1, 1), "validity_ended_on": None}, True),
    ({"state": "graded", "valid_until": None}, False),
])
def test_valid_grade_by_its_fields(fields, valid):
    assert valid_grade(fields, date(2023, 12, 15)) is valid
