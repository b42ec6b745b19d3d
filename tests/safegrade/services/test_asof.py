"""services/asof.py: a table read as it stood at the context's now. (Every read compared with a database that
recorded only the history up to then: test_asof_property.py.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from safegrade.audit.trail import CHECKPOINT, CHECKPOINT_HEAD
from safegrade.clock import FixedClock
from safegrade.services.asof import as_of
from safegrade.services.auditing import checkpoint_audit
from safegrade.services.lifecycle import fire_event
from tests.factories import build_world


def test_checkpoint_heads_are_read_with_their_checkpoint_up_to_the_instant(make_ctx, tmp_path, clock, db_url):
    """The heads a checkpoint recorded belong to it: read as of an instant, only those of the checkpoints taken
    by then (they were refused before: "audit_checkpoint_head has no versions and no date")."""
    world = build_world(make_ctx, tmp_path, per_district=1, url=db_url)
    first = checkpoint_audit(make_ctx("boss", url=db_url))
    assert first is not None
    between = clock.advance(hours=1)
    clock.advance(hours=1)
    fire_event(make_ctx("wq", url=db_url), world.wuqing[0], "summon", reason="日常检查发现问题")
    second = checkpoint_audit(make_ctx("boss", url=db_url))
    assert second is not None
    for instant, checkpoints in ((between, [first.id]), (clock.now(), [first.id, second.id]),
                                 (between - timedelta(hours=2), [])):
        ctx = make_ctx(url=db_url)
        ctx.clock = FixedClock(instant)  # the context reads as of `instant`
        with ctx.store.read() as session:
            then = as_of(ctx, session)
            heads, taken = then.table(CHECKPOINT_HEAD), then.table(CHECKPOINT)
            assert sorted(session.execute(select(heads.c.checkpoint_id).distinct()).scalars()) == checkpoints
            assert sorted(session.execute(select(taken.c.id)).scalars()) == checkpoints
            assert then.past == (instant < clock.now())
