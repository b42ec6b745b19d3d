"""Working days the bureau can trust next year (issue 16): a deadline counted into a year no holiday schedule
covers is refused unless config allows Monday–Friday, then marked; once the year is in rules/holidays.yaml (here
the made-up 2027 schedule of a test rules folder, tests/safegrade/services/calendar_world.py) `deadlines plan`
shows the recount first, and `deadlines recount` moves the deadlines in one audited step, once, without taking
again what was already taken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safegrade.errors import DOMAIN_ERRORS, Forbidden, InvalidInput
from safegrade.models import Deadline, Finding, Reminder, table
from safegrade.rules import Rules
from safegrade.services.actors import add_actor, ensure_system_actor
from safegrade.services.auditing import verify_audit
from safegrade.services.calendar import check_calendar, recount_deadlines, show_calendar
from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import show_enterprise, timeline
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.plan import plan_deadlines
from safegrade.services.reporting.oversight import oversight_flags
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import CAMPAIGN, DEDUCTIONS, assess, plain, row, write_ledger
from tests.safegrade.services.calendar_world import Contexts, load_2027

DEADLINE, FINDING, REMINDER = table(Deadline), table(Finding), table(Reminder)


@pytest.fixture
def sqlite_url(db_url: str) -> str:
    return db_url  # both backends


@pytest.fixture
def ctxs(sqlite_url: str, tmp_path: Path, clock, rules: Rules) -> Iterator[Contexts]:
    found = Contexts(sqlite_url, tmp_path, clock, rules)
    yield found
    found.close()


@pytest.fixture
def rules_2027(tmp_path: Path) -> Rules:
    return load_2027(tmp_path)


@pytest.fixture
def codes(ctxs: Contexts, tmp_path: Path, clock) -> list[str]:
    """December 2026: a bureau, a 武清 officer, two enterprises graded until 2028, a campaign open to year end."""
    clock.set(at("2026-11-02 09:00"))
    ctx = ctxs.make()
    ensure_system_actor(ctx)
    add_actor(ctx, "boss", "bureau")
    boss = ctxs.make("boss")
    add_actor(boss, "wq", "district", district="武清")
    rows = [row(i, graded_on="2025-12-31", valid_until="2028-12-31") for i in (1, 2)]
    import_ledger(boss, [write_ledger(tmp_path / "ledger-2026.csv", rows)])
    open_campaign(boss, CAMPAIGN, date(2026, 11, 2), date(2026, 12, 31), all_=True)
    return [r["统一社会信用代码"] for r in rows]


def finding_deadline(ctxs: Contexts) -> dict:
    with ctxs.store.read() as session:
        return dict(session.execute(select(DEADLINE).where(DEADLINE.c.kind == "finding")).mappings().one())


def count(ctxs: Contexts, t) -> int:
    with ctxs.store.read() as session:
        return int(session.execute(select(func.count()).select_from(t)).scalar_one())


def state(ctxs: Contexts, code: str) -> str:
    return plain(show_enterprise(ctxs.make(), code))["state"]


def sweep(ctxs: Contexts, clock, day: str, **kw):
    clock.set(at(day if " " in day else f"{day} 08:00"))
    return sweep_deadlines(ctxs.make("system", source="flow", **kw))


def test_a_year_without_a_schedule_is_refused_for_counting_and_nothing_is_recorded(ctxs, codes, tmp_path, clock):
    with pytest.raises(InvalidInput) as caught:
        assess(ctxs.maker(), tmp_path, clock, codes[0], DEDUCTIONS, on="2026-12-21")
    assert caught.value.code == "no_holiday_schedule"
    assert "2027" in str(caught.value)
    assert "rules/holidays.yaml" in str(caught.value)
    assert count(ctxs, FINDING) == 0
    assert state(ctxs, codes[0]) == "assessing"


def test_a_january_finding_moves_past_the_holiday_in_one_audited_idempotent_recount(ctxs, codes, tmp_path, clock,
                                                                                   rules_2027):
    fallback = ctxs.maker(fallback=True)
    assess(fallback, tmp_path, clock, codes[0], DEDUCTIONS, on="2026-12-21")  # Monday; 20 working days
    d = finding_deadline(ctxs)
    assert (d["due_on"], d["counted_from"], d["working_days"], d["fallback_years"]) == (
        date(2027, 1, 18), date(2026, 12, 21), 20, "2027")  # Monday–Friday: New Year's Day counted as working
    checked = check_calendar(ctxs.make())
    assert [(x.subject, x.fallback_years) for x in checked.deadlines if x.fallback_years] == [(d["subject"], "2027")]
    # the grades' validity ends in 2028: a date given as such, listed, not counted in working days
    assert {x.kind for x in checked.deadlines if not x.fallback_years} == {"validity"}
    assert checked.uncovered_years == [2027, 2028]
    assert checked.to_recount == 0

    flagged = [f for f in oversight_flags(ctxs.make(), CAMPAIGN) if f["kind"] == "counted_on_weekday_fallback"]
    assert [f["enterprises"][0]["credit_code"] for f in flagged] == [codes[0]]
    assert "2027-01-18" in flagged[0]["detail"]
    assert flagged[0]["events"]  # the record_assessment that set it

    assert sweep(ctxs, clock, "2027-01-11", fallback=True).reminders  # the "-7" reminder of 2027-01-18, queued
    queued = count(ctxs, REMINDER)

    # the bureau adds 2027 to rules/holidays.yaml: the plan shows the recount first, and plans on it
    new = ctxs.maker(rules=rules_2027)
    assert check_calendar(new()).to_recount == 1
    plan = plan_deadlines(new(), date(2027, 1, 11), date(2027, 1, 31))
    assert [(c.subject, c.due_on_before, c.due_on_after, c.fallback_years_after) for c in plan.recount] == [
        (d["subject"], date(2027, 1, 18), date(2027, 1, 19), None)]
    planned = [(i.on, i.step) for day in plan.days for i in day.items if i.subject == d["subject"]]
    assert (date(2027, 1, 16), "-3") in planned
    assert (date(2027, 1, 19), "0") in planned
    assert finding_deadline(ctxs)["due_on"] == date(2027, 1, 18)  # the plan changed nothing

    with pytest.raises(Forbidden):
        recount_deadlines(new("wq"))
    dry = recount_deadlines(new("boss"), dry_run=True)
    assert (dry.changed, dry.changes[0].audit, finding_deadline(ctxs)["due_on"]) == (1, None, date(2027, 1, 18))
    clock.set(at("2027-01-11 10:00"))
    done = recount_deadlines(new("boss"))
    assert (done.checked, done.changed, done.still_fallback) == (1, 1, 0)
    change = done.changes[0]
    assert (change.due_on_before, change.due_on_after, change.credit_code) == (date(2027, 1, 18),
                                                                                date(2027, 1, 19), codes[0])
    assert change.audit is not None
    after = finding_deadline(ctxs)
    assert (after["due_on"], after["fallback_years"], after["done_through"]) == (date(2027, 1, 19), None,
                                                                                 date(2027, 1, 11))
    with ctxs.store.read() as session:
        assert session.execute(select(FINDING.c.due_on)).scalar_one() == date(2027, 1, 19)
        superseded = session.execute(select(REMINDER.c.status).where(REMINDER.c.due_on == date(2027, 1, 18))).scalars()
        assert set(superseded) == {"superseded"}  # queued for the old date, never sent
    events = [e for e in timeline(new(), codes[0]) if e.event == "deadline_recounted"]
    assert len(events) == 1
    assert events[0].actor == "boss"
    assert "2027-01-18 → 2027-01-19" in events[0].reason
    assert verify_audit(new()).ok

    assert [f for f in oversight_flags(new(), CAMPAIGN) if f["kind"] == "counted_on_weekday_fallback"] == []

    again = recount_deadlines(new("boss"))
    assert (again.changed, again.checked) == (0, 0)
    assert len([e for e in timeline(new(), codes[0]) if e.event == "deadline_recounted"]) == 1
    assert sweep(ctxs, clock, "2027-01-11 12:00", rules=rules_2027).reminders == 0  # that day was taken already
    assert count(ctxs, REMINDER) == queued


def test_an_escalation_already_fired_is_not_fired_again(ctxs, codes, tmp_path, clock, rules_2027):
    """Due 2026-12-29; its escalation 5 working days later was counted Monday–Friday into 2027 (Jan 5, with
    New Year's Day as a working day); the schedule says Jan 6. Fired on Jan 5, it stays fired."""
    fallback = ctxs.maker(fallback=True)
    assess(fallback, tmp_path, clock, codes[0], DEDUCTIONS, on="2026-12-01")
    d = finding_deadline(ctxs)
    assert (d["due_on"], d["fallback_years"]) == (date(2026, 12, 29), "2027")
    assert sweep(ctxs, clock, "2027-01-05", fallback=True).escalations == 1
    assert state(ctxs, codes[0]) == "interview"
    new = ctxs.maker(rules=rules_2027)
    clock.set(at("2027-01-05 12:00"))
    done = recount_deadlines(new("boss"))
    assert {c.kind for c in done.changes} >= {"finding"}
    finding = next(c for c in done.changes if c.kind == "finding")
    assert (finding.due_on_before, finding.due_on_after, finding.fallback_years_after) == (
        date(2026, 12, 29), date(2026, 12, 29), None)
    assert finding_deadline(ctxs)["escalation"] == "fired"
    assert sweep(ctxs, clock, "2027-01-06", rules=rules_2027).escalations == 0
    assert state(ctxs, codes[0]) == "interview"
    assert verify_audit(new()).ok


def test_calendar_show_marks_holidays_make_up_days_and_the_source(rules_2027, ctxs):
    feb = show_calendar(ctxs.make(), 2026, 2)
    kinds = {d.date: d.kind for d in feb.months[0].days}
    assert kinds[date(2026, 2, 14)] == kinds[date(2026, 2, 28)] == "makeup"
    assert kinds[date(2026, 2, 16)] == "holiday"
    assert kinds[date(2026, 2, 7)] == "weekend"
    assert (feb.covered_by, feb.working_days, feb.makeup_days) == ("rules/holidays.yaml", 16, 2)
    assert show_calendar(ctxs.make(), 2027).weekday_fallback
    year = show_calendar(ctxs.make(rules=rules_2027), 2027)
    assert not year.weekday_fallback
    assert "TEST FIXTURE" in (year.source or "")
    with pytest.raises(InvalidInput):
        show_calendar(ctxs.make(), 2027, 13)


def test_a_publicity_period_recounted_moves_the_enterprises_tracked_date(ctxs, codes, clock, rules_2027):
    """A revocation proposed on Monday 2026-12-28: 5 working days end on 2027-01-04 Monday–Friday (New Year's
    Day counted), on 2027-01-05 by the schedule; the enterprise's publicity_ends_on follows, replayed by its
    audit chain, and revoke waits for the new date."""
    clock.set(at("2026-12-28 10:00"))
    fire_event(ctxs.make("wq", fallback=True), codes[1], "propose_revocation", reason="群众举报：企业已迁址",
               data={"revocation_reason": "relocated", "revocation_source": "complaint"})
    assert plain(show_enterprise(ctxs.make(), codes[1]))["publicity_ends_on"] == date(2027, 1, 4)
    clock.set(at("2027-01-04 09:00"))
    new = ctxs.maker(rules=rules_2027)
    done = recount_deadlines(new("boss"))
    assert [(c.kind, c.due_on_before, c.due_on_after) for c in done.changes] == [
        ("publicity", date(2027, 1, 4), date(2027, 1, 5))]
    assert plain(show_enterprise(new(), codes[1]))["publicity_ends_on"] == date(2027, 1, 5)
    assert verify_audit(new()).ok
    clock.set(at("2027-01-05 09:00"))
    with pytest.raises(DOMAIN_ERRORS, match="2027-01-05"):
        fire_event(new("wq"), codes[1], "revoke", reason="公示期满无异议")
    clock.set(at("2027-01-06 09:00"))
    fire_event(new("wq"), codes[1], "revoke", reason="公示期满无异议")
    assert state(ctxs, codes[1]) == "revoked"
