"""The nightly audit flow, through its plain function and the flow's `.fn()` (no Prefect server)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from flows.audit import audit_nightly
from flows.context import scheduled_now
from safegrade.services.enterprise import timeline
from safegrade.services.jobs import AuditBroken, nightly_audit
from safegrade.services.runs import list_runs
from tests.conftest import at
from tests.factories import build_world, plain


def test_nightly_audit_checkpoints_then_verifies_as_the_system(make_ctx, tmp_path):
    build_world(make_ctx, tmp_path)
    result = nightly_audit(make_ctx("system", source="flow"))
    assert result["ok"]
    assert result["checkpoint"] == 1
    assert result["events"] == 6
    assert nightly_audit(make_ctx("system", source="flow"))["checkpoint"] is None  # nothing moved since


def test_a_broken_trail_fails_the_run(make_ctx, tmp_path):
    world = build_world(make_ctx, tmp_path)
    ctx = make_ctx("system", source="flow")
    with ctx.store.engine.begin() as conn:
        conn.execute(text("update audit_event set reason = 'x' where seq = 1 and enterprise_id = 1"))
    with pytest.raises(AuditBroken, match="changed"):
        nightly_audit(ctx)
    assert plain(timeline(ctx, world.wuqing[0]))


def test_the_flow_body_runs_without_a_server(make_ctx, tmp_path, monkeypatch, sqlite_url):
    build_world(make_ctx, tmp_path)
    monkeypatch.setenv("SAFEGRADE_DB_URL", sqlite_url)
    result = audit_nightly.fn(as_of=None)
    assert result["ok"]
    assert result["chains"] == 6
    assert scheduled_now() is None


def test_the_flow_records_its_run_like_every_job(make_ctx, tmp_path, monkeypatch, sqlite_url, clock):
    build_world(make_ctx, tmp_path)
    monkeypatch.setenv("SAFEGRADE_DB_URL", sqlite_url)
    audit_nightly.fn(as_of=at("2023-06-02 02:30"))
    assert plain(list_runs(make_ctx(), job="nightly_audit")) == []  # the run covers a later instant than the clock's
    clock.set(at("2023-06-03 09:00"))  # listed from the day it covered on
    (run,) = plain(list_runs(make_ctx(), job="nightly_audit"))
    assert (run["as_of"], run["source"], run["error"]) == (at("2023-06-02 02:30"), "flow", None)
    assert run["counts"]["events"] == 6
    assert run["finished_at"] >= run["started_at"] > run["as_of"]

    with make_ctx().store.engine.begin() as conn:
        conn.execute(text("update audit_event set reason = 'x' where seq = 1 and enterprise_id = 1"))
    with pytest.raises(AuditBroken):
        audit_nightly.fn(as_of=at("2023-06-03 02:30"))
    assert "AuditBroken" in plain(list_runs(make_ctx(), job="nightly_audit"))[0]["error"]
