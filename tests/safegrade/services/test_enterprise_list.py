"""The enterprise list's filters and keyset pages, in SQL, as of the context's now, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from safegrade.clock import FixedClock
from safegrade.errors import InvalidInput
from safegrade.services.enterprise import enterprise_page, list_enterprises
from safegrade.services.ledger import import_ledger
from tests.conftest import at
from tests.factories import build_world, row, write_ledger


@pytest.fixture
def world(make_ctx, tmp_path, db_url):
    w = build_world(make_ctx, tmp_path, per_district=4, url=db_url)
    boss = make_ctx("boss", url=db_url)
    extra = [row(50, "武清区", 企业名称="天津市<script>alert(1)</script>有限公司"),
             row(51, "河西区", 行业类别="建筑施工")]  # not 工贸: flagged
    import_ledger(boss, [write_ledger(tmp_path / "extra.csv", extra)])
    return w, extra, db_url


def codes(items):
    return [e.credit_code for e in items]


def test_pages_walk_the_whole_list_in_order_without_gaps_or_repeats(make_ctx, world):
    _, _, url = world
    ctx = make_ctx(url=url)
    everything = list_enterprises(ctx)
    seen, after, pages = [], None, 0
    while True:
        page = enterprise_page(ctx, limit=3, after=after)
        seen += codes(page.items)
        pages += 1
        if page.next is None:
            break
        after = page.next
    assert seen == codes(everything)
    assert len(seen) == 10
    assert pages == 4
    assert [(e.district, e.credit_code) for e in everything] == sorted((e.district, e.credit_code) for e in everything)


def test_a_page_that_ends_exactly_at_the_end_has_no_next(make_ctx, world):
    _, _, url = world
    assert enterprise_page(make_ctx(url=url), limit=10).next is None
    assert enterprise_page(make_ctx(url=url), limit=9).next is not None


def test_search_by_a_part_of_the_name_or_the_start_of_the_credit_code(make_ctx, world):
    w, extra, url = world
    ctx = make_ctx(url=url)
    assert codes(list_enterprises(ctx, q="<script>")) == [extra[0]["统一社会信用代码"]]
    assert codes(list_enterprises(ctx, q="0002机械")) == [w.wuqing[1]]
    prefix = w.hexi[0][:10].lower()  # a lower-case prefix finds the upper-case code
    assert set(codes(list_enterprises(ctx, q=prefix))) >= {w.hexi[0]}
    assert list_enterprises(ctx, q="%") == []  # a LIKE wildcard is a character like any other
    assert list_enterprises(ctx, q="_") == []


def test_flag_district_and_state_filters_combine(make_ctx, world):
    _, extra, url = world
    ctx = make_ctx(url=url)
    assert codes(list_enterprises(ctx, flag="not_gongmao")) == [extra[1]["统一社会信用代码"]]
    assert codes(list_enterprises(ctx, flag="not_gongmao", district="武清")) == []
    assert len(list_enterprises(ctx, district="河西区", state="graded")) == 5
    assert list_enterprises(ctx, flag="not_gong") == []  # a whole flag, not a part of one


def test_the_list_is_as_of_the_context_now(make_ctx, world):
    _, _, url = world
    ctx = make_ctx(url=url)
    before = ctx.acting(actor=None, source="cli", clock=FixedClock(at("2023-05-01"), ctx.settings.zone))
    assert enterprise_page(before, limit=5).items == []  # before the ledger was imported


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"after": "nonsense"}, "invalid_cursor"), ({"after": "1:2:3"}, "invalid_cursor"),
    ({"flag": "Not A Flag"}, "invalid_flag"), ({"limit": 0}, "invalid_limit"), ({"state": "nowhere"}, "unknown_state"),
])
def test_bad_filters_are_refused_with_their_field(make_ctx, world, kwargs, code):
    _, _, url = world
    with pytest.raises(InvalidInput) as info:
        enterprise_page(make_ctx(url=url), **kwargs)
    assert info.value.code == code
    assert info.value.field == next(iter(kwargs))
