"""The scheduled jobs in the services: the JOBS table, the system context as of a slot, and job_run records
that tell the truth — as of the slot they covered, started and finished by the wall clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest

from safegrade.clock import SystemClock, TestClock
from safegrade.services import jobs
from safegrade.services.jobs import (
    JOBS,
    SlotClock,
    job_named,
    nested_counts,
    recorded,
    run_job,
    system_context,
    top_counts,
    wall_clock,
)
from safegrade.services.runs import last_run, list_runs
from safegrade.settings import PROJECT_ROOT, SchedulerSettings, load_settings
from tests.conftest import at, settings_for
from tests.factories import build_world, plain

SLOT = at("2023-08-14 08:00")


def runs_as_of(make_ctx, clock, instant, **kw):
    """`deadlines runs` read as of `instant`: the runs that covered an instant up to it."""
    clock.set(instant)
    return plain(list_runs(make_ctx(), **kw))


@pytest.fixture
def wall() -> TestClock:
    """The wall clock of these runs: three years after the instants they cover."""
    return TestClock(at("2026-12-03 10:00"))


def test_a_run_as_of_a_slot_in_2023_is_timed_by_the_wall_clock(make_ctx, tmp_path, sqlite_url, wall, clock):
    build_world(make_ctx, tmp_path)
    result = run_job(job_named("deadline_sweep"), settings_for(sqlite_url, tmp_path), SLOT, "scheduler", wall=wall)
    assert runs_as_of(make_ctx, clock, SLOT - timedelta(seconds=1), job="deadline_sweep") == []  # not run yet then
    (run,) = runs_as_of(make_ctx, clock, SLOT, job="deadline_sweep")
    assert (run["as_of"], run["started_at"], run["finished_at"]) == (SLOT, wall.now(), wall.now())
    assert run["finished_at"] >= run["started_at"] > run["as_of"]
    assert run["source"] == "scheduler"
    assert run["counts"]["deadlines"] == result["deadlines"]
    assert last_run(make_ctx(), "deadline_sweep") == SLOT  # catch-up still reads the slot


def test_started_and_finished_bracket_the_work_on_the_wall_clock(make_ctx, sqlite_url, tmp_path, wall, clock):
    make_ctx()  # the schema
    started = wall.now()

    def work() -> dict[str, Any]:
        wall.advance(seconds=90)  # the work takes a minute and a half
        return {"done": 3, "log": ["not a count"]}

    with system_context(settings_for(sqlite_url, tmp_path), SLOT, wall=wall) as ctx:
        assert ctx.now() == SLOT
        assert wall_clock(ctx) is wall
        assert recorded("probe", ctx, "cli", work) == {"done": 3, "log": ["not a count"]}
    (run,) = runs_as_of(make_ctx, clock, SLOT, job="probe")
    assert (run["as_of"], run["started_at"], run["finished_at"]) == (SLOT, started, started + timedelta(seconds=90))
    assert run["counts"] == {"done": 3}
    assert run["error"] is None


def test_a_failed_run_is_recorded_with_its_error_and_when_it_gave_up(make_ctx, sqlite_url, tmp_path, wall, clock):
    make_ctx()
    started = wall.now()

    def work() -> dict[str, Any]:
        wall.advance(seconds=5)
        raise RuntimeError("disk full")

    with system_context(settings_for(sqlite_url, tmp_path), SLOT, wall=wall) as ctx, \
            pytest.raises(RuntimeError, match="disk full"):
        recorded("probe", ctx, "cli", work)
    (run,) = runs_as_of(make_ctx, clock, SLOT, job="probe")
    assert (run["started_at"], run["finished_at"]) == (started, started + timedelta(seconds=5))
    assert run["error"].startswith("RuntimeError: disk full")
    assert run["counts"] == {}
    assert last_run(make_ctx(), "probe") is None


def test_without_a_slot_the_run_is_as_of_the_wall_clocks_now(make_ctx, sqlite_url, tmp_path, wall, clock):
    make_ctx()
    with system_context(settings_for(sqlite_url, tmp_path), None, wall=wall) as ctx:
        assert ctx.clock is wall
        assert ctx.now() == wall.now()
        assert wall_clock(ctx) is wall
        assert (ctx.actor_name, ctx.source) == ("system", "flow")
        recorded("probe", ctx, "cli", lambda: {})
    (run,) = runs_as_of(make_ctx, clock, wall.now(), job="probe")
    assert run["as_of"] == run["started_at"] == run["finished_at"] == wall.now()


def test_the_system_clock_is_the_default_wall_clock(make_ctx, sqlite_url, tmp_path, clock):
    make_ctx()
    with system_context(settings_for(sqlite_url, tmp_path), SLOT) as ctx:
        assert isinstance(ctx.clock, SlotClock)
        assert isinstance(wall_clock(ctx), SystemClock)
        before = wall_clock(ctx).now()
        recorded("probe", ctx, "cli", lambda: {})
    (run,) = runs_as_of(make_ctx, clock, SLOT, job="probe")
    assert run["as_of"] == SLOT
    assert before <= run["started_at"] <= run["finished_at"]


def test_a_context_on_the_callers_store_leaves_its_engine_alone(make_ctx, sqlite_url, tmp_path, wall):
    store = make_ctx().store
    with system_context(settings_for(sqlite_url, tmp_path), SLOT, wall=wall, store=store) as ctx:
        assert ctx.store is store
    with store.read() as session:  # still usable: not disposed under the caller
        assert session.connection() is not None


def test_the_daily_run_records_each_job_and_itself(make_ctx, tmp_path, sqlite_url, wall, clock):
    build_world(make_ctx, tmp_path)
    result = run_job(job_named("daily"), settings_for(sqlite_url, tmp_path), SLOT, wall=wall)
    runs = runs_as_of(make_ctx, clock, SLOT)
    assert [r["job"] for r in reversed(runs)] == ["deadline_sweep", "campaign_progress", "send_reminders", "daily"]
    assert {r["as_of"] for r in runs} == {SLOT}
    assert {r["started_at"] for r in runs} == {wall.now()}
    assert set(result) == {"deadline_sweep", "campaign_progress", "send_reminders"}


def test_counts_are_the_integers_of_a_result():
    assert top_counts({"sent": 2, "failed": 0, "log": [], "note": "x", "nested": {"a": 1}}) == {"sent": 2, "failed": 0}
    assert nested_counts({"deadline_sweep": {"reminders": 4, "log": []}, "send_reminders": {"sent": 4},
                          "oops": 1}) == {"deadline_sweep.reminders": 4, "send_reminders.sent": 4}


# --- the table --------------------------------------------------------------------------------------


def test_the_jobs_table():
    assert [(j.name, j.crontab_key, j.flow, j.recorded_as, j.deployment) for j in JOBS] == [
        ("daily", "daily_sweep", "safegrade-daily", "daily", "daily"),
        ("reminder_retry", "reminder_retry", "safegrade-send-reminders", "send_reminders", "reminder-retry"),
        ("nightly_audit", "nightly_audit", "safegrade-audit-nightly", "nightly_audit", "nightly-audit"),
        ("deadline_sweep", None, "safegrade-deadline-sweep", "deadline_sweep", "deadline-sweep"),
        ("campaign_progress", None, "safegrade-campaign-progress", "campaign_progress", "campaign-progress"),
    ]
    assert len({j.name for j in JOBS}) == len({j.flow for j in JOBS}) == len(JOBS)
    keys = {j.crontab_key for j in JOBS} - {None}
    assert keys <= set(SchedulerSettings.model_fields)
    assert all(j.description for j in JOBS)
    assert (job_named("daily").run, job_named("reminder_retry").run) == (jobs.daily_job, jobs.send_job)
    with pytest.raises(KeyError, match="no job named 'hourly'"):
        job_named("hourly")


def test_a_job_reads_its_crontab_from_the_settings(tmp_path):
    (tmp_path / "c.yaml").write_text("scheduler:\n  reminder_retry: '*/5 * * * *'\n", encoding="utf-8")
    settings = load_settings(tmp_path / "c.yaml", env={})
    assert {j.name: j.crontab(settings) for j in JOBS} == {
        "daily": "0 8 * * *", "reminder_retry": "*/5 * * * *", "nightly_audit": "30 2 * * *",
        "deadline_sweep": None, "campaign_progress": None}


# --- no Prefect where none is needed ------------------------------------------------------------------

NO_PREFECT = """
import json, sys
from safegrade.cli import main

def prefect_loaded():
    return sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect.") or m.split(".")[0] == "flows")

codes = [main(["init"]), main(["--as-of", "2023-06-01 09:00", "scheduler", "run", "--once"]),
         main(["--as-of", "2023-06-02 08:00", "deadlines", "check", "--send"])]
import safegrade.demo.run
import safegrade.demo.walk
after = prefect_loaded()
import flows.deadlines  # the control: the flows do load Prefect
print(json.dumps({"codes": codes, "loaded": after, "control": "prefect" in sys.modules}))
"""


def test_the_scheduler_deadlines_check_and_the_demo_never_load_prefect(tmp_path):
    env = {**os.environ, "SAFEGRADE_DB_URL": f"sqlite:///{tmp_path / 'p.db'}", "PYTHONPATH": str(PROJECT_ROOT),
           "SAFEGRADE_NOTIFICATIONS__CHANNELS": f'["file://{tmp_path / "outbox"}"]',
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("SAFEGRADE_CONFIG", None)
    done = subprocess.run([sys.executable, "-c", NO_PREFECT], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"codes": [0, 0, 0], "loaded": [], "control": True}
