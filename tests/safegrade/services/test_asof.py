"""Dated rows and reading as of an instant (safegrade.services.asof, schema 0006): the database keeps every
version of the rows that change, each writer dates it, and a table read as of a past instant gives the rows
as they stood then — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from safegrade.audit import trail
from safegrade.audit.trail import CHECKPOINT, CHECKPOINT_HEAD
from safegrade.clock import FixedClock
from safegrade.models import VERSION_TABLES, VERSIONED, metadata
from safegrade.services.asof import DATED, AsOf, as_of, recorded_after
from safegrade.services.auditing import checkpoint_audit
from safegrade.services.campaign import exclude_member
from safegrade.services.finding import reject_finding, submit_finding, verify_finding
from safegrade.services.lifecycle import fire_event
from safegrade.services.reminders import send_reminders
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.factories import DEDUCTIONS, MAJOR, assess, build_world, campaign_world


def _history(make_ctx, tmp_path, clock, url=None):
    """A campaign with assessments, findings submitted, rejected, verified, sweeps and deliveries, an exclusion
    and lifecycle events: every kind of writer of every versioned table, each at its own instant."""
    w = campaign_world(lambda *a, **k: make_ctx(*a, **{**k, "url": url}), tmp_path)
    ctx = lambda actor=None: make_ctx(actor, url=url)  # noqa: E731
    assess(lambda *a, **k: make_ctx(*a, **{**k, "url": url}), tmp_path, clock, w.wuqing[0], DEDUCTIONS)
    assess(lambda *a, **k: make_ctx(*a, **{**k, "url": url}), tmp_path, clock, w.wuqing[1], MAJOR, on="2023-07-11")
    clock.advance(hours=1)
    exclude_member(ctx("hx"), "2023年运行质量评估", w.hexi[0], "deregistered")
    with ctx().store.read() as session:
        finding_id = session.execute(text("select min(id) from finding")).scalar_one()
    first = tmp_path / "evidence-1.txt"
    first.write_text("整改报告 第一稿", encoding="utf-8")
    clock.advance(days=1)
    submit_finding(ctx("wq"), finding_id, [first])
    clock.advance(days=1)
    reject_finding(ctx("boss"), finding_id, "未附照片")
    second = tmp_path / "evidence-2.txt"
    second.write_text("整改报告 第二稿，附照片", encoding="utf-8")
    clock.advance(days=1)
    submit_finding(ctx("wq"), finding_id, [second])
    clock.advance(days=1)
    verify_finding(ctx("boss"), finding_id)
    for _ in range(3):
        clock.advance(days=7)
        sweep_deadlines(ctx("system"))
        clock.advance(hours=1)
        send_reminders(ctx("system"))
    clock.advance(days=1)
    fire_event(ctx("hx"), w.hexi[1], "propose_revocation", reason="举报查实",
               data={"revocation_reason": "false_materials", "revocation_source": "complaint"})
    return w


def _rows(session, name):
    t = metadata.tables[name]
    return {r["id"]: dict(r) for r in session.execute(select(t)).mappings()}


@pytest.mark.parametrize("name", VERSIONED)
def test_the_latest_version_of_every_row_is_the_row(make_ctx, tmp_path, clock, db_url, name):
    """Every column is kept (the trigger's column list covers the table), by every writer."""
    _history(make_ctx, tmp_path, clock, db_url)
    with make_ctx(url=db_url).store.read() as session:
        rows = _rows(session, name)
        v = VERSION_TABLES[name]
        latest = select(v).where(v.c.version_id.in_(select(func.max(v.c.version_id)).group_by(v.c.id)))
        versions = {r["id"]: {k: r[k] for k in r if k != "version_id"}
                    for r in session.execute(latest).mappings()}
    assert rows, f"the history wrote no {name} row"
    assert versions == rows


@pytest.mark.parametrize("name", VERSIONED)
def test_every_change_is_dated_by_the_instant_it_was_made(make_ctx, tmp_path, clock, db_url, name):
    """Each version is dated (updated_at) no later than the clock that wrote it and never earlier than the row's
    previous version; in this history every use case runs at its own instant, so each change of a row gets
    a new date (a writer that forgot updated_at would leave its change dated in the past)."""
    _history(make_ctx, tmp_path, clock, db_url)
    v = VERSION_TABLES[name]
    with make_ctx(url=db_url).store.read() as session:
        versions = [dict(r) for r in session.execute(select(v).order_by(v.c.id, v.c.version_id)).mappings()]
    assert all(r["updated_at"] is not None and r["updated_at"] <= clock.now() for r in versions)
    previous: dict[int, dict] = {}
    dated: dict[int, set] = {}
    for r in versions:
        before = previous.get(r["id"])
        if before is not None:
            assert r["updated_at"] >= before["updated_at"], (name, r["id"])
        dated.setdefault(r["id"], set()).add(r["updated_at"])
        previous[r["id"]] = r
    changed = [i for i in dated if len(dated[i]) > 1]
    assert changed, f"no {name} row changed in the history"


def test_reading_now_reads_the_tables_themselves(make_ctx, tmp_path, clock):
    _history(make_ctx, tmp_path, clock)
    ctx = make_ctx()
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        assert then.past is False
        for name in (*VERSIONED, *DATED):
            assert then.table(metadata.tables[name]) is metadata.tables[name]


def test_a_past_instant_reads_each_row_as_it_stood(make_ctx, tmp_path, clock, db_url):
    """A finding and an enterprise as of instants between their changes."""
    w = _history(make_ctx, tmp_path, clock, db_url)
    ctx = make_ctx(url=db_url)
    enterprise, finding = metadata.tables["enterprise"], metadata.tables["finding"]
    with ctx.store.read() as session:
        # the first finding: open → submitted → open (rejected) → submitted → verified, one day apart
        f = session.execute(select(finding).order_by(finding.c.id)).mappings().first()
        events = trail.chain(session, 1, w.wuqing[0])
        changes = [e for e in events if e.event.startswith("finding_")]
        assert [e.event for e in changes] == ["finding_submitted", "finding_rejected", "finding_submitted",
                                              "finding_verified"]
        seen = []
        for e in changes:
            moment = datetime.fromisoformat(e.occurred_at) + timedelta(minutes=1)
            then = AsOf(at=moment, past=recorded_after(session, moment))
            assert then.past
            ft = then.table(finding)
            seen.append(session.execute(select(ft.c.status, ft.c.rejections).where(ft.c.id == f["id"])).one())
        assert [tuple(s) for s in seen] == [("submitted", 0), ("open", 1), ("submitted", 1), ("verified", 1)]
        # before the ledger was imported there was no enterprise at all
        first = datetime.fromisoformat(events[0].occurred_at) - timedelta(seconds=1)
        then = AsOf(at=first, past=True)
        assert session.execute(select(then.table(enterprise))).all() == []
        # the enterprise proposed for revocation was 评估中 the minute before, 撤销公示中 now
        summon = [e for e in trail.chain(session, _id(session, w.hexi[1]), w.hexi[1])
                  if e.event == "propose_revocation"][0]
        before = datetime.fromisoformat(summon.occurred_at) - timedelta(minutes=1)
        et = AsOf(at=before, past=True).table(enterprise)
        assert session.execute(select(et.c.state).where(et.c.credit_code == w.hexi[1])).scalar_one() == "assessing"
        assert session.execute(select(enterprise.c.state).where(enterprise.c.credit_code == w.hexi[1])
                               ).scalar_one() == "revocation_pending"


def _id(session, code):
    enterprise = metadata.tables["enterprise"]
    return session.execute(select(enterprise.c.id).where(enterprise.c.credit_code == code)).scalar_one()


def test_each_enterprise_version_is_the_replay_of_its_chain(make_ctx, tmp_path, clock, db_url):
    """The versions and the audit trail tell the same story, at every event of every chain."""
    _history(make_ctx, tmp_path, clock, db_url)
    enterprise = metadata.tables["enterprise"]
    with make_ctx(url=db_url).store.read() as session:
        for row in session.execute(select(enterprise)).mappings():
            for e in trail.chain(session, row["id"], row["credit_code"]):
                moment = datetime.fromisoformat(e.occurred_at)
                et = AsOf(at=moment, past=True).table(enterprise)
                then = dict(session.execute(select(et).where(et.c.id == row["id"])).mappings().one())
                replayed = trail.replay(trail.chain(session, row["id"], row["credit_code"], until=moment))
                assert trail.projection(then) == replayed, (row["credit_code"], e.seq)


def test_anything_recorded_later_makes_the_instant_past(make_ctx, tmp_path, clock):
    _history(make_ctx, tmp_path, clock)
    ctx = make_ctx()
    with ctx.store.read() as session:
        assert recorded_after(session, clock.now()) is False
        assert recorded_after(session, clock.now() - timedelta(seconds=1)) is True


def test_a_table_without_versions_or_date_is_refused():
    from sqlalchemy import Column, Integer, MetaData, Table

    unknown = Table("scratch", MetaData(), Column("id", Integer, primary_key=True))
    with pytest.raises(ValueError, match="scratch"):
        AsOf(at=at("2023-06-01"), past=True).table(unknown)


def test_a_context_fixed_in_the_past_reads_the_past(make_ctx, tmp_path, clock):
    _history(make_ctx, tmp_path, clock)
    ctx = make_ctx()
    ctx.clock = FixedClock(at("2023-07-10 12:00"))
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        assert then.past
        assert then.day.isoformat() == "2023-07-10"
        finding = metadata.tables["finding"]
        assert session.execute(select(then.table(finding))).all() == []  # no assessment recorded yet


def test_upgrading_rebuilds_the_enterprise_history_from_its_chain(tmp_path):
    """A database at 0005 with an enterprise and two audit events: after the upgrade, its two versions are
    what each event left, dated by it, and the triggers keep the next change."""
    from alembic import command

    from safegrade.store import Store, make_engine

    store = Store(make_engine(f"sqlite:///{tmp_path / 'old.db'}"))
    cfg = store._alembic()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        conn.execute(text(
            "insert into enterprise (id, credit_code, name, district, sector, in_gongmao, level, certificate_no, "
            "graded_on, valid_until, address, contact, phone, remarks, state, version, open_findings, "
            "open_major_hazards, flags, created_at, updated_at) values (1, '91120114MA0000001X', '甲', '120114', "
            "'机械', 1, '三级', 'C1', '2022-03-01', '2025-02-28', '', '', '', '', 'interview', 2, 0, 0, '[]', "
            "'2023-06-01 01:00:00.000000', '2023-06-02 01:00:00.000000')"))
        register = {"data": {}, "before": {}, "after": {"credit_code": "91120114MA0000001X", "name": "甲",
                                                       "valid_until": "2025-02-28", "flags": []}}
        summon = {"data": {}, "before": {}, "after": {}}
        for seq, event, to_state, payload, when in (
                (1, "register", "graded", register, "2023-06-01 01:00:00.000000"),
                (2, "summon", "interview", summon, "2023-06-02 01:00:00.000000")):
            conn.execute(text(
                "insert into audit_event (enterprise_id, seq, event, from_state, to_state, actor, role, source, "
                "reason, payload, occurred_at, rules_version, prev_hash, hash) values (1, :seq, :event, null, "
                ":to_state, 'boss', 'bureau', 'cli', 'r', :payload, :when, 'v', 'p', 'h')"),
                {"seq": seq, "event": event, "to_state": to_state, "payload": json.dumps(payload), "when": when})
    assert store.migrate()[0] == "0005"
    v = VERSION_TABLES["enterprise"]
    with store.engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(select(v).order_by(v.c.version_id)).mappings()]
        assert [(r["state"], r["version"], r["updated_at"].isoformat(), r["valid_until"].isoformat())
                for r in rows] == [("graded", 1, "2023-06-01T01:00:00+00:00", "2025-02-28"),
                                   ("interview", 2, "2023-06-02T01:00:00+00:00", "2025-02-28")]
        conn.execute(text("update enterprise set state = 'rectifying', updated_at = '2023-06-03 01:00:00.000000'"))
        assert conn.execute(select(v.c.state).order_by(v.c.version_id.desc())).scalars().first() == "rectifying"
    store.engine.dispose()


def test_checkpoint_heads_are_read_with_their_checkpoint_up_to_the_instant(make_ctx, tmp_path, clock, db_url):
    """The heads a checkpoint recorded belong to it: read as of an instant, only those of the checkpoints taken
    by then (they were refused before: "audit_checkpoint_head has no versions and no date")."""
    world = build_world(make_ctx, tmp_path, per_district=1, url=db_url)
    first = checkpoint_audit(make_ctx("boss", url=db_url))
    assert first is not None
    between = clock.advance(hours=1)
    clock.advance(hours=1)
    fire_event(make_ctx("wq", url=db_url), world.wuqing[0], "summon", reason="日常检查发现问题")
    second = checkpoint_audit(make_ctx("boss", url=db_url))
    assert second is not None
    for instant, checkpoints in ((between, [first.id]), (clock.now(), [first.id, second.id]),
                                 (between - timedelta(hours=2), [])):
        ctx = make_ctx(url=db_url)
        ctx.clock = FixedClock(instant)  # the context reads as of `instant`
        with ctx.store.read() as session:
            then = as_of(ctx, session)
            heads, taken = then.table(CHECKPOINT_HEAD), then.table(CHECKPOINT)
            assert sorted(session.execute(select(heads.c.checkpoint_id).distinct()).scalars()) == checkpoints
            assert sorted(session.execute(select(taken.c.id)).scalars()) == checkpoints
            assert then.past == (instant < clock.now())
