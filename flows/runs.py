"""What every scheduled job shares: the system actor's context (its engine disposed when the run ends,
so a scheduler running for months holds no engine per run), and the `sweep_run` record of each run,
written also when the run fails."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from safegrade.services.actors import SYSTEM_ACTOR
from safegrade.services.context import Context, open_context
from safegrade.services.sweep import record_run
from safegrade.settings import Settings


@contextmanager
def system_context(settings: Settings, as_of: datetime | None, **kw: Any) -> Iterator[Context]:
    """The system actor (role system, source flow); `as_of` None means the wall clock. An engine opened
    here is disposed on leaving; a store passed in (`store=`) is the caller's."""
    ctx = open_context(settings, as_of=as_of, actor=SYSTEM_ACTOR, source="flow", **kw)
    try:
        yield ctx
    finally:
        if "store" not in kw:
            ctx.store.engine.dispose()


def recorded(job: str, ctx: Context, source: str, work: Callable[[], dict[str, Any]], *,
             started: datetime | None = None) -> dict[str, Any]:
    """Run one job and write it down in sweep_run, also when it fails (then re-raise). `started`: when
    the run began by the caller's clock (default: the context's)."""
    as_of, started = ctx.now(), started or ctx.clock.now()
    try:
        result = work()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        record_run(ctx, job, as_of, started, source, {}, error)
        raise
    record_run(ctx, job, as_of, started, source, {k: int(v) for k, v in result.items() if isinstance(v, int)})
    return result
