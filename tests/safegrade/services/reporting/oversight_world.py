"""A campaign for the oversight tests: three enterprises in 武清 (w) and three in 河西 (h), enterprise
users for each, a second officer per district, the campaign open 2023-09-01 – 2023-10-31 (the
National Day holiday and its make-up working Saturday 2023-10-07 inside it), the clock on 11-01.
Legacy data the services would refuse is made with Core statements (`core`, `append_event`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update

from safegrade.audit import trail
from safegrade.models import AuditEvent, Enterprise, table
from safegrade.services.actors import add_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import timeline
from tests.conftest import at
from tests.factories import build_world, plain
from tests.safegrade.services.reporting.loop_world import assessment_file, doc

CAMPAIGN = "2023年运行质量评估"
USERS = ("企业甲", "企业乙", "企业丙", "企业丁", "企业戊", "企业己")
ENTERPRISE, EVENT = table(Enterprise), table(AuditEvent)


@dataclass
class Oversight:
    w: list[str]
    h: list[str]
    tmp: Path

    def user(self, code: str) -> str:
        return USERS[[*self.w, *self.h].index(code)]


def build_oversight(make_ctx: Any, tmp_path: Path, clock: Any, *, start: str = "2023-09-01",
                    end: str = "2023-10-31", name: str = CAMPAIGN, now: str = "2023-11-01 10:00") -> Oversight:
    world = build_world(make_ctx, tmp_path, per_district=3)
    boss = make_ctx("boss")
    add_actor(boss, "wq2", "district", district="武清区")
    add_actor(boss, "hx2", "district", district="河西区")
    for user, code in zip(USERS, world.all, strict=True):
        add_actor(boss, user, "enterprise", enterprise_code=code)
    open_campaign(boss, name, date.fromisoformat(start), date.fromisoformat(end), all_=True)
    clock.set(at(now))
    return Oversight(world.wuqing, world.hexi, tmp_path)


def assess(make_ctx: Any, o: Oversight, docs: list[dict[str, Any]], file: str = "assess.yaml") -> None:
    import_assessments(make_ctx("boss"), [assessment_file(o.tmp, docs, file)])


def simple(code: str, deductions: list[dict[str, Any]], on: str, campaign: str = CAMPAIGN) -> dict[str, Any]:
    return doc(code, deductions, on, campaign)


def core(ctx: Any, statement: str, **params: Any) -> None:
    """A Core statement outside safegrade's services: how legacy or tampered rows are made."""
    with ctx.store.engine.begin() as conn:
        conn.execute(text(statement), params)


def event_of(ctx: Any, code: str, event: str, nth: int = -1) -> dict[str, Any]:
    return [e for e in plain(timeline(ctx, code)) if e["event"] == event][nth]


def append_event(ctx: Any, code: str, event: str, actor: str, role: str, data: dict[str, Any],
                 when: datetime) -> dict[str, Any]:
    """Append a correctly chained event by hand (a legacy import): the chain still verifies."""
    with ctx.store.engine.begin() as conn:
        row = conn.execute(select(ENTERPRISE).where(ENTERPRISE.c.credit_code == code)).mappings().one()
        head = conn.execute(select(EVENT.c.hash).where(EVENT.c.enterprise_id == row["id"],
                                                       EVENT.c.seq == row["version"])).scalar_one()
        new = trail.new_event(enterprise_id=row["id"], code=code, seq=row["version"] + 1, event=event,
                              from_state=row["state"], to_state=row["state"], actor=trail.Actor(actor, role, "cli"),
                              reason="历史数据导入", payload={"data": data, "before": {}, "after": {}}, at=when,
                              rules_version="legacy", prev_hash=head)
        conn.execute(EVENT.insert(), [new])
        conn.execute(update(ENTERPRISE).where(ENTERPRISE.c.id == row["id"]).values(version=row["version"] + 1))
    return new


def bound(make_ctx: Any, database: str) -> Any:
    """make_ctx on one database (SQLite or PostgreSQL), with make_ctx's signature."""
    def make(actor: str | None = None, url: str | None = None, source: str = "cli") -> Any:
        return make_ctx(actor, url=url or database, source=source)
    return make
