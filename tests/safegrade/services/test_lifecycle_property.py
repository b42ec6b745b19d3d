"""Random events by random actors with a moving clock. Whatever happens: one audit event per accepted
transition, final states stay final, audit times never go back, the trail verifies, and replaying it
gives today's rows."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from safegrade.clock import TestClock
from safegrade.errors import DOMAIN_ERRORS
from safegrade.models import AuditEvent
from safegrade.rules import load_rules
from safegrade.services.auditing import verify_audit
from safegrade.services.context import open_context
from safegrade.services.enterprise import list_enterprises, timeline
from safegrade.services.lifecycle import fire_event
from safegrade.store import Store, make_engine
from tests.conftest import RULES_DIR, at, settings_for
from tests.factories import build_world, plain

# random walks run years past the calendar's coverage; the fallback and its warning are tested in test_workday
pytestmark = pytest.mark.filterwarnings("ignore::safegrade.domain.workday.WorkdayCalendarWarning")
RULES = load_rules(RULES_DIR)
EVENTS = sorted(RULES.lifecycle.events)
FINAL = set(RULES.lifecycle.final_states)


def data_for(event: str, today: date, draw_int: int) -> dict[str, object]:
    """Plausible fields for an event (sometimes the guards will still refuse)."""
    reasons, sources = sorted(RULES.revocation_reasons), sorted(RULES.revocation_sources)
    return {
        "record_assessment": {"result": "优良差"[draw_int % 3], "findings": draw_int % 4,
                              "major_hazards": int(draw_int % 5 == 0)},
        "hold_interview": {"attendees": "法定代表人", "record": "约谈记录"},
        "propose_revocation": {"revocation_reason": reasons[draw_int % len(reasons)],
                               "revocation_source": sources[draw_int % len(sources)]},
        "withdraw_revocation": {"objection": "异议成立"},
        "renew": {"valid_until": today + timedelta(days=365 * 3), "certificate_no": f"N{draw_int}"},
    }.get(event, {})


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="sg-prop-"))
        self.clock = TestClock(at("2023-06-01 09:00"))
        url = f"sqlite:///{self.tmp / 'p.db'}"
        self.store = Store(make_engine(url, sqlite_synchronous="normal"))
        self.store.migrate()
        settings_ = settings_for(url, self.tmp)
        # make_ctx's signature (build_world passes url=); the machine has the one database
        self.make = lambda actor=None, url=None: open_context(  # noqa: ARG005
            settings_, actor=actor, clock=self.clock, store=self.store, rules=RULES)
        self.accepted = 0
        self.finished: dict[str, str] = {}

    @initialize()
    def world(self) -> None:
        self.world_ = build_world(self.make, self.tmp, per_district=2)
        self.registered = len(self.world_.all)

    @rule(hours=st.integers(min_value=0, max_value=24 * 20))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule(days=st.integers(min_value=180, max_value=900))
    def years_pass(self, days: int) -> None:
        """Long enough for grades to reach the end of their validity."""
        self.clock.advance(days=days)

    @precondition(lambda self: hasattr(self, "world_"))
    @rule(who=st.sampled_from(["boss", "wq", "hx", "rev", "system"]), which=st.integers(0, 3),
          event=st.sampled_from(EVENTS), n=st.integers(0, 1000))
    def fire_anything(self, who: str, which: int, event: str, n: int) -> None:
        """Any event by anyone: mostly refusals, which must change nothing."""
        self._fire(who, self.world_.all[which], event, n)

    @precondition(lambda self: hasattr(self, "world_"))
    @rule(which=st.integers(0, 3), pick=st.integers(0, 20), n=st.integers(0, 1000))
    def fire_allowed(self, which: int, pick: int, n: int) -> None:
        """An event the current state allows, by the district officer in charge: walks deep into the lifecycle."""
        code = self.world_.all[which]
        state = {e["credit_code"]: e["state"] for e in plain(list_enterprises(self.make()))}[code]
        allowed = RULES.machine.allowed_events(state)
        if pick % 8:  # ending the record (exclude) is allowed almost everywhere; keep it rare
            allowed = tuple(e for e in allowed if e != "exclude")
        if allowed:
            self._fire("wq" if code in self.world_.wuqing else "hx", code, allowed[pick % len(allowed)], n)

    def _fire(self, who: str, code: str, event: str, n: int) -> None:
        ctx = self.make(who)
        try:
            fired = fire_event(ctx, code, event, reason=f"random {event}",
                               data=data_for(event, ctx.now().date(), n), via_service=True)
        except DOMAIN_ERRORS:
            return
        hypothesis_event(f"accepted {event}")
        assert code not in self.finished, f"{code} left final state {self.finished.get(code)}"
        self.accepted += 1
        if fired.to_state in FINAL:
            self.finished[code] = fired.to_state

    @precondition(lambda self: hasattr(self, "world_"))
    @invariant()
    def one_audit_event_per_accepted_transition(self) -> None:
        with self.store.read() as s:
            count = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        assert count == self.registered + self.accepted

    @precondition(lambda self: hasattr(self, "world_"))
    @invariant()
    def final_states_stay_final(self) -> None:
        states = {e["credit_code"]: e["state"] for e in plain(list_enterprises(self.make()))}
        for code, state in self.finished.items():
            assert states[code] == state

    def teardown(self) -> None:
        if hasattr(self, "world_"):
            ctx = self.make()
            report = verify_audit(ctx)  # chains, heads, and replay == the rows
            assert report.ok, report.breaks
            for code in self.world_.all:
                times = [e["at"] for e in plain(timeline(ctx, code))]
                assert times == sorted(times), f"audit time went back for {code}"
        self.store.engine.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)


Lifecycle.TestCase.settings = settings(max_examples=30, stateful_step_count=40, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
TestLifecycle = Lifecycle.TestCase
