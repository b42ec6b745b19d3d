"""The audit trail under attack: every kind of tampering is named by `verify`, in the database and in
an exported file checked without it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from safegrade.audit import trail as audit
from safegrade.audit.chain import GENESIS, event_hash
from safegrade.audit.chain import main as verify_file_main
from safegrade.services.auditing import checkpoint_audit, export_audit, verify_audit, verify_export
from safegrade.services.lifecycle import fire_event
from tests.factories import build_world, plain


@pytest.fixture
def trail(make_ctx, tmp_path, clock):
    """Two enterprises with five events each (register + four), fired by the officer of 武清区; the trail read as
    the bureau (a district officer's `audit verify` and `export` cover its district's chains only: test_scope)."""
    world = build_world(make_ctx, tmp_path, per_district=2)
    wq = make_ctx("wq")
    for code in world.wuqing:
        for event, data in [("open_assessment", {}),
                            ("record_assessment", {"result": "良", "findings": "2", "major_hazards": "0"}),
                            ("summon", {}), ("hold_interview", {"attendees": "法人、安全员", "record": "已约谈"})]:
            clock.advance(hours=1)
            fire_event(wq, code, event, reason=f"step {event}", data=data, via_service=True)
    return world, make_ctx("boss")


def sql(ctx, statement: str, **params) -> None:
    with ctx.store.engine.begin() as conn:
        conn.execute(text(statement), params)


def eid(ctx, code: str) -> int:
    with ctx.store.engine.connect() as conn:
        return conn.execute(text("select id from enterprise where credit_code = :c"), {"c": code}).scalar_one()


def breaks(ctx):
    report = verify_audit(ctx)
    return [(b.enterprise, b.seq, b.kind) for b in report.breaks]


def test_an_untouched_trail_verifies(trail):
    world, ctx = trail
    report = verify_audit(ctx)
    assert report.ok
    assert report.chains == 4
    assert report.events == 4 + 2 * 4


def test_an_edited_event_is_named_changed(trail):
    world, ctx = trail
    sql(ctx, "update audit_event set reason = '篡改' where enterprise_id = :e and seq = 3", e=eid(ctx, world.wuqing[0]))
    assert breaks(ctx) == [(world.wuqing[0], 3, "changed")]


def test_a_deleted_event_is_named_missing(trail):
    world, ctx = trail
    sql(ctx, "delete from audit_event where enterprise_id = :e and seq = 3", e=eid(ctx, world.wuqing[0]))
    assert breaks(ctx) == [(world.wuqing[0], 4, "missing")]


def test_a_deleted_and_renumbered_event_is_still_missing(trail):
    world, ctx = trail
    e = eid(ctx, world.wuqing[0])
    sql(ctx, "delete from audit_event where enterprise_id = :e and seq = 3", e=e)
    sql(ctx, "update audit_event set seq = seq - 1 where enterprise_id = :e and seq > 3", e=e)
    sql(ctx, "update enterprise set version = version - 1 where id = :e", e=e)
    assert breaks(ctx) == [(world.wuqing[0], 3, "missing")]


def test_a_removed_tail_is_named_missing(trail):
    world, ctx = trail
    sql(ctx, "delete from audit_event where enterprise_id = :e and seq = 5", e=eid(ctx, world.wuqing[1]))
    assert breaks(ctx) == [(world.wuqing[1], 5, "missing")]


def test_an_inserted_event_is_named_inserted(trail):
    """The forger even chains the new event correctly to its predecessor and renumbers the rest."""
    world, ctx = trail
    code, e = world.wuqing[0], eid(ctx, world.wuqing[0])
    with ctx.store.engine.connect() as conn:
        prev = conn.execute(text("select hash, occurred_at, rules_version from audit_event where enterprise_id = :e "
                                 "and seq = 2"), {"e": e}).one()
    sql(ctx, "update audit_event set seq = seq + 100 where enterprise_id = :e and seq > 2", e=e)
    sql(ctx, "update audit_event set seq = seq - 99 where enterprise_id = :e and seq > 100", e=e)
    forged = audit.new_event(enterprise_id=e, code=code, seq=3, event="summon", from_state="assessing",
                             to_state="interview", actor=audit.Actor("boss", "bureau", "cli"), reason="补录",
                             payload={}, at=_aware(prev[1]), rules_version=prev[2], prev_hash=prev[0])
    with ctx.store.engine.begin() as conn:
        conn.execute(audit.insert(audit.AuditEvent), [forged])
    sql(ctx, "update enterprise set version = version + 1 where id = :e", e=e)
    assert breaks(ctx) == [(code, 4, "inserted")]


def _aware(value):
    from datetime import UTC, datetime

    value = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_swapped_events_are_named_reordered(trail):
    world, ctx = trail
    e = eid(ctx, world.wuqing[0])
    sql(ctx, "update audit_event set seq = 99 where enterprise_id = :e and seq = 3", e=e)
    sql(ctx, "update audit_event set seq = 3 where enterprise_id = :e and seq = 4", e=e)
    sql(ctx, "update audit_event set seq = 4 where enterprise_id = :e and seq = 99", e=e)
    assert breaks(ctx) == [(world.wuqing[0], 3, "reordered")]


def test_an_enterprise_row_edited_behind_the_trail_is_named(trail):
    world, ctx = trail
    sql(ctx, "update enterprise set state = 'closed' where credit_code = :c", c=world.wuqing[0])
    found = verify_audit(ctx).breaks
    assert [(b.enterprise, b.kind) for b in found] == [(world.wuqing[0], "projection")]
    assert "state: table 'closed', log 'rectifying'" in found[0].detail


def test_a_rewritten_chain_is_caught_by_the_checkpoint(trail, make_ctx):
    """Rewrite one event and recompute every later hash: the chain itself verifies, the checkpoint does not."""
    world, ctx = trail
    checkpoint_audit(make_ctx("boss"))
    code, e = world.wuqing[0], eid(ctx, world.wuqing[0])
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(text("select seq, event, from_state, to_state, actor, role, source, reason, payload, "
                                 "occurred_at, rules_version, prev_hash from audit_event where enterprise_id = :e "
                                 "order by seq"), {"e": e}).all()
    prev = GENESIS
    with ctx.store.engine.begin() as conn:
        for r in rows:
            reason = "改写" if r.seq == 2 else r.reason
            digest = event_hash(code, r.event, r.from_state, r.to_state, r.actor, r.role, r.source, reason, r.payload,
                                audit.utc_text(_aware(r.occurred_at)), r.rules_version, prev)
            conn.execute(text("update audit_event set reason = :r, prev_hash = :p, hash = :h where enterprise_id = :e "
                              "and seq = :s"), {"r": reason, "p": prev, "h": digest, "e": e, "s": r.seq})
            prev = digest
    found = verify_audit(ctx).breaks
    assert {(b.enterprise, b.kind) for b in found} == {(code, "checkpoint")}
    assert "rewritten after it" in found[0].detail


def test_checkpoints_record_only_moved_heads_and_are_chained(trail, make_ctx, clock):
    world, ctx = trail
    boss = make_ctx("boss")
    first = plain(checkpoint_audit(boss))
    assert first["heads"] == 4
    assert checkpoint_audit(boss) is None
    clock.advance(hours=1)
    fire_event(make_ctx("hx"), world.hexi[0], "summon", reason="约谈")
    second = plain(checkpoint_audit(boss))
    assert second["heads"] == 1
    assert second["prev_hash"] == first["hash"]
    assert verify_audit(ctx).checkpoints == 2
    assert verify_audit(ctx).ok


def test_a_tampered_checkpoint_is_named(trail, make_ctx):
    world, ctx = trail
    checkpoint_audit(make_ctx("boss"))
    sql(ctx, "update audit_checkpoint set heads = 3")
    assert [b.kind for b in verify_audit(ctx).breaks] == ["checkpoint"]


def test_export_verifies_without_the_database(trail, make_ctx, tmp_path, capsys):
    world, ctx = trail
    checkpoint_audit(make_ctx("boss"))
    path = tmp_path / "trail.jsonl"
    done = plain(export_audit(ctx, path))
    assert done == {"file": str(path), "events": 12, "chains": 4}
    report = verify_export(path)
    assert report.ok
    assert report.events == 12
    assert report.checkpoints == 1
    assert verify_file_main([str(path)]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize(("attack", "kind"), [
    ("edit", "changed"), ("drop", "missing"), ("drop_last", "missing"), ("swap", "reordered"),
])
def test_a_tampered_export_is_named(trail, tmp_path, attack, kind):
    world, ctx = trail
    path = tmp_path / "trail.jsonl"
    export_audit(ctx, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    target = world.wuqing[0]
    idx = [i for i, line in enumerate(lines) if json.loads(line).get("enterprise") == target
           and json.loads(line)["type"] == "event"]
    if attack == "edit":
        rec = json.loads(lines[idx[2]])
        rec["reason"] = "改"
        lines[idx[2]] = json.dumps(rec, ensure_ascii=False)
    elif attack == "drop":
        del lines[idx[2]]
    elif attack == "drop_last":
        del lines[idx[-1]]
    else:
        a, b = json.loads(lines[idx[2]]), json.loads(lines[idx[3]])
        a["seq"], b["seq"] = b["seq"], a["seq"]
        lines[idx[2]], lines[idx[3]] = json.dumps(a, ensure_ascii=False), json.dumps(b, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_export(path)
    assert [(b.enterprise, b.kind) for b in report.breaks] == [(target, kind)]
    assert verify_file_main([str(path)]) == 1


def test_every_event_carries_actor_source_reason_rules_version_and_before_after(trail):
    world, ctx = trail
    from safegrade.services.enterprise import timeline

    events = plain(timeline(ctx, world.wuqing[0]))
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert events[0]["event"] == "register"
    assert events[0]["payload"]["after"]["credit_code"] == world.wuqing[0]
    recorded = events[2]
    assert (recorded["actor"], recorded["role"], recorded["source"]) == ("wq", "district", "cli")
    assert recorded["payload"]["before"] == {"open_findings": 0, "last_result": None}
    assert recorded["payload"]["after"] == {"open_findings": 2, "last_result": "良"}
    assert all(len(e["hash"]) == 64 for e in events)
    assert all(e["at"] <= f["at"] for e, f in zip(events, events[1:], strict=False))


def test_an_enterprise_whose_whole_chain_is_deleted_is_named(trail):
    world, ctx = trail
    e = eid(ctx, world.wuqing[1])  # not the first nor the last enterprise: the merge must step over it
    sql(ctx, "delete from audit_event where enterprise_id = :e", e=e)
    assert breaks(ctx) == [(world.wuqing[1], 1, "missing")]


def test_a_checkpointed_event_that_is_gone_is_named(trail, make_ctx):
    world, ctx = trail
    checkpoint_audit(make_ctx("boss"))
    e = eid(ctx, world.hexi[0])
    sql(ctx, "delete from audit_event where enterprise_id = :e and seq = 1", e=e)
    found = verify_audit(ctx).breaks
    assert (world.hexi[0], 1, "checkpoint") in [(b.enterprise, b.seq, b.kind) for b in found]
    assert any("is gone" in b.detail for b in found)
