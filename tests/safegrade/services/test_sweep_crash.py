"""The deadline sweep killed (SIGKILL) at random points, many times, then run to the end: every due escalation
applied exactly once, no reminder lost or doubled, no deadline left due, the audit trail intact.

A world of 2,000 enterprises (tests/safegrade/services/sweep_world.py: ~3,100 deadlines due, ~48,000 messages,
1,700 escalations) is swept in child processes with batches of 50. Each child is killed after it has
committed 0–2 batches and a random moment more (seeded; up to two or three batches' time), so kills land
anywhere inside a batch or between two.
After every kill the partial result must be whole batches: a deadline the sweep moved on has all its messages
and its escalation, one it did not has none. Then a clean run finishes, and the outcome must be what the
timetable says one sweep does.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from safegrade.domain import timetable
from safegrade.services.auditing import verify_audit
from tests.safegrade.services.sweep_runner import Sweeper
from tests.safegrade.services.sweep_world import (
    SWEEP_DAY,
    build_sweep_world,
    deadline_states,
    due_deadlines,
    escalation_deadlines,
    expected_escalations,
    expected_messages,
    group_escalations,
    outbox_counts,
    outbox_rows,
    outbox_status,
    still_due,
    system_events,
    taken,
)

pytestmark = pytest.mark.slow

ENTERPRISES = 2_000
BATCH = 50
KILLS = {"sqlite": 18, "postgresql": 4}
SEED = 20230908
PAUSE = 0.12  # seconds: the random moment after the last line spans two or three batches (~50 ms each here)


class Plan:
    """What one sweep of the world must do, taken before any sweep runs."""

    def __init__(self, ctx):
        self.due = due_deadlines(ctx)
        self.messages = expected_messages(ctx, self.due)
        self.escalating = escalation_deadlines(ctx, self.due)
        self.events = {code: event for code, event in expected_escalations(ctx, self.due)}

    def check_whole_batches(self, ctx) -> int:
        """What is in the database is whole deadlines: each one taken has all its messages and its enterprise's
        escalation, each one not taken has none. Returns how many were taken."""
        done = taken(ctx, [d["id"] for d in self.due])
        want = {k: v for i in done for k, v in self.messages.get(i, {}).items()}
        assert outbox_status(ctx) == want
        assert outbox_rows(ctx) == len(want)
        fired = Counter({(code, self.events[code]): 1 for code, ids in self.escalating.items() if done & set(ids)})
        assert system_events(ctx) == fired
        return len(done)


def kill_many_times(url: str, logs: Path, rng: random.Random, kills: int, plan: Plan, ctx) -> list[int]:
    """Start the sweep, let it commit 0–2 batches, wait a random moment (into the next batch, or between two),
    SIGKILL it; `kills` times, or until little is left. How many deadlines were taken after each kill."""
    progress = []
    for k in range(kills):
        if still_due(ctx) < 6 * BATCH:
            break  # leave the end to the clean run: every kill here lands in a sweep still running
        child = Sweeper(url, logs / f"killed-{k}.log", batch=BATCH)
        assert child.expect("ready") is not None, child.stderr()
        for _ in range(rng.randint(0, 2)):
            assert child.expect("committed") is not None, child.stderr()
        time.sleep(rng.uniform(0, PAUSE))  # where the kill lands, not an assertion
        assert child.kill(), "the sweep had already finished: the kill tested nothing"
        progress.append(plan.check_whole_batches(ctx))
    return progress


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def test_a_sweep_killed_many_times_then_finished_takes_every_action_exactly_once(make_ctx, tmp_path, clock, request,
                                                                                 backend):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    world = build_sweep_world(make_ctx, tmp_path, clock, ENTERPRISES, url=url)
    ctx = make_ctx(url=url)
    plan = Plan(ctx)
    expected = {k: v for messages in plan.messages.values() for k, v in messages.items()}
    assert Counter({(c, e): 1 for c, e in plan.events.items()}) == group_escalations(world)
    assert len(plan.due) > 3_000
    assert len(expected) > 40_000
    assert len(plan.events) == 1_700

    progress = kill_many_times(url, tmp_path, random.Random(SEED), KILLS[backend], plan, ctx)
    assert len(progress) >= KILLS[backend] // 2  # each kill landed in a running sweep (asserted as it was made)
    # killed runs kept what they committed
    assert progress == sorted(progress)
    assert 0 < progress[-1] < len(plan.due)
    final = Sweeper(url, tmp_path / "final.log", batch=BATCH).finish()
    assert final["deadlines"] == len(plan.due) - progress[-1]

    assert plan.check_whole_batches(ctx) == len(plan.due)
    assert outbox_counts(ctx) == Counter(dict.fromkeys(expected, 1))  # no reminder lost or doubled
    assert outbox_status(ctx) == expected
    assert system_events(ctx) == Counter({(c, e): 1 for c, e in plan.events.items()})  # each escalation once
    assert still_due(ctx) == 0
    states = deadline_states(ctx)
    for d in plan.due:  # each deadline moved on as the timetable says, its escalation taken once, today
        status, done_through, next_on, escalation, escalated_on, due_on = states[(d["kind"], d["subject"])]
        kind = ctx.rules.deadlines.kind(d["kind"])
        assert done_through == SWEEP_DAY
        assert next_on == timetable.next_on(kind, due_on, SWEEP_DAY, escalated=escalation is not None)
        if kind.escalate is not None and kind.escalate.on(due_on) <= SWEEP_DAY:
            assert escalation in ("fired", "skipped", "noticed")
            assert escalated_on == SWEEP_DAY
    assert verify_audit(ctx).ok
