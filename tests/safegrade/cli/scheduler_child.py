"""`safegrade …` in its own process with the services' JOBS table replaced by one blocking job, for the test
of a clean stop on SIGTERM and Ctrl-C:

    python -m tests.safegrade.cli.scheduler_child scheduler run

The job, on the daily crontab, writes `started` into $SG_SCHEDULER_TEST_DIR, waits (polling, at most 60 s)
for a `release` file there, then writes `finished`. Only the standard library and safegrade are imported.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from safegrade.cli import main
from safegrade.services import jobs
from safegrade.services.context import Context


def block(ctx: Context, _source: str) -> dict[str, Any]:
    folder = Path(os.environ["SG_SCHEDULER_TEST_DIR"])
    (folder / "started").write_text(ctx.now().isoformat(), encoding="utf-8")
    pause = threading.Event()
    for _ in range(6000):
        if (folder / "release").exists():
            break
        pause.wait(0.01)
    else:
        raise TimeoutError("never released")
    (folder / "finished").write_text("done", encoding="utf-8")
    return {"blocked": 1}


if __name__ == "__main__":
    jobs.JOBS = (jobs.JobSpec("blocking", "daily_sweep", block, "safegrade-test-blocking", "blocks until released"),)
    sys.exit(main(sys.argv[1:]))
