"""The deadline flows: through their plain functions and `.fn()` (no server), and once end to end as real
Prefect flow runs under Prefect's test harness (subflows, scheduled-time default, nothing leaves the machine)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml
from sqlalchemy import select

from flows.deadlines import daily, deadline_sweep
from safegrade.models import JobRun, Reminder, table
from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import show_enterprise
from safegrade.services.jobs import job_named, run_job
from safegrade.services.runs import last_run
from safegrade.settings import load_settings
from tests.conftest import RULES_DIR, at
from tests.factories import DEDUCTIONS, assess, build_world, plain

CAMPAIGN = "2023年运行质量评估"


@pytest.fixture
def config(tmp_path, sqlite_url):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": sqlite_url, "rules_dir": str(RULES_DIR), "evidence_dir": "evidence",
        "notifications": {"channels": ["file://outbox"]}}), encoding="utf-8")
    return path


@pytest.fixture
def overdue(make_ctx, tmp_path, clock):
    """A world whose one enterprise has a finding due 2023-08-07 (escalation on 08-14)."""
    w = build_world(make_ctx, tmp_path, per_district=1)
    open_campaign(make_ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    assess(make_ctx, tmp_path, clock, w.wuqing[0], DEDUCTIONS, on="2023-07-10")
    return w


def run_daily(settings, as_of, source="scheduler"):
    return run_job(job_named("daily"), settings, as_of, source)


def _runs(make_ctx):
    with make_ctx().store.read() as session:
        return [dict(r) for r in session.execute(select(table(JobRun)).order_by(table(JobRun).c.id)).mappings()]


def test_run_daily_sweeps_queues_sends_and_records_each_job(make_ctx, overdue, config, tmp_path, clock):
    settings = load_settings(config, env={})
    result = run_daily(settings, at("2023-08-14 08:00"), source="scheduler")
    clock.set(at("2023-08-14 08:00"))  # read as of the run
    assert result["deadline_sweep"]["escalations"] == 1
    assert result["send_reminders"]["sent"] == result["deadline_sweep"]["reminders"] + result["campaign_progress"][
        "queued"] > 0
    assert plain(show_enterprise(make_ctx(), overdue.wuqing[0]))["state"] == "interview"
    runs = _runs(make_ctx)
    assert [r["job"] for r in runs] == ["deadline_sweep", "campaign_progress", "send_reminders", "daily"]
    assert {r["source"] for r in runs} == {"scheduler"}
    assert all(r["error"] is None for r in runs)
    assert last_run(make_ctx(), "daily") == at("2023-08-14 08:00")
    lines = [json.loads(x) for f in sorted((tmp_path / "outbox").glob("*")) for x in f.read_text("utf-8").splitlines()]
    assert len(lines) == result["send_reminders"]["sent"]
    assert any("逾期" in x["title"] for x in lines)
    again = run_daily(settings, at("2023-08-14 09:00"), source="scheduler")  # a duplicate run: nothing twice
    assert (again["deadline_sweep"]["reminders"], again["deadline_sweep"]["escalations"],
            again["send_reminders"]["sent"]) == (0, 0, 0)


@pytest.mark.usefixtures("overdue")
def test_a_failing_job_is_recorded_with_its_error_and_raises(make_ctx, config, monkeypatch):
    import safegrade.services.jobs as module

    def broken(_ctx, **_kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(module, "sweep_deadlines", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_daily(load_settings(config, env={}), at("2023-08-14 08:00"))
    runs = _runs(make_ctx)
    assert [(r["job"], r["error"].split(":")[0]) for r in runs] == [("deadline_sweep", "RuntimeError"),
                                                                     ("daily", "RuntimeError")]
    assert last_run(make_ctx(), "daily") is None


@pytest.mark.usefixtures("overdue")
def test_the_sweep_flow_body_runs_without_a_server(make_ctx, config):
    result = deadline_sweep.fn(config=str(config), as_of=at("2023-08-07 08:00"))
    assert result["reminders"] > 0
    assert result["escalations"] == 0
    with make_ctx().store.read() as session:
        steps = {r for r in session.execute(select(table(Reminder).c.step)).scalars()}
    assert {"-7", "-3", "-1", "0"} <= steps


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_daily_end_to_end_as_prefect_flow_runs(make_ctx, overdue, config, clock):
    """One real run: the daily flow and its three subflows through a Prefect API (the test harness's)."""
    from prefect.client.orchestration import get_client

    result = daily(config=str(config), as_of=at("2023-08-14 08:00"))
    clock.set(at("2023-08-14 08:00"))  # read as of the run
    assert result["deadline_sweep"]["escalations"] == 1
    assert result["send_reminders"]["sent"] > 0
    assert plain(show_enterprise(make_ctx(), overdue.wuqing[0]))["state"] == "interview"
    assert [r["job"] for r in _runs(make_ctx)] == ["deadline_sweep", "campaign_progress", "send_reminders", "daily"]

    async def names():
        async with get_client() as client:
            return sorted({r.name for r in await client.read_flows()})

    import asyncio
    assert {"safegrade-daily", "safegrade-deadline-sweep", "safegrade-send-reminders",
            "safegrade-campaign-progress"} <= set(asyncio.run(names()))


def test_served_deployments_carry_the_cron_schedules_of_config(config):
    from flows.serve import deployments

    built = {d.name: d for d in deployments(load_settings(config, env={}), config)}
    assert set(built) == {"daily", "reminder-retry", "nightly-audit", "deadline-sweep", "campaign-progress"}
    cron = built["daily"].schedules[0].schedule
    assert (cron.cron, cron.timezone) == ("0 8 * * *", "Asia/Shanghai")
    assert built["daily"].parameters == {"config": str(config.resolve())}
    assert not built["deadline-sweep"].schedules  # on demand or backfill


def test_every_job_is_served_by_the_flow_the_table_names(config):
    from flows.serve import FLOWS, deployments
    from safegrade.services.jobs import JOBS

    assert set(FLOWS) == {job.flow for job in JOBS}
    built = deployments(load_settings(config, env={}), config)
    assert [(d.name, d.flow_name) for d in built] == [(job.deployment, job.flow) for job in JOBS]


def test_python_m_flows_serve_serves_the_deployments_of_its_config(config, monkeypatch):
    import flows.serve as module

    served: list[tuple[object, object]] = []
    monkeypatch.setattr(module, "serve", lambda settings, path: served.append((settings, path)))
    module.main(["--config", str(config)])
    ((settings, path),) = served
    assert path == config
    assert settings.db_url == load_settings(config).db_url
