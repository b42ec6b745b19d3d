"""Campaigns: selection, exclusion with a reason, status per district, late districts."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date as D  # noqa: N817  (short: dates fill these tests)

import pytest

from safegrade.errors import Forbidden, InputErrors, InvalidInput, NotFound
from safegrade.services.campaign import campaign_status, exclude_member, open_campaign
from safegrade.services.enterprise import show_enterprise, timeline
from tests.conftest import at
from tests.factories import build_world, plain


@pytest.fixture
def world(make_ctx, tmp_path):
    return build_world(make_ctx, tmp_path, per_district=3)


def test_opening_moves_the_chosen_enterprises_to_assessing_in_one_transaction(make_ctx, world):
    boss = make_ctx("boss")
    done = asdict(open_campaign(boss, "2023年运行质量评估", D(2023, 6, 1), D(2023, 8, 31), all_=True))
    assert done["selected"] == 6
    assert done["skipped"] == {}
    for code in world.all:
        assert plain(show_enterprise(boss, code))["state"] == "assessing"
        opened = plain(timeline(boss, code))[-1]
        assert opened["event"] == "open_assessment"
        assert opened["payload"]["data"] == {"campaign": "2023年运行质量评估"}


def test_selection_by_district_and_by_codes_file(make_ctx, world, tmp_path):
    boss = make_ctx("boss")
    assert asdict(open_campaign(boss, "武清", D(2023, 6, 1), D(2023, 8, 31), district="武清区"))["selected"] == 3
    codes = tmp_path / "codes.txt"
    codes.write_text(f"统一社会信用代码\n{world.hexi[0].lower()}\n\n{world.hexi[1]}\n", encoding="utf-8")
    assert asdict(open_campaign(boss, "河西抽查", D(2023, 6, 1), D(2023, 8, 31), codes_file=codes))["selected"] == 2
    assert plain(show_enterprise(boss, world.hexi[2]))["state"] == "graded"


def test_a_codes_file_with_a_bad_line_opens_nothing(make_ctx, world, tmp_path):
    boss = make_ctx("boss")
    open_campaign(boss, "first", D(2023, 6, 1), D(2023, 8, 31), district="武清区")
    codes = tmp_path / "codes.txt"
    codes.write_text(f"{world.hexi[0]}\n91350100M000100Y43\n{world.wuqing[0]}\n", encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        open_campaign(boss, "second", D(2023, 6, 1), D(2023, 8, 31), codes_file=codes)
    assert info.value.problems[0] == f"{codes}:2, value '91350100M000100Y43': no such enterprise"
    assert info.value.problems[1].startswith(f"{codes}:3, value '{world.wuqing[0]}': is 评估中; only ")
    assert {"已定级", "已闭环"} <= set(info.value.problems[1].split("only ")[1].split(" can")[0].split(", "))
    assert plain(show_enterprise(boss, world.hexi[0]))["state"] == "graded"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "exactly one of --all"),
    ({"all_": True, "district": "武清"}, "exactly one of --all"),
    ({"district": "塘沽"}, "unknown district"),
])
@pytest.mark.usefixtures("world")
def test_bad_selection_is_refused(make_ctx, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        open_campaign(make_ctx("boss"), "x", D(2023, 6, 1), D(2023, 8, 31), **kwargs)


@pytest.mark.usefixtures("world")
def test_window_name_and_rights(make_ctx):
    boss = make_ctx("boss")
    with pytest.raises(InvalidInput, match="before --start"):
        open_campaign(boss, "x", D(2023, 9, 1), D(2023, 8, 31), all_=True)
    open_campaign(boss, "x", D(2023, 6, 1), D(2023, 8, 31), district="武清")
    with pytest.raises(InvalidInput, match="already exists"):
        open_campaign(boss, "x", D(2023, 6, 1), D(2023, 8, 31), district="河西")
    with pytest.raises(Forbidden, match="may not open campaign"):
        open_campaign(make_ctx("wq"), "y", D(2023, 6, 1), D(2023, 8, 31), district="武清")
    with pytest.raises(InvalidInput, match="no enterprise to assess"):
        open_campaign(boss, "z", D(2023, 6, 1), D(2023, 8, 31), district="武清")  # all already assessing


def test_exclusion_fires_the_rules_event_and_is_counted_apart(make_ctx, world):
    boss = make_ctx("boss")
    open_campaign(boss, "c", D(2023, 6, 1), D(2023, 8, 31), all_=True)
    wq = make_ctx("wq")
    gone = asdict(exclude_member(wq, "c", world.wuqing[0], "deregistered", "市场监管部门注销公告"))
    moved = asdict(exclude_member(wq, "c", world.wuqing[1], "relocated"))
    assert (gone["to_state"], moved["to_state"]) == ("excluded", "revocation_pending")
    assert plain(show_enterprise(wq, world.wuqing[1]))["revocation_reason"] == "relocated"
    with pytest.raises(InvalidInput, match="already excluded"):
        exclude_member(wq, "c", world.wuqing[0], "deregistered")
    # another district's member answers as one never selected (issue 11: its existence is not disclosed)
    with pytest.raises(NotFound, match=f"^{world.hexi[0]} was not selected for campaign c$"):
        exclude_member(wq, "c", world.hexi[0], "deregistered")
    with pytest.raises(InvalidInput, match="choose one of deregistered"):
        exclude_member(wq, "c", world.wuqing[2], "bankrupt")
    with pytest.raises(NotFound, match="no campaign named 'nope'"):
        exclude_member(wq, "nope", world.wuqing[2], "deregistered")
    status = asdict(campaign_status(boss, "c"))
    wuqing = next(d for d in status["districts"] if d["district_name"] == "武清区")
    assert (wuqing["selected"], wuqing["excluded"], wuqing["outstanding"]) == (3, 2, 1)
    assert wuqing["excluded_by_reason"] == {"deregistered": 1, "relocated": 1}
    assert status["total"]["selected"] == 6
    assert status["total"]["excluded"] == 2


@pytest.mark.usefixtures("world")
def test_a_district_with_outstanding_assessments_after_the_window_is_late(make_ctx, clock):
    boss = make_ctx("boss")
    open_campaign(boss, "c", D(2023, 6, 1), D(2023, 8, 31), all_=True)
    clock.set(at("2023-08-31 20:00"))
    assert asdict(campaign_status(boss, "c"))["late_districts"] == []
    clock.set(at("2023-09-01 08:00"))
    assert asdict(campaign_status(boss, "c"))["late_districts"] == ["河西区", "武清区"]

