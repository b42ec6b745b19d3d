"""Campaign histories for the reads as of a past date (test_campaign_asof.py, reporting/test_circular_asof.py),
built through the real services on the backend given, every event on a known day.

`one_campaign` — 2023年运行质量评估 (window 2023-06-01 – 2023-08-31, opened 2023-05-25) over 武清区's W1 W2;
河西区's H1 H2 are not members:
  07-10 W1 assessed (ZD01, a major hazard: 差, interview)     07-20 W1 interviewed (1 家次)
  07-25 H1 proposed for revocation: not 工贸 (工作要求 4)       08-10 H1 revoked (其他撤销: not a member)
  08-20 W2's assessment of 08-18 recorded (26 points: 差, revocation pending)
  09-04 W2 revoked (the campaign's revocation)
`two_campaigns` — 2023 over W1 H1 (both 优 in July, no finding: closed), then 2024 (window 2024-06-01 –
2024-08-31, opened 2024-05-20) over the same two: W1 a major hazard (interviewed 2024-07-15), H1 差
(revoked 2024-07-25). Every one of 2024's interviews and revocations belongs to 2024.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from safegrade.clock import TestClock
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.context import Context, open_context
from safegrade.services.lifecycle import fire_event
from tests.conftest import at
from tests.factories import build_world

EPOCH = "2023-05-20 09:00"
FIRST, SECOND = "2023年运行质量评估", "2024年运行质量评估"
MAJOR = [("ZD01", 5)]
POOR = [("FX01", 5), ("FX02", 5), ("FX03", 5), ("GZ01", 4), ("GZ02", 4), ("PX01", 3)]  # 26 points: 差
GOOD = [("ZP02", 3)]  # 优, and no finding (ZP02 is not rectified)
INTERVIEW = {"attendees": "企业主要负责人", "record": "责令立即整改重大事故隐患"}


@dataclass
class History:
    make: Callable[..., Context]  # make(actor): a context on the history's database and the test clock
    clock: TestClock
    codes: dict[str, str]  # W1 W2 H1 H2 → credit code

    def on(self, when: str, actor: str = "rev") -> Context:
        """A context whose now is `when`, as `--as-of` opens it (the test clock only goes forward)."""
        ctx = self.make(actor)
        return open_context(ctx.settings, as_of=at(when), actor=actor, store=ctx.store, rules=ctx.rules)


def _assess(h: History, tmp: Path, actor: str, campaign: str, code: str, on: str,
            deductions: list[tuple[str, int]]) -> None:
    path = tmp / f"assess-{code}-{on}.yaml"
    path.write_text(yaml.safe_dump([{
        "credit_code": code, "campaign": campaign, "assessed_on": on, "assessors": ["王工", "李工"],
        "methods": ["资料审查", "现场检查"], "materials": {"口袋书": 10},
        "deductions": [{"item": i, "points": p, "content": f"{i}：现场检查发现问题"} for i, p in deductions]}],
        allow_unicode=True), encoding="utf-8")
    import_assessments(h.make(actor), [path])


def _fire(h: History, when: str, actor: str, code: str, event: str, reason: str, **data: Any) -> None:
    h.clock.set(at(when))
    fire_event(h.make(actor), code, event, reason=reason, data=data)


def _start(make_ctx: Callable[..., Context], clock: TestClock, tmp: Path, url: str, per_district: int) -> History:
    """The world (the clock fixture of the tests starts at 2023-05-20 09:00: EPOCH)."""
    assert clock.now() <= at(EPOCH), "override the clock fixture: clock = TestClock(at(EPOCH))"
    clock.set(at(EPOCH))
    world = build_world(make_ctx, tmp, per_district=per_district, url=url)
    codes = {f"W{i}": c for i, c in enumerate(world.wuqing, start=1)}
    codes.update({f"H{i}": c for i, c in enumerate(world.hexi, start=1)})
    return History(lambda actor=None: make_ctx(actor, url=url), clock, codes)


def one_campaign(make_ctx: Callable[..., Context], clock: TestClock, tmp: Path, url: str) -> History:
    h = _start(make_ctx, clock, tmp, url, per_district=2)
    c = h.codes
    clock.set(at("2023-05-25 09:00"))
    open_campaign(h.make("boss"), FIRST, date(2023, 6, 1), date(2023, 8, 31), district="武清区",
                  ledger_due_on=date(2023, 12, 15))
    clock.set(at("2023-07-10 16:00"))
    _assess(h, tmp, "wq", FIRST, c["W1"], "2023-07-10", MAJOR)
    _fire(h, "2023-07-20 10:00", "wq", c["W1"], "hold_interview", "重大事故隐患约谈", **INTERVIEW)
    _fire(h, "2023-07-25 10:00", "hx", c["H1"], "propose_revocation", "台账梳理：不属于工贸行业",
          revocation_reason="not_gongmao", revocation_source="ledger_review")
    _fire(h, "2023-08-10 10:00", "hx", c["H1"], "revoke", "公示期满无异议，公告撤销")
    clock.set(at("2023-08-20 16:00"))
    _assess(h, tmp, "wq", FIRST, c["W2"], "2023-08-18", POOR)
    _fire(h, "2023-09-04 10:00", "wq", c["W2"], "revoke", "公示期满无异议，公告撤销")
    clock.set(at("2023-09-15 10:00"))
    return h


def two_campaigns(make_ctx: Callable[..., Context], clock: TestClock, tmp: Path, url: str) -> History:
    h = _start(make_ctx, clock, tmp, url, per_district=1)
    c = h.codes
    clock.set(at("2023-05-25 09:00"))
    open_campaign(h.make("boss"), FIRST, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    clock.set(at("2023-07-10 16:00"))
    _assess(h, tmp, "wq", FIRST, c["W1"], "2023-07-10", GOOD)
    _assess(h, tmp, "hx", FIRST, c["H1"], "2023-07-10", GOOD)
    clock.set(at("2024-05-20 09:00"))
    open_campaign(h.make("boss"), SECOND, date(2024, 6, 1), date(2024, 8, 31), all_=True)
    clock.set(at("2024-07-10 16:00"))
    _assess(h, tmp, "wq", SECOND, c["W1"], "2024-07-10", MAJOR)
    _assess(h, tmp, "hx", SECOND, c["H1"], "2024-07-10", POOR)
    _fire(h, "2024-07-15 10:00", "wq", c["W1"], "hold_interview", "重大事故隐患约谈", **INTERVIEW)
    _fire(h, "2024-07-25 10:00", "hx", c["H1"], "revoke", "公示期满无异议，公告撤销")
    clock.set(at("2024-09-15 10:00"))
    return h
