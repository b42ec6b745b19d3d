"""`safegrade scheduler run|jobs`: the listing, --once, refusals, and a clean stop on SIGTERM and Ctrl-C
in a real process whose job blocks on a file the test controls (polled with a timeout, never slept)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from safegrade.services import jobs
from safegrade.services.context import Context
from safegrade.settings import PROJECT_ROOT

RUNS: list[tuple[str, datetime]] = []


def _tick(ctx: Context, _source: str) -> dict[str, Any]:
    RUNS.append(("tick", ctx.now()))
    return {"ticked": 1}


def _broken(ctx: Context, _source: str) -> dict[str, Any]:
    RUNS.append(("broken", ctx.now()))
    raise RuntimeError("database unreachable")


@pytest.fixture
def fake_jobs(monkeypatch):
    """The services' JOBS table replaced: a failing job on the daily crontab, one that ticks every 15 minutes."""
    monkeypatch.setattr(jobs, "JOBS", (jobs.JobSpec("broken", "daily_sweep", _broken, "test-broken", "fails"),
                                       jobs.JobSpec("tick", "reminder_retry", _tick, "test-tick", "ticks")))
    RUNS.clear()


def poll(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Wait for `condition` to hold, checking every 10 ms, for at most `timeout` seconds."""
    pause = threading.Event()
    for _ in range(int(timeout * 100)):
        if condition():
            return True
        pause.wait(0.01)
    return condition()


def test_jobs_lists_each_job_with_its_crontab_zone_next_and_last_run(cli):
    assert cli("init")[0] == 0
    code, out, err = cli("--as-of", "2023-06-01 09:00", "scheduler", "jobs")
    assert code == 0, err
    for expected in ("daily", "0 8 * * *", "reminder_retry", "*/15 * * * *", "nightly_audit", "30 2 * * *",
                     "Asia/Shanghai", "2023-06-01 09:00+08:00", "never ran: runs at start"):
        assert expected in out

    code, out, err = cli("--as-of", "2023-06-01 09:00", "scheduler", "run", "--once")
    assert code == 0, err
    assert "daily as of 2023-06-01T09:00:00+08:00: ok" in out
    assert "nightly_audit as of" in out

    code, out, err = cli("--json", "--as-of", "2023-06-01 09:10", "scheduler", "jobs")
    assert code == 0, err
    rows = {r["job"]: r for r in json.loads(out)}
    assert {k: rows["daily"][k] for k in ("last_run", "catch_up", "next_run")} == {
        "last_run": "2023-06-01 09:00+08:00", "catch_up": False, "next_run": "2023-06-02 08:00+08:00"}
    assert (rows["reminder_retry"]["recorded_as"], rows["reminder_retry"]["next_run"]) == (
        "send_reminders", "2023-06-01 09:15+08:00")
    assert rows["nightly_audit"]["next_run"] == "2023-06-02 02:30+08:00"

    code, out, _ = cli("--json", "--as-of", "2023-06-03 09:10", "scheduler", "jobs")
    rows = {r["job"]: r for r in json.loads(out)}
    assert rows["daily"]["catch_up"]
    assert rows["daily"]["next_run"] == "2023-06-03 09:10+08:00"
    assert rows["daily"]["note"] == "missed 2023-06-02 08:00+08:00: runs once at start"


@pytest.mark.usefixtures("fake_jobs")
def test_once_runs_every_job_and_exits_1_naming_the_one_that_failed(cli):
    assert cli("init")[0] == 0
    code, out, err = cli("--as-of", "2023-06-01 09:00", "scheduler", "run", "--once")
    assert code == 1
    assert "tick as of 2023-06-01T09:00:00+08:00: ok ticked=1" in out
    assert "safegrade: error: broken as of 2023-06-01T09:00:00+08:00 failed: RuntimeError: database unreachable" in err
    assert [name for name, _ in RUNS] == ["broken", "tick"]  # the failure did not stop the next job


@pytest.mark.parametrize(("args", "says"), [
    (("--as-of", "2023-06-01", "scheduler", "run"), "--as-of: the running scheduler follows the wall clock"),
])
def test_refusals_are_one_line_and_exit_1(cli, args, says):
    assert cli("init")[0] == 0
    code, _, err = cli(*args)
    assert code == 1
    assert says in err


def test_the_scheduler_needs_an_initialised_database(cli):
    code, _, err = cli("scheduler", "run", "--once")
    assert code == 1
    assert "safegrade init" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_lets_the_running_job_finish_then_the_scheduler_exits_0(cli, tmp_path, sig):
    assert cli("init")[0] == 0
    env = {**os.environ, "SAFEGRADE_DB_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SG_SCHEDULER_TEST_DIR": str(tmp_path),
           "PYTHONPATH": str(PROJECT_ROOT), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_file.open("w") as out, err_file.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tests.safegrade.cli.scheduler_child", "scheduler", "run"],
                                cwd=tmp_path, env=env, stdout=out, stderr=err)
        try:
            assert poll(lambda: (tmp_path / "started").exists() or proc.poll() is not None)
            assert proc.poll() is None, err_file.read_text()
            proc.send_signal(sig)
            assert poll(lambda: "no new runs" in err_file.read_text() or proc.poll() is not None)
            assert proc.poll() is None, "exited while its job was still running"
            (tmp_path / "release").touch()
            assert proc.wait(timeout=60) == 0, err_file.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert (tmp_path / "finished").read_text() == "done"
    stdout, stderr = out_file.read_text(), err_file.read_text()
    assert "blocking" in stdout
    assert "0 8 * * *" in stdout
    assert "Asia/Shanghai" in stdout
    assert "never ran: runs at start" in stdout
    assert f"{sig.name}: no new runs; waiting for running jobs to finish" in stderr
    assert "blocking as of" in stderr
    assert "done: {'blocked': 1}" in stderr
    assert "scheduler stopped" in stderr
