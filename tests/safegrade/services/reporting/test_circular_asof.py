"""The circular as of a date (`--as-of`): figures as the database held them that day, dated that day; the
interviews and revocations of the campaign's cases only; the other revocations of its period listed
apart (其他撤销). On SQLite and PostgreSQL; the histories are told in campaign_asof_world.py."""

from __future__ import annotations

import io
from dataclasses import asdict
from datetime import date
from typing import Any

import pytest

from safegrade.clock import TestClock
from safegrade.errors import NotFound
from safegrade.reports.circular import render
from safegrade.services.reporting.circular import circular_figures
from tests.conftest import at
from tests.safegrade.services.campaign_asof_world import EPOCH, FIRST, SECOND, History, one_campaign, two_campaigns

COUNTED = ("selected", "excluded", "assessed", "outstanding", "late_assessments", "deductions", "findings",
           "major_hazards", "interviews", "revocations")


@pytest.fixture
def clock() -> TestClock:
    return TestClock(at(EPOCH))


@pytest.fixture
def one(make_ctx, clock, tmp_path, db_url) -> History:
    return one_campaign(make_ctx, clock, tmp_path, db_url)


@pytest.fixture
def two(make_ctx, clock, tmp_path, db_url) -> History:
    return two_campaigns(make_ctx, clock, tmp_path, db_url)


def figures_on(h: History, when: str, name: str = FIRST) -> dict[str, Any]:
    """The circular's figures as of `when` (a context opened as `--as-of` opens it)."""
    return asdict(circular_figures(h.on(when), name))


def counts(f: dict[str, Any]) -> dict[str, int]:
    return {k: f[k] for k in COUNTED}


def test_as_of_the_eve_of_the_window_nothing_recorded_later_is_counted(one):
    f = figures_on(one, "2023-05-31")
    assert f["as_of"] == date(2023, 5, 31)
    assert counts(f) == {"selected": 2, "excluded": 0, "assessed": 0, "outstanding": 2, "late_assessments": 0,
                         "deductions": 0, "findings": 0, "major_hazards": 0, "interviews": 0, "revocations": 0}
    assert f["results"] == {"优": 0, "良": 0, "差": 0}
    assert (f["methods"], f["top_problems"], f["other_revocations"]) == ([], [], [])
    assert f["materials_printed"]["total"] == 0
    md = render(circular_figures_of(f), "md").decode("utf-8")
    assert "截至2023年5月31日，各区尚未报送评估结果。" in md
    assert "各区未约谈企业；各区未公告撤销企业安全生产标准化等级" in md
    assert md.rstrip().endswith("2023年5月31日</p>")


def test_as_of_a_day_between_an_interview_and_a_revocation(one):
    f = figures_on(one, "2023-08-15")
    assert f["as_of"] == date(2023, 8, 15)
    # W1's interview (07-20) counts; W2's assessment (recorded 08-20) and revocation (09-04) do not yet
    assert counts(f) == {"selected": 2, "excluded": 0, "assessed": 1, "outstanding": 1, "late_assessments": 0,
                         "deductions": 1, "findings": 1, "major_hazards": 1, "interviews": 1, "revocations": 0}
    assert f["results"] == {"优": 0, "良": 0, "差": 1}
    assert [d["outstanding_after_window"] for d in f["district_failings"]] == [0]  # the window is still open
    now = asdict(circular_figures(one.make("rev"), FIRST))
    assert now["as_of"] == date(2023, 9, 15)
    assert counts(now) == {"selected": 2, "excluded": 0, "assessed": 2, "outstanding": 0, "late_assessments": 0,
                           "deductions": 7, "findings": 7, "major_hazards": 1, "interviews": 1, "revocations": 1}
    assert now["results"] == {"优": 0, "良": 0, "差": 2}


def test_the_circular_is_dated_the_day_it_answers_for(one):
    for when, day, text in (("2023-08-15", date(2023, 8, 15), "2023年8月15日"),
                            ("2023-09-18 17:30", date(2023, 9, 18), "2023年9月18日")):
        f = figures_on(one, when)
        assert f["as_of"] == day
        md = render(circular_figures_of(f), "md").decode("utf-8")
        assert f"市应急管理局<br>{text}</p>" in md


def test_other_revocations_of_the_period_are_listed_apart_not_counted(one):
    f = figures_on(one, "2023-09-15 10:00")
    assert f["revocations"] == 1  # W2, a member, in its case
    assert f["other_revocations"] == [{
        "credit_code": one.codes["H1"], "name": f["other_revocations"][0]["name"], "district": "120103",
        "district_name": "河西区", "reason": "not_gongmao", "reason_label": "不属于工贸行业",
        "revoked_on": date(2023, 8, 10)}]
    assert f["other_revocations"][0]["name"]
    assert [d["revocations"] for d in f["by_district"]] == [1]  # 武清区 only: 河西区 has no member
    assert figures_on(one, "2023-08-09")["other_revocations"] == []  # H1 was revoked on 08-10


def test_other_revocations_in_every_format(one):
    f = figures_on(one, "2023-09-15 10:00")
    contract = circular_figures_of(f)
    name, code = f["other_revocations"][0]["name"], one.codes["H1"]
    row = ("河西区", name, code, "不属于工贸行业", "2023年8月10日")
    md = render(contract, "md").decode("utf-8")
    assert "其他撤销：此次评估启动后至2023年9月15日，另有1家企业被公告撤销安全生产标准化等级" in md
    assert "| " + " | ".join(row) + " |" in md
    assert md.index("其他撤销") > md.index("市应急管理局<br>2023年9月15日")  # apart, after the signature
    assert "武清区应急管理局公告撤销1家企业" in md
    html = render(contract, "html").decode("utf-8")
    assert "<section class=\"others\">" in html
    assert "<td>" + "</td><td>".join(row[1:]) + "</td>" in html
    from docx import Document

    doc = Document(io.BytesIO(render(contract, "docx")))
    assert [list(row) for row in [row]][0] in [[c.text for c in r.cells] for t in doc.tables for r in t.rows]
    assert any(p.text.startswith("其他撤销：") for p in doc.paragraphs)
    assert render(contract, "json").decode("utf-8").count(code) == 1


def test_no_other_revocation_no_section(two):
    f = figures_on(two, "2023-09-15")
    assert f["other_revocations"] == []
    md = render(circular_figures_of(f), "md").decode("utf-8")
    assert "其他撤销" not in md


def test_a_later_campaign_s_interviews_and_revocations_are_not_counted_in_an_earlier_circular(two):
    first, second = (asdict(circular_figures(two.make("rev"), n)) for n in (FIRST, SECOND))
    # regenerated on 2024-09-15: 2023's cases ended when 2024's campaign opened the same enterprises
    assert (first["interviews"], first["revocations"], first["other_revocations"]) == (0, 0, [])
    assert first["results"] == {"优": 2, "良": 0, "差": 0}
    assert (second["interviews"], second["revocations"], second["other_revocations"]) == (1, 1, [])
    assert second["results"] == {"优": 0, "良": 0, "差": 2}
    assert first == figures_on(two, "2023-09-15") | {"as_of": date(2024, 9, 15)}


def test_a_campaign_opened_after_the_date_is_unknown_then(two):
    with pytest.raises(NotFound, match=f"no campaign named '{SECOND}'"):
        circular_figures(two.on("2024-05-19"), SECOND)


def circular_figures_of(f: dict[str, Any]) -> Any:
    """The contract again from the dict of its fields (as the tests read it)."""
    from pydantic import TypeAdapter

    from safegrade.services.reporting.circular import CircularFigures

    return TypeAdapter(CircularFigures).validate_python(f)
