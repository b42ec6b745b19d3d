"""`deadlines plan`: what the sweep would do between two days, day by day, changing nothing — and the
same as what the sweep then does, day by day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from safegrade.errors import InvalidInput
from safegrade.models import AuditEvent, Reminder, table
from safegrade.services.plan import plan_deadlines
from safegrade.services.progress import campaign_progress
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import DEDUCTIONS, MAJOR, assess, campaign_world, outbox, plain

REMINDER, EVENT = table(Reminder), table(AuditEvent)


@pytest.fixture
def world(make_ctx, tmp_path):
    return campaign_world(make_ctx, tmp_path)


def _counts(make_ctx):
    with make_ctx().store.read() as session:
        return (session.execute(select(func.count()).select_from(REMINDER)).scalar_one(),
                session.execute(select(func.count()).select_from(EVENT)).scalar_one())


def test_plan_changes_nothing_and_matches_what_the_sweep_then_does(make_ctx, world, tmp_path, clock):
    assess(make_ctx, tmp_path, clock, world.wuqing[0], DEDUCTIONS, on="2023-07-10")
    two = [*DEDUCTIONS, {"item": "ZN01", "points": 4, "content": "未建立信息化平台"}]
    assess(make_ctx, tmp_path, clock, world.wuqing[1], two, on="2023-07-12")
    assess(make_ctx, tmp_path, clock, world.hexi[0], MAJOR, on="2023-07-12", actor="hx")
    clock.set(at("2023-07-20 08:00"))
    before = _counts(make_ctx)
    plan = plain(plan_deadlines(make_ctx("boss"), date(2023, 7, 20), date(2023, 9, 10)))
    assert _counts(make_ctx) == before
    planned: dict[date, set[tuple[str, str, str]]] = {}
    events: dict[date, list[str]] = {}
    for day in plan["days"]:
        for item in day["items"]:
            if item["what"] in ("reminder", "superseded", "progress", "notice", "event", "skipped"):
                for a in item["audiences"]:
                    planned.setdefault(day["date"], set()).add((item["subject"], item["step"], a))
            if item["what"] == "event":
                events.setdefault(day["date"], []).append(item["subject"])
    assert events  # the plan foresees escalations: the two-finding enterprise once, the major hazard once
    day = date(2023, 7, 20)
    seen = set(outbox(make_ctx))
    while day <= date(2023, 9, 10):
        clock.set(at(f"{day} 08:00"))
        report = sweep_deadlines(make_ctx("system", source="flow"))
        campaign_progress(make_ctx("system", source="flow"))
        now = set(outbox(make_ctx))
        assert now - seen == planned.get(day, set()), day
        assert report.escalations == len(events.get(day, [])), day
        seen = now
        day += timedelta(days=1)


@pytest.mark.usefixtures("world")
def test_plan_refuses_a_backward_or_overlong_stretch(make_ctx):
    with pytest.raises(InvalidInput, match="before --from"):
        plan_deadlines(make_ctx("boss"), date(2023, 9, 1), date(2023, 8, 1))
    with pytest.raises(InvalidInput, match="more than"):
        plan_deadlines(make_ctx("boss"), date(2023, 1, 1), date(2025, 1, 1))


def test_a_plan_as_of_a_past_day_plans_the_deadlines_as_they_stood_then(make_ctx, world, tmp_path, clock):
    """Asked as of 07-20, the plan still reminds about the finding that was verified on 07-25: that is what the
    sweep of 07-20 would have foreseen. Asked now, the verified finding is planned no more."""
    from safegrade.clock import FixedClock
    from safegrade.services.finding import list_findings, submit_finding, verify_finding

    assess(make_ctx, tmp_path, clock, world.wuqing[0], DEDUCTIONS, on="2023-07-10")
    clock.set(at("2023-07-24 09:00"))
    finding = list_findings(make_ctx("boss"))[0].id
    evidence = tmp_path / "report.txt"
    evidence.write_text("整改报告", encoding="utf-8")
    submit_finding(make_ctx("wq"), finding, [evidence])
    clock.set(at("2023-07-25 09:00"))
    verify_finding(make_ctx("boss"), finding)

    def subjects(ctx):
        plan = plan_deadlines(ctx, date(2023, 7, 26), date(2023, 8, 31))
        return {i.subject for d in plan.days for i in d.items if i.what == "reminder"}

    now = make_ctx("boss")
    then = make_ctx("boss")
    then.clock = FixedClock(at("2023-07-20 08:00"))
    assert f"finding:{finding}" in subjects(then)
    assert f"finding:{finding}" not in subjects(now)
