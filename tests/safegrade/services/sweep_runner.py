"""The parent's side of tests/safegrade/services/sweep_child.py: start a sweep in its own process, follow the lines it
prints (without blocking the test forever), start several at once, kill one with SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from safegrade.settings import PROJECT_ROOT

TIMEOUT = 180.0  # a guard against a hung child, never a measure: the tests assert on what was written


class Sweeper:
    """A sweep in a child process (`python -m tests.safegrade.services.sweep_child URL …`)."""

    def __init__(self, url: str, log: Path, *, batch: int, wait: bool = False, checkpoint_every: int | None = None):
        args = [sys.executable, "-m", "tests.safegrade.services.sweep_child", url, "--batch", str(batch)]
        if wait:
            args.append("--wait")
        if checkpoint_every:
            args += ["--checkpoint-every", str(checkpoint_every)]
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
        self.log = log
        self._stderr = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.committed = 0
        self.conflicts = 0
        self.most_conflicts_in_a_row = 0
        self._in_a_row = 0
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, prefix: str, timeout: float = TIMEOUT) -> str | None:
        """The next line starting with `prefix` (counting `committed` lines on the way); None if the child
        ended first."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                self.kill()
                raise AssertionError(f"sweep child printed nothing for {timeout} s; stderr: {self.stderr()}") from None
            if line is None:
                return None
            if line == "committed":
                self.committed += 1
                self._in_a_row = 0
            elif line == "conflict":
                self.conflicts += 1
                self._in_a_row += 1
                self.most_conflicts_in_a_row = max(self.most_conflicts_in_a_row, self._in_a_row)
            if line.startswith(prefix):
                return line

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> bool:
        """SIGKILL; True if the sweep was still running (it had not printed `done`)."""
        running = self.proc.poll() is None
        self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        self._close()
        return running

    def finish(self) -> dict[str, int]:
        """Wait for the end of the sweep; its counts (SweepReport.counts)."""
        line = self.expect("done ")
        code = self.proc.wait(timeout=TIMEOUT)
        self._close()
        assert line is not None, f"sweep child failed (exit {code}): {self.stderr()}"
        assert code == 0, f"sweep child failed (exit {code}): {self.stderr()}"
        counts: dict[str, int] = json.loads(line.removeprefix("done "))
        return counts

    def stderr(self) -> str:
        if not self._stderr.closed:  # finish() and kill() close it before they report
            self._stderr.flush()
        return self.log.read_text(encoding="utf-8")[-4000:]

    def _close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        self._stderr.close()


def sweep_together(url: str, logs: Path, *, n: int = 2, batch: int, checkpoint_every: int | None = None
                   ) -> list[dict[str, int]]:
    """n sweepers in n processes, released together once every one has its engine and context open; each
    one's counts, with `most_conflicts_in_a_row` (how close it came to giving up: sweep_deadlines' max_retries)."""
    sweepers = [Sweeper(url, logs / f"sweeper-{i}.log", batch=batch, wait=True, checkpoint_every=checkpoint_every)
                for i in range(n)]
    for s in sweepers:
        assert s.expect("ready") is not None, s.stderr()
    for s in sweepers:
        s.go()
    return [{**s.finish(), "most_conflicts_in_a_row": s.most_conflicts_in_a_row} for s in sweepers]
