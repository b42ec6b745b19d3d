"""One deadline sweep in its own process, for the concurrency and crash tests:

    python -m tests.safegrade.services.sweep_child URL [--as-of ISO] [--batch N] [--wait] [--checkpoint-every N]

It opens its own engine on URL, acts as `system` from a flow, and prints one line per step so the parent can
time its kills on the sweep's own progress rather than on sleeps: `ready` once the context is open (with
--wait it then waits for a line on stdin, so two sweepers start together), `committed` after each committed
write transaction (one per batch, and the last, empty one), `conflict` when one is rolled back on a conflict
(the sweep then redoes the batch), and `done {counts as JSON}` at the end.
Only the standard library and safegrade are imported: no pytest, nothing from the test fixtures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from safegrade.clock import TestClock
from safegrade.errors import Conflict
from safegrade.services.context import open_context
from safegrade.services.sweep import sweep_deadlines
from safegrade.settings import PROJECT_ROOT, load_settings
from safegrade.store import Store, make_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--as-of", default="2023-09-08T08:00:00+08:00")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--checkpoint-every", type=int, default=None)
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"audit": {"checkpoint_every_events": args.checkpoint_every}} \
        if args.checkpoint_every else {}
    settings = load_settings(env={}, database_url=args.url, base_dir=str(Path.cwd()),
                             rules_dir=str(PROJECT_ROOT / "rules"), **overrides)
    store = Store(make_engine(args.url))
    ctx = open_context(settings, actor="system", source="flow", clock=TestClock(datetime.fromisoformat(args.as_of)),
                       store=store)
    ctx.actor()
    write = store.write

    @contextmanager
    def write_and_tell() -> Iterator[Any]:
        try:
            with write() as session:
                yield session
        except Conflict:
            print("conflict", flush=True)  # the sweep redoes the batch
            raise
        print("committed", flush=True)

    store.write = write_and_tell  # type: ignore[method-assign]
    print("ready", flush=True)
    if args.wait:
        sys.stdin.readline()
    report = sweep_deadlines(ctx, batch_size=args.batch)
    print("done " + json.dumps(report.counts()), flush=True)
    store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
