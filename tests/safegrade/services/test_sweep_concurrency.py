"""Two deadline sweeps at once, in two processes with their own engines, on SQLite (one writer at a time,
BEGIN IMMEDIATE) and on PostgreSQL (deadlines claimed FOR UPDATE SKIP LOCKED, the batch's enterprises read
FOR UPDATE, escalations by version compare-and-set): each reminder is queued once, each escalation fired once,
and together they do exactly what one sweep does — the outbox equals the set computed from the timetable;
sweeping again does nothing more.

The world (tests/safegrade/services/sweep_world.py) gives many enterprises three overdue findings, whose deadlines the
two sweepers claim in different batches: on PostgreSQL, with the enterprises read without a lock, the second
sweeper judged the state it had read before the first one committed and escalated the enterprise a second time
(约谈 → 撤销公示); with batches of 10 this test caught that in five runs out of five."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from dataclasses import replace

import pytest

from safegrade.audit import trail
from safegrade.services.auditing import verify_audit
from safegrade.services.lifecycle import FireRequest, fire_many
from safegrade.services.sweep import sweep_deadlines
from safegrade.settings import AuditSettings
from tests.factories import build_world, race
from tests.safegrade.services.sweep_runner import sweep_together
from tests.safegrade.services.sweep_world import (
    build_sweep_world,
    deadline_states,
    due_deadlines,
    events_total,
    expected_escalations,
    expected_outbox,
    group_escalations,
    outbox_counts,
    outbox_status,
    still_due,
    sweep_instant,
    system_events,
)

ENTERPRISES = 300
BATCH = 10  # small batches: the two sweepers interleave often, and an enterprise's deadlines fall in both


def snapshot(ctx):
    """Everything a sweep writes: outbox rows per key and their status, deadlines, the system's audit events."""
    return outbox_counts(ctx), outbox_status(ctx), deadline_states(ctx), system_events(ctx), events_total(ctx)


def test_two_sweepers_in_two_processes_take_every_action_exactly_once(make_ctx, tmp_path, clock, db_url):
    world = build_sweep_world(make_ctx, tmp_path, clock, ENTERPRISES, url=db_url)
    ctx = make_ctx(url=db_url)
    due = due_deadlines(ctx)
    expected = expected_outbox(ctx, due)
    escalations = expected_escalations(ctx, due)
    assert escalations == group_escalations(world)  # the world is the one the module describes
    assert len(due) > ENTERPRISES
    assert len(expected) > 10 * ENTERPRISES
    events_before = events_total(ctx)

    reports = sweep_together(db_url, tmp_path, n=2, batch=BATCH)

    assert outbox_counts(ctx) == Counter(dict.fromkeys(expected, 1))
    assert outbox_status(ctx) == expected  # of the steps due together, only the latest is to be sent
    assert system_events(ctx) == escalations  # escalate / propose_revocation / expire: once per enterprise
    assert events_total(ctx) == events_before + sum(escalations.values())
    assert still_due(ctx) == 0
    # the sweepers' own counts: no message or event was even attempted twice (the unique key is the last guard)
    assert sum(r["reminders"] + r["superseded"] for r in reports) == len(expected)
    assert sum(r["escalations"] for r in reports) == sum(escalations.values())
    assert sum(r["deadlines"] for r in reports) == len(due)
    assert verify_audit(ctx).ok


def test_sweeping_again_twice_and_three_times_after_two_at_once_does_nothing_more(make_ctx, tmp_path, clock,
                                                                                   db_url):
    build_sweep_world(make_ctx, tmp_path, clock, ENTERPRISES // 3, url=db_url)
    sweep_together(db_url, tmp_path, n=2, batch=BATCH)
    ctx = make_ctx(url=db_url)
    after = snapshot(ctx)
    again = sweep_together(db_url, tmp_path, n=2, batch=BATCH)  # two at once again
    assert [(r["deadlines"], r["reminders"], r["superseded"], r["escalations"]) for r in again] == [(0, 0, 0, 0)] * 2
    clock.set(sweep_instant())
    for _ in range(2):  # and twice more, in this process
        report = sweep_deadlines(make_ctx("system", url=db_url, source="flow"))
        assert (report.deadlines, report.reminders, report.superseded, report.escalations) == (0, 0, 0, 0)
    assert snapshot(ctx) == after
    assert verify_audit(ctx).ok


def test_two_sweepers_at_once_leave_what_one_sweep_leaves_on_a_copy(make_ctx, tmp_path, clock, sqlite_url):
    """SQLite: the database is copied before the sweeps; one sweep on the copy, two at once on the original."""
    build_sweep_world(make_ctx, tmp_path, clock, ENTERPRISES // 3)
    original = tmp_path / "safegrade.db"
    make_ctx().store.engine.dispose()  # the WAL folded into the file before it is copied
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / "safegrade.db"
    shutil.copyfile(original, copy)
    assert not (tmp_path / "safegrade.db-wal").exists() or (tmp_path / "safegrade.db-wal").stat().st_size == 0
    copy_url = f"sqlite:///{copy}"
    clock.set(sweep_instant())
    single = sweep_deadlines(make_ctx("system", url=copy_url, source="flow"))
    reports = sweep_together(sqlite_url, tmp_path, n=2, batch=BATCH)
    assert single.escalations == sum(r["escalations"] for r in reports) > 0
    assert single.reminders == sum(r["reminders"] for r in reports) > 0
    assert single.superseded == sum(r["superseded"] for r in reports) > 0
    ctx, one = make_ctx(url=sqlite_url), make_ctx(url=copy_url)
    assert outbox_status(ctx) == outbox_status(one)
    assert system_events(ctx) == system_events(one)
    # deadlines: the same status, next day, escalation outcome (notes differ: they name the batch's other rows)
    assert deadline_states(ctx) == deadline_states(one)


def test_two_sweepers_checkpointing_the_audit_trail_at_once_keep_it_verifiable(make_ctx, tmp_path, clock, db_url):
    """A batch that fires more than one event takes an audit checkpoint once enough events have accumulated;
    with a low threshold (25) both sweepers checkpoint often, in overlapping transactions."""
    build_sweep_world(make_ctx, tmp_path, clock, ENTERPRISES // 2, url=db_url)
    sweep_together(db_url, tmp_path, n=2, batch=BATCH, checkpoint_every=25)
    clock.set(sweep_instant())  # verified as of the sweep (a read answers for its context's now)
    ctx = make_ctx(url=db_url)
    report = verify_audit(ctx)
    assert report.checkpoints > 1
    assert report.ok, report.breaks[:3]


@pytest.mark.pg
@pytest.mark.usefixtures("clock")
def test_two_batches_checkpointing_at_once_on_postgresql_keep_one_checkpoint_chain(make_ctx, tmp_path, pg_url,
                                                                                  monkeypatch):
    """The same, made certain: two batches of events (as two sweepers' batches) meet just before their
    checkpoints, so both read the same last checkpoint before either commits."""
    world = build_world(make_ctx, tmp_path, per_district=2, url=pg_url)
    barrier = threading.Barrier(2, timeout=30)
    real_checkpoint = trail.checkpoint

    def meet_then_checkpoint(session, at, actor):
        barrier.wait()
        return real_checkpoint(session, at, actor)

    monkeypatch.setattr(trail, "checkpoint", meet_then_checkpoint)
    low = AuditSettings(checkpoint_every_events=1)
    a, b = (replace(c, settings=c.settings.model_copy(update={"audit": low}))
            for c in (make_ctx("wq", url=pg_url), make_ctx("hx", url=pg_url)))
    results = race([lambda: fire_many(a, [FireRequest(code, "summon", "约谈") for code in world.wuqing], strict=True),
                    lambda: fire_many(b, [FireRequest(code, "summon", "约谈") for code in world.hexi], strict=True)])
    assert not [r for r in results if isinstance(r, Exception)], results
    report = verify_audit(make_ctx(url=pg_url))
    # the advisory lock makes the second wait and chain to the first; it records a second checkpoint only
    # if its own events got the higher ids (else its chains are checkpointed when they next move)
    assert report.checkpoints in (1, 2)
    assert report.ok, report.breaks
