"""One enterprise in each state on 2023-12-15 (DAY), driven there through the lifecycle's own events, for the
tests of the 台账 of valid grades (services/test_ledger_valid.py, cli/test_ledger_asof.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from safegrade.clock import FixedClock, TestClock
from safegrade.services.campaign import open_campaign
from safegrade.services.context import Context
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from tests.conftest import at
from tests.factories import build_world, row, write_ledger

DAY = at("2023-12-15 10:00")
# each state, the ledger row number of its enterprise, its 有效期至, and whether it is listed on DAY
STATES: dict[str, tuple[int, str, bool]] = {
    "graded": (1, "2025-02-28", True),
    "assessing": (2, "2025-02-28", True),
    "interview": (3, "2025-02-28", True),
    "rectifying": (4, "2025-02-28", True),
    "closed": (5, "2025-02-28", True),
    "revocation_pending_in_publicity": (6, "2025-02-28", True),
    "revocation_pending_after_publicity": (7, "2025-02-28", False),
    "revoked": (8, "2025-02-28", False),
    "excluded": (9, "2025-02-28", False),
    "expired": (10, "2023-09-30", False),
    "validity_passed_without_expire": (11, "2023-09-30", False),
}
REVOCATION = {"revocation_reason": "poor_operation", "revocation_source": "assessment"}


def code_of(name: str) -> str:
    return row(STATES[name][0])["统一社会信用代码"]


def as_of(ctx: Context, instant: datetime) -> Context:
    return dataclasses.replace(ctx, clock=FixedClock(instant, ctx.settings.zone))


def build_states(make_ctx: Callable[..., Context], clock: TestClock, tmp_path: Path, url: str | None) -> None:
    """Every enterprise of STATES (武清) in its state on DAY, through the lifecycle's own events."""
    def mk(actor: str | None = None) -> Context:
        return make_ctx(actor, url=url)

    build_world(make_ctx, tmp_path, per_district=0, url=url)
    boss, wq = mk("boss"), mk("wq")
    import_ledger(boss, [write_ledger(tmp_path / "states.csv",
                                      [row(i, valid_until=until) for i, until, _ in STATES.values()])])
    (tmp_path / "codes.txt").write_text(code_of("assessing") + "\n", encoding="utf-8")
    open_campaign(boss, "2023年运行质量评估", date(2023, 6, 1), date(2023, 12, 31), codes_file=tmp_path / "codes.txt")
    interview = {"attendees": "企业主要负责人", "record": "约谈记录"}
    for name in ("interview", "rectifying", "closed"):
        fire_event(wq, code_of(name), "summon", reason="约谈")
    for name in ("rectifying", "closed"):
        fire_event(wq, code_of(name), "hold_interview", reason="完成约谈", data=interview)
    fire_event(wq, code_of("closed"), "close", reason="整改闭环")
    fire_event(wq, code_of("excluded"), "exclude", reason="注销")
    clock.set(at("2023-10-09 09:00"))
    fire_event(wq, code_of("expired"), "expire", reason="有效期届满")
    clock.set(at("2023-11-01 09:00"))
    for name in ("revocation_pending_after_publicity", "revoked"):
        fire_event(wq, code_of(name), "propose_revocation", reason="运行质量差", data=REVOCATION)
    clock.set(at("2023-11-20 09:00"))
    fire_event(wq, code_of("revoked"), "revoke", reason="公示期满")
    clock.set(at("2023-12-13 09:00"))
    fire_event(wq, code_of("revocation_pending_in_publicity"), "propose_revocation", reason="运行质量差",
               data=REVOCATION)
    clock.set(DAY)
