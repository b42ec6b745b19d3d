"""Two writers on one enterprise: exactly one wins, the other gets a clear conflict; nothing half-written.
On SQLite (BEGIN IMMEDIATE serialises writers) and on PostgreSQL (the version compare-and-set decides)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safegrade.errors import Conflict, EventNotAllowed
from safegrade.models import AuditEvent
from safegrade.services import lifecycle
from safegrade.services.auditing import verify_audit
from safegrade.services.enterprise import show_enterprise
from safegrade.services.lifecycle import fire_event
from tests.factories import build_world, plain, race

REVOCATION = {"revocation_reason": "relocated", "revocation_source": "complaint"}


def events_of(ctx, code) -> int:
    with ctx.store.read() as s:
        return s.execute(select(func.count()).select_from(AuditEvent).join_from(
            AuditEvent, lifecycle.Enterprise, AuditEvent.enterprise_id == lifecycle.Enterprise.id
        ).where(lifecycle.Enterprise.credit_code == code)).scalar_one()


def test_two_writers_with_the_version_they_saw_exactly_one_wins(make_ctx, tmp_path, db_url):
    world = build_world(make_ctx, tmp_path, per_district=1, url=db_url)
    code = world.wuqing[0]
    a, b = make_ctx("wq", url=db_url), make_ctx("boss", url=db_url)
    results = race([
        lambda: fire_event(a, code, "summon", reason="约谈", expected_version=1),
        lambda: fire_event(b, code, "propose_revocation", reason="迁址", data=REVOCATION, expected_version=1),
    ])
    wins = [r for r in results if isinstance(r, lifecycle.Fired)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1
    assert len(losses) == 1
    assert isinstance(losses[0], Conflict)
    assert "version" in str(losses[0])
    assert plain(show_enterprise(a, code))["version"] == 2
    assert events_of(a, code) == 2
    assert verify_audit(a).ok


@pytest.mark.usefixtures("clock")
def test_the_same_final_event_twice_at_once_is_recorded_once(make_ctx, tmp_path, db_url):
    world = build_world(make_ctx, tmp_path, per_district=1, url=db_url)
    code = world.wuqing[0]
    a, b = make_ctx("wq", url=db_url), make_ctx("boss", url=db_url)
    results = race([lambda: fire_event(a, code, "exclude", reason="企业注销"),
                    lambda: fire_event(b, code, "exclude", reason="企业注销")])
    assert sum(isinstance(r, lifecycle.Fired) for r in results) == 1
    loser = next(r for r in results if isinstance(r, Exception))
    assert isinstance(loser, EventNotAllowed | Conflict)
    assert events_of(a, code) == 2
    assert verify_audit(a).ok


@pytest.mark.pg
def test_on_postgresql_overlapping_transactions_conflict_on_the_version(make_ctx, tmp_path, pg_url, monkeypatch):
    """Both transactions read version 1 before either writes: the compare-and-set lets one through."""
    world = build_world(make_ctx, tmp_path, per_district=1, url=pg_url)
    code = world.wuqing[0]
    barrier = threading.Barrier(2, timeout=30)
    real_load = lifecycle._load

    def load_then_wait(session, codes):
        rows = real_load(session, codes)
        barrier.wait()
        return rows

    monkeypatch.setattr(lifecycle, "_load", load_then_wait)
    a, b = make_ctx("wq", url=pg_url), make_ctx("boss", url=pg_url)
    results = race([lambda: fire_event(a, code, "summon", reason="约谈"),
                    lambda: fire_event(b, code, "propose_revocation", reason="迁址", data=REVOCATION)])
    assert sum(isinstance(r, lifecycle.Fired) for r in results) == 1
    loser = next(r for r in results if isinstance(r, Exception))
    assert isinstance(loser, Conflict), loser
    assert events_of(a, code) == 2
    assert verify_audit(a).ok


def test_two_processes_on_sqlite_exactly_one_wins(make_ctx, tmp_path, sqlite_url):
    world = build_world(make_ctx, tmp_path, per_district=1)
    code = world.wuqing[0]
    env = {**os.environ, "SAFEGRADE_DB_URL": sqlite_url, "SAFEGRADE_RULES_DIR": str(Path("rules").resolve())}
    cmd = [sys.executable, "-m", "safegrade.cli", "--as-of", "2023-06-02"]
    procs = [subprocess.Popen([*cmd, "--actor", actor, "fire", code, event, "--reason", "并发", "--expect-version", "1",
                               *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for actor, event, extra in [("wq", "summon", []),
                                         ("boss", "propose_revocation", ["--data", "revocation_reason=relocated",
                                                                         "--data", "revocation_source=complaint"])]]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in outcomes) == [0, 1]
    loser_stderr = next(err for rc, err in outcomes if rc == 1)
    assert "version 2, not 1" in loser_stderr
    assert "Traceback" not in loser_stderr
    ctx = make_ctx()
    assert events_of(ctx, code) == 2
    assert verify_audit(ctx).ok
