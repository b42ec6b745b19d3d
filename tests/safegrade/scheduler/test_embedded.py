"""The embedded scheduler on a test clock: APScheduler's jobs are stepped by hand (`SteppedScheduler`
processes what is due at the clock's now; `InlineExecutor` runs it in the test's thread), so nothing
sleeps and nothing waits on APScheduler's own loop."""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text

from safegrade.clock import TestClock
from safegrade.errors import ConfigError, InvalidInput
from safegrade.scheduler import jobs as scheduler_jobs
from safegrade.scheduler.clocked import (
    BackgroundClockScheduler,
    ClockScheduler,
    ClockThreadPoolExecutor,
    run_on_clock,
)
from safegrade.scheduler.crontab import CrontabError, cron_trigger
from safegrade.scheduler.embedded import build_scheduler, run_scheduler
from safegrade.scheduler.jobs import Job, Scheduled, default_jobs, run_once
from safegrade.scheduler.planning import plan_jobs
from safegrade.services import runs as job_runs
from safegrade.settings import load_settings
from tests.conftest import TZ, at, settings_for
from tests.factories import build_world, plain

GRACE = 3600


class SteppedScheduler(ClockScheduler):
    """No loop of its own: each step() submits what is due at the clock's now."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def step(self) -> float | None:
        return self._process_jobs()


class InlineExecutor(BaseExecutor):
    """Runs a submitted job at once, in the calling thread, through the scheduler's clock."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self._run_job_success(job.id, run_on_clock(job, job._jobstore_alias, run_times, "test", self._scheduler.clock))


class HeldExecutor(BaseExecutor):
    """Keeps submitted runs "running" until finish() is called: a job that outlasts its next slot."""

    def __init__(self) -> None:
        super().__init__()
        self.running: list[tuple[Any, list[datetime]]] = []

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self.running.append((job, run_times))

    def finish(self) -> None:
        for job, run_times in self.running:
            self._run_job_success(job.id, run_on_clock(job, job._jobstore_alias, run_times, "test",
                                                       self._scheduler.clock))
        self.running.clear()


class Recorder:
    """A fake sweep: records each as_of it was run with."""

    def __init__(self, fail: bool = False) -> None:
        self.runs: list[datetime] = []
        self.fail = fail

    def __call__(self, as_of: datetime) -> dict[str, Any]:
        self.runs.append(as_of)
        if self.fail:
            raise RuntimeError("database unreachable")
        return {"done": len(self.runs)}


def stepped(jobs: list[Job], clock: TestClock, last: dict[str, datetime] | None = None,
            executor: BaseExecutor | None = None) -> SteppedScheduler:
    scheduler = build_scheduler(jobs, timezone="Asia/Shanghai", misfire_grace_seconds=GRACE, clock=clock,
                                last_run=(last or {}).get, scheduler_class=SteppedScheduler,
                                executor=executor or InlineExecutor())
    assert isinstance(scheduler, SteppedScheduler)
    scheduler.start()
    return scheduler


def fires(expression: str, start: datetime, count: int) -> list[datetime]:
    trigger = cron_trigger(expression, TZ)
    out, t = [], start
    for _ in range(count):
        t = trigger.get_next_fire_time(None, t + timedelta(seconds=1))
        out.append(t)
    return out


# --- wiring and crontabs ----------------------------------------------------------------------------


def test_each_job_is_a_cron_job_in_shanghai_coalesced_one_at_a_time_with_the_grace(clock):
    daily = Job("daily", "0 8 * * *", Recorder())
    scheduler = build_scheduler([daily], timezone="Asia/Shanghai", misfire_grace_seconds=GRACE, clock=clock,
                                last_run={"daily": at("2023-06-01 08:00")}.get)
    assert isinstance(scheduler, BackgroundClockScheduler)
    assert scheduler.clock is clock
    (job,) = scheduler.get_jobs()
    assert isinstance(job.trigger, CronTrigger)
    assert job.trigger.timezone == ZoneInfo("Asia/Shanghai")
    assert (job.id, job.coalesce, job.max_instances, job.misfire_grace_time) == ("daily", True, 1, GRACE)
    assert isinstance(job.func, Scheduled)
    assert job.func.job is daily
    assert job.next_run_time == at("2023-06-02 08:00")
    assert isinstance(scheduler._executors["default"], ClockThreadPoolExecutor)


def test_eight_in_the_morning_in_shanghai_is_midnight_utc():
    (first,) = fires("0 8 * * *", at("2023-06-01 09:00"), 1)
    assert first.astimezone(UTC) == datetime(2023, 6, 2, 0, 0, tzinfo=UTC)
    assert fires("30 2 * * *", at("2023-06-01 09:00"), 1)[0].astimezone(UTC) == datetime(2023, 6, 1, 18, 30,
                                                                                          tzinfo=UTC)


@pytest.mark.parametrize(("expression", "weekdays"), [
    ("0 8 * * 1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
    ("0 8 * * mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
    ("0 8 * * 0", ["Sun"]),
    ("0 8 * * 7", ["Sun"]),
    ("0 8 * * 0,6", ["Sat", "Sun"]),
    ("0 8 * * 5-7", ["Fri", "Sat", "Sun"]),
    ("0 8 * * fri-sun", ["Fri", "Sat", "Sun"]),
    ("0 8 * * */2", ["Sun", "Tue", "Thu", "Sat"]),
    ("0 8 * * 1-5/2", ["Mon", "Wed", "Fri"]),
    ("0 8 * * *", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
])
def test_weekdays_are_numbered_as_cron_numbers_them(expression, weekdays):
    days = {t.strftime("%a") for t in fires(expression, at("2023-06-04 09:00"), 14)}  # from a Sunday
    assert days == set(weekdays)


def test_apscheduler_alone_would_run_1_5_from_tuesday_to_saturday():
    """Why the translation exists (APScheduler issue #286)."""
    trigger = CronTrigger.from_crontab("0 8 * * 1-5", timezone=TZ)
    t, days = at("2023-06-04 09:00"), set()
    for _ in range(10):
        t = trigger.get_next_fire_time(None, t + timedelta(seconds=1))
        days.add(t.strftime("%a"))
    assert days == {"Tue", "Wed", "Thu", "Fri", "Sat"}


@pytest.mark.parametrize(("expression", "says"), [
    ("0 8 * *", "has 4 field(s)"),
    ("0 8 * * 8", "weekday 8 is out of range 0-7"),
    ("0 8 * * fri-mon", "runs backwards"),
    ("0 8 * * funday", "unknown weekday 'funday'"),
    ("0 8 1 * mon", "restricts both the day of month (1) and the weekday (mon)"),
    ("61 8 * * *", "'61 8 * * *' is not a valid crontab"),
])
def test_a_bad_crontab_is_refused_with_the_expression_and_why(expression, says):
    with pytest.raises(CrontabError) as refused:
        cron_trigger(expression, TZ)
    assert says in str(refused.value)
    assert expression in str(refused.value)


def test_settings_name_the_key_and_the_value_of_a_bad_crontab(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text('scheduler:\n  reminder_retry: "*/15 * * * 9"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, env={})
    message = str(refused.value)
    assert f"{config}: scheduler.reminder_retry" in message
    assert "'*/15 * * * 9'" in message
    with pytest.raises(ConfigError, match=r"SAFEGRADE_SCHEDULER__NIGHTLY_AUDIT: .*'30 2 \* \*'"):
        load_settings(_empty(tmp_path), env={"SAFEGRADE_SCHEDULER__NIGHTLY_AUDIT": "30 2 * *"})


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    return path


def test_the_scheduler_settings_and_their_defaults(tmp_path: Path):
    s = load_settings(_empty(tmp_path), env={}).scheduler
    assert (s.timezone, s.daily_sweep, s.reminder_retry, s.nightly_audit, s.misfire_grace_seconds) == (
        "Asia/Shanghai", "0 8 * * *", "*/15 * * * *", "30 2 * * *", 3600)


# --- catch-up once at start -------------------------------------------------------------------------


def test_after_three_days_down_a_job_runs_once_as_of_now_then_on_its_crontab(clock):
    clock.set(at("2023-06-04 10:00"))
    daily = Recorder()
    scheduler = stepped([Job("daily", "0 8 * * *", daily)], clock, {"daily": at("2023-06-01 08:00")})
    (plan,) = scheduler.plans
    assert plan.catch_up
    assert plan.missed == at("2023-06-02 08:00")
    assert "runs once at start" in plan.reason
    scheduler.step()
    assert daily.runs == [at("2023-06-04 10:00")]  # one run for three missed slots, as of now
    scheduler.step()
    assert daily.runs == [at("2023-06-04 10:00")]
    assert scheduler.get_job("daily").next_run_time == at("2023-06-05 08:00")
    clock.set(at("2023-06-05 08:00"))
    scheduler.step()
    assert daily.runs[1:] == [at("2023-06-05 08:00")]


@pytest.mark.parametrize("last", ["2023-06-04 08:00", "2023-06-04 09:30"])
def test_no_catch_up_when_the_last_run_covers_the_latest_slot(clock, last):
    clock.set(at("2023-06-04 10:00"))
    daily = Recorder()
    scheduler = stepped([Job("daily", "0 8 * * *", daily)], clock, {"daily": at(last)})
    assert not scheduler.plans[0].catch_up
    assert scheduler.plans[0].reason == ""
    scheduler.step()
    assert daily.runs == []
    assert scheduler.get_job("daily").next_run_time == at("2023-06-05 08:00")


def test_a_job_that_never_ran_runs_at_start(clock):
    """A fresh install must not wait until tomorrow 08:00 to notice what is already overdue."""
    daily = Recorder()
    scheduler = stepped([Job("daily", "0 8 * * *", daily)], clock)
    assert scheduler.plans[0].reason == "never ran: runs at start"
    scheduler.step()
    assert daily.runs == [clock.now()]


def test_catch_up_looks_up_the_sweep_the_job_is_recorded_as(clock):
    reminders = Recorder()
    job = Job("reminder_retry", "*/15 * * * *", reminders, sweep="send_reminders")
    asked: list[str] = []

    def last_run(name: str) -> datetime | None:
        asked.append(name)
        return at("2023-06-01 09:00")

    plans = plan_jobs([job], timezone="Asia/Shanghai", now=clock.now(), last_run=last_run)
    assert asked == ["send_reminders"]
    assert not plans[0].catch_up
    assert plans[0].next_run == at("2023-06-01 09:15")


def test_two_jobs_of_one_name_are_refused(clock):
    with pytest.raises(InvalidInput, match="distinct names"):
        plan_jobs([Job("a", "0 8 * * *", Recorder()), Job("a", "0 9 * * *", Recorder())], timezone="Asia/Shanghai",
                  now=clock.now(), last_run=lambda _: None)


# --- runs, misfires, failures -----------------------------------------------------------------------


def test_a_scheduled_run_sweeps_as_of_its_slot_even_when_a_little_late(clock):
    clock.set(at("2023-06-02 07:00"))
    daily = Recorder()
    scheduler = stepped([Job("daily", "0 8 * * *", daily)], clock, {"daily": at("2023-06-01 08:00")})
    scheduler.step()
    assert daily.runs == []
    clock.set(at("2023-06-02 08:40"))  # e.g. the machine woke up late, within the grace
    scheduler.step()
    assert daily.runs == [at("2023-06-02 08:00")]


def test_a_run_later_than_the_grace_is_missed_and_the_next_slot_covers_it(clock):
    clock.set(at("2023-06-02 07:00"))
    daily = Recorder()
    scheduler = stepped([Job("daily", "0 8 * * *", daily)], clock, {"daily": at("2023-06-01 08:00")})
    missed: list[datetime] = []
    scheduler.add_listener(lambda event: missed.append(event.scheduled_run_time), EVENT_JOB_MISSED)
    clock.set(at("2023-06-02 09:30"))  # suspended from 07:00 to 09:30: 90 minutes late, grace 60
    scheduler.step()
    assert daily.runs == []
    assert missed == [at("2023-06-02 08:00")]
    assert scheduler.get_job("daily").next_run_time == at("2023-06-03 08:00")


def test_slots_missed_while_running_are_coalesced_into_the_latest(clock):
    reminders = Recorder()
    scheduler = stepped([Job("reminder_retry", "*/15 * * * *", reminders)], clock,
                        {"reminder_retry": at("2023-06-01 09:00")})
    clock.set(at("2023-06-01 09:50"))  # 09:15, 09:30 and 09:45 are due
    assert scheduler.get_job("reminder_retry")._get_run_times(clock.now()) == [
        at("2023-06-01 09:15"), at("2023-06-01 09:30"), at("2023-06-01 09:45")]
    scheduler.step()
    assert reminders.runs == [at("2023-06-01 09:45")]
    assert scheduler.get_job("reminder_retry").next_run_time == at("2023-06-01 10:00")


def test_a_failing_job_is_logged_and_the_scheduler_goes_on(clock, caplog):
    broken, daily = Recorder(fail=True), Recorder()
    scheduler = stepped([Job("broken", "0 8 * * *", broken), Job("daily", "0 8 * * *", daily)], clock)
    with caplog.at_level(logging.ERROR, logger="safegrade.scheduler"):
        scheduler.step()
    assert len(broken.runs) == 1
    assert len(daily.runs) == 1
    assert any("broken as of" in r.message and "failed" in r.message and r.exc_info for r in caplog.records)
    clock.set(at("2023-06-02 08:00"))
    scheduler.step()
    assert broken.runs[1:] == daily.runs[1:] == [at("2023-06-02 08:00")]


def test_a_job_still_running_at_its_next_slot_is_not_started_twice(clock):
    held = HeldExecutor()
    reminders = Recorder()
    scheduler = stepped([Job("reminder_retry", "*/15 * * * *", reminders)], clock, executor=held)
    refused: list[Any] = []
    scheduler.add_listener(refused.append, EVENT_JOB_MAX_INSTANCES)
    scheduler.step()  # the catch-up run starts and keeps running
    assert len(held.running) == 1
    clock.set(at("2023-06-01 09:15"))
    scheduler.step()
    assert len(held.running) == 1
    assert len(refused) == 1
    held.finish()
    assert reminders.runs == [at("2023-06-01 09:00")]
    clock.set(at("2023-06-01 09:30"))
    scheduler.step()
    held.finish()
    assert reminders.runs == [at("2023-06-01 09:00"), at("2023-06-01 09:30")]


def test_a_paused_scheduler_takes_no_new_runs(clock):
    daily = Recorder()
    scheduler = stepped([Job("daily", "0 8 * * *", daily)], clock)
    scheduler.pause()
    assert scheduler.step() is None
    assert daily.runs == []


def test_the_wait_until_the_next_run_is_measured_on_the_clock(clock):
    scheduler = stepped([Job("daily", "0 8 * * *", Recorder())], clock, {"daily": at("2023-06-01 08:00")})
    assert scheduler.step() == timedelta(hours=23).total_seconds()


def test_once_runs_every_job_as_of_one_instant_and_reports_failures(clock):
    a, b, c = Recorder(), Recorder(fail=True), Recorder()
    outcomes = run_once([Job("a", "0 8 * * *", a), Job("b", "0 8 * * *", b), Job("c", "0 8 * * *", c)], clock.now())
    assert a.runs == b.runs == c.runs == [clock.now()]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error == "RuntimeError: database unreachable"
    assert outcomes[0].result == {"done": 1}


# --- shutdown ---------------------------------------------------------------------------------------


def test_sigterm_lets_the_running_job_finish_starts_no_other_and_returns_0(clock):
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def blocking(_as_of: datetime) -> dict[str, Any]:
        started.set()
        assert release.wait(60), "the test never released the job"
        finished.set()
        return {}

    queued = Recorder()  # due at start too, waiting for the one worker: it must not start after the signal
    scheduler = build_scheduler([Job("a_blocking", "0 8 * * *", blocking), Job("b_queued", "0 8 * * *", queued)],
                                timezone="Asia/Shanghai", misfire_grace_seconds=GRACE, clock=clock,
                                last_run=lambda _: None)

    def operator() -> None:
        assert started.wait(60)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(6000):  # until the handler has paused the scheduler (polled, not timed)
            if scheduler.state != STATE_RUNNING:
                break
            threading.Event().wait(0.01)
        release.set()

    before = signal.getsignal(signal.SIGTERM)
    helper = threading.Thread(target=operator)
    helper.start()
    code = run_scheduler(scheduler)
    finished_when_it_returned = finished.is_set()
    helper.join()
    assert code == 0
    assert finished_when_it_returned
    assert queued.runs == []
    assert signal.getsignal(signal.SIGTERM) == before  # handlers are put back


def test_a_signal_handled_by_another_thread_still_stops_the_scheduler(clock):
    """Linux may hand a process's signal to any of its threads (it prefers the sender); Python runs the handler
    only in the main thread, so a main thread blocked without a timeout would wait for ever."""
    daily = Recorder()
    scheduler = build_scheduler([Job("daily", "0 8 * * *", daily)], timezone="Asia/Shanghai",
                                misfire_grace_seconds=GRACE, clock=clock, last_run={"daily": clock.now()}.get)
    main, returned, rescued = threading.get_ident(), threading.Event(), threading.Event()

    def operator() -> None:
        for _ in range(6000):  # until the scheduler runs, so its handlers are installed (polled, not timed)
            if scheduler.state == STATE_RUNNING:
                break
            threading.Event().wait(0.01)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # delivered to this thread, not the main one
        if not returned.wait(30):  # the main thread never ran the handler: wake it, so the test fails, not hangs
            rescued.set()
            signal.pthread_kill(main, signal.SIGTERM)

    helper = threading.Thread(target=operator)
    helper.start()
    code = run_scheduler(scheduler)
    returned.set()
    helper.join()
    assert code == 0
    assert not rescued.is_set()
    assert daily.runs == []


# --- the default jobs -------------------------------------------------------------------------------


def test_default_jobs_call_the_deadline_flows_as_of_the_run(tmp_path, monkeypatch, clock):
    calls: list[tuple[str, Any, datetime, str]] = []
    short = {"daily": "daily", "reminder_retry": "send"}

    def run_job(job: Any, settings: Any, as_of: datetime, source: str, *, wall: Any) -> dict[str, Any]:
        assert wall is clock
        calls.append((short[job.name], settings, as_of, source))
        return {"n": 1} if job.name == "daily" else {}

    monkeypatch.setattr(scheduler_jobs, "run_job", run_job)  # the real one's signature, none of its work
    settings = load_settings(_empty(tmp_path), env={"SAFEGRADE_SCHEDULER__DAILY_SWEEP": "0 7 * * mon-fri"})
    jobs = default_jobs(settings, clock)
    assert [(j.name, j.crontab, j.recorded_as) for j in jobs] == [
        ("daily", "0 7 * * mon-fri", "daily"), ("reminder_retry", "*/15 * * * *", "send_reminders"),
        ("nightly_audit", "30 2 * * *", "nightly_audit")]
    assert jobs[0].run(at("2023-06-01 07:00")) == {"n": 1}
    jobs[1].run(at("2023-06-01 07:15"))
    assert calls == [("daily", settings, at("2023-06-01 07:00"), "scheduler"),
                     ("send", settings, at("2023-06-01 07:15"), "scheduler")]


def test_the_nightly_audit_job_checkpoints_verifies_and_is_recorded(make_ctx, tmp_path, db_url, clock):
    build_world(make_ctx, tmp_path, url=db_url)
    settings = settings_for(db_url, tmp_path)
    nightly = default_jobs(settings, clock)[2]
    result = nightly.run(at("2023-06-02 02:30"))
    assert result["ok"]
    assert result["checkpoint"] == 1
    assert result["chains"] == 6
    ctx = make_ctx(url=db_url)
    assert job_runs.last_run(ctx, "nightly_audit") == at("2023-06-02 02:30")
    clock.set(at("2023-06-02 02:30"))  # `deadlines runs` as of the slot covered: listed from then on
    runs = plain(job_runs.list_runs(ctx, job="nightly_audit"))
    assert runs[0]["source"] == "scheduler"
    assert runs[0]["counts"]["events"] == 6
    assert runs[0]["error"] is None

    with ctx.store.engine.begin() as conn:
        conn.execute(text("update audit_event set reason = 'x' where seq = 1 and enterprise_id = 1"))
    outcome = run_once([nightly], at("2023-06-03 02:30"))[0]
    assert not outcome.ok
    assert "AuditBroken" in (outcome.error or "")
    assert job_runs.last_run(ctx, "nightly_audit") == at("2023-06-02 02:30")  # a failed run covered nothing
    clock.set(at("2023-06-03 02:30"))
    assert "AuditBroken" in plain(job_runs.list_runs(ctx, job="nightly_audit"))[0]["error"]
