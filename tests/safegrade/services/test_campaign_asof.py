"""`campaign status` and `campaign list` as of a date (`--as-of`): the members, assessments, interviews and
revocations as the database held them that day; a campaign's counts are its own cases'. On SQLite and
PostgreSQL; the histories are told in campaign_asof_world.py."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pytest

from safegrade.clock import TestClock
from safegrade.errors import NotFound
from safegrade.services.campaign import campaign_status, list_campaigns
from tests.conftest import at
from tests.safegrade.services.campaign_asof_world import EPOCH, FIRST, SECOND, History, one_campaign, two_campaigns

TOTALS = ("selected", "excluded", "assessed", "outstanding", "late", "interviews", "revocations")


@pytest.fixture
def clock() -> TestClock:
    return TestClock(at(EPOCH))


@pytest.fixture
def one(make_ctx, clock, tmp_path, db_url) -> History:
    return one_campaign(make_ctx, clock, tmp_path, db_url)


@pytest.fixture
def two(make_ctx, clock, tmp_path, db_url) -> History:
    return two_campaigns(make_ctx, clock, tmp_path, db_url)


def totals(h: History, when: str | None, name: str = FIRST) -> dict[str, object]:
    status = asdict(campaign_status(h.on(when) if when else h.make("rev"), name))
    return {"as_of": status["as_of"], **{k: status["total"][k] for k in TOTALS}, "results": status["total"]["results"],
            "late_districts": status["late_districts"]}


def test_status_as_of_past_dates(one):
    assert totals(one, "2023-05-31") == {
        "as_of": date(2023, 5, 31), "selected": 2, "excluded": 0, "assessed": 0, "outstanding": 2, "late": 0,
        "interviews": 0, "revocations": 0, "results": {"优": 0, "良": 0, "差": 0}, "late_districts": []}
    assert totals(one, "2023-08-15") == {
        "as_of": date(2023, 8, 15), "selected": 2, "excluded": 0, "assessed": 1, "outstanding": 1, "late": 0,
        "interviews": 1, "revocations": 0, "results": {"优": 0, "良": 0, "差": 1}, "late_districts": []}
    assert totals(one, "2023-09-03 23:59") == {
        "as_of": date(2023, 9, 3), "selected": 2, "excluded": 0, "assessed": 2, "outstanding": 0, "late": 0,
        "interviews": 1, "revocations": 0, "results": {"优": 0, "良": 0, "差": 2}, "late_districts": []}
    assert totals(one, None) == {
        "as_of": date(2023, 9, 15), "selected": 2, "excluded": 0, "assessed": 2, "outstanding": 0, "late": 0,
        "interviews": 1, "revocations": 1, "results": {"优": 0, "良": 0, "差": 2}, "late_districts": []}


def test_revocations_outside_the_campaign_s_cases_are_not_counted(one):
    # H1 (河西区, not a member) was revoked under 工作要求 4 on 08-10: not this campaign's
    status = asdict(campaign_status(one.make("rev"), FIRST))
    assert [(d["district_name"], d["revocations"]) for d in status["districts"]] == [("武清区", 1)]


def test_a_later_campaign_s_events_are_its_own(two):
    assert totals(two, None, FIRST) | {"as_of": None} == totals(two, "2023-09-15", FIRST) | {"as_of": None}
    assert (totals(two, None, FIRST)["interviews"], totals(two, None, FIRST)["revocations"]) == (0, 0)
    assert (totals(two, None, SECOND)["interviews"], totals(two, None, SECOND)["revocations"]) == (1, 1)
    assert totals(two, "2024-07-20", SECOND)["interviews"] == 1
    assert totals(two, "2024-07-20", SECOND)["revocations"] == 0


def test_list_and_status_know_only_the_campaigns_opened_by_then(two):
    assert [c.name for c in list_campaigns(two.make())] == [FIRST, SECOND]
    assert [c.name for c in list_campaigns(two.on("2024-05-19"))] == [FIRST]
    assert list_campaigns(two.on("2023-05-24")) == []
    with pytest.raises(NotFound, match=f"no campaign named '{SECOND}'") as info:
        campaign_status(two.on("2024-05-19"), SECOND)
    assert info.value.code == "unknown_campaign"
    assert campaign_status(two.on("2024-05-20 09:00"), SECOND).total.selected == 2
