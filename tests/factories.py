"""Plain factory functions for tests: ledger rows, ledger files, a small world of actors and enterprises, the
deadline tests' campaign with its assessments and outbox, rule and config files (fixtures are in conftest.py)."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from safegrade.clock import TestClock
from safegrade.domain.creditcode import make
from safegrade.errors import RulesError
from safegrade.models import Reminder, table
from safegrade.rules import load_rules
from safegrade.services.actors import add_actor, ensure_system_actor
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.context import Context
from safegrade.services.ledger import import_ledger
from tests.conftest import at

HEADERS = ("序号", "区", "企业名称", "统一社会信用代码", "行业类别", "标准化等级", "证书编号", "定级日期", "有效期至")
DISTRICT_CODES = {"武清区": "120114", "河西区": "120103", "滨海新区": "120116", "北辰区": "120113"}


def credit_code(i: int, district: str = "武清区") -> str:
    """A valid, unique credit code for enterprise number i."""
    division = DISTRICT_CODES.get(district, "120101")
    return make(f"91{division}MA{i:07d}")


def row(i: int, district: str = "武清区", sector: str = "机械", graded_on: str = "2022-03-01",
        valid_until: str = "2025-02-28", **extra: str) -> dict[str, str]:
    r = {"序号": str(i), "区": district, "企业名称": f"天津市测试{i:04d}机械有限公司",
         "统一社会信用代码": credit_code(i, district), "行业类别": sector, "标准化等级": "三级",
         "证书编号": f"津AQBJXⅢ2022{i:05d}", "定级日期": graded_on, "有效期至": valid_until}
    r.update(extra)
    return r


def write_ledger(path: Path, rows: Sequence[dict[str, str]], headers: Sequence[str] = HEADERS) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(headers), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@dataclass
class World:
    """Actors: boss (bureau), wq (武清区 officer), hx (河西区 officer), rev (reviewer), system;
    enterprises: `wuqing` and `hexi` credit codes."""

    wuqing: list[str]
    hexi: list[str]

    @property
    def all(self) -> list[str]:
        return [*self.wuqing, *self.hexi]


def build_world(make_ctx: Callable[..., Context], tmp_path: Path, per_district: int = 3, url: str | None = None
                ) -> World:
    ctx = make_ctx(url=url)
    ensure_system_actor(ctx)
    add_actor(ctx, "boss", "bureau")
    boss = make_ctx("boss", url=url)
    add_actor(boss, "wq", "district", district="武清")
    add_actor(boss, "hx", "district", district="河西区")
    add_actor(boss, "rev", "reviewer")
    rows = [row(i, "武清区") for i in range(1, per_district + 1)]
    rows += [row(100 + i, "河西区") for i in range(1, per_district + 1)]
    import_ledger(boss, [write_ledger(tmp_path / "world-ledger.csv", rows)])
    return World([r["统一社会信用代码"] for r in rows[:per_district]],
                 [r["统一社会信用代码"] for r in rows[per_district:]])


def plain(value: Any) -> Any:
    """A service's contract (a frozen dataclass), or a list of them, as the dict of its fields, recursively —
    the shape the service returned before it had contracts, which the tests read and compare."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    return asdict(value)


# --- the deadline tests' campaign (services/test_sweep.py, services/test_plan.py, flows/test_deadlines.py) ---

CAMPAIGN = "2023年运行质量评估"
DEDUCTIONS = [{"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"}]
MAJOR = [{"item": "ZD02", "points": 5, "content": "粉尘涉爆除尘系统未按规定采用防爆设计"}]


def campaign_world(make_ctx: Callable[..., Context], tmp_path: Path) -> World:
    """build_world with two enterprises a district, all selected for CAMPAIGN (2023-06-01 – 2023-08-31)."""
    w = build_world(make_ctx, tmp_path, per_district=2)
    open_campaign(make_ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True,
                  ledger_due_on=date(2023, 12, 15))
    return w


def assess(make_ctx: Callable[..., Context], tmp_path: Path, clock: TestClock, code: str,
           deductions: Sequence[dict[str, Any]], on: str = "2023-07-10", actor: str = "wq") -> None:
    """An assessment of `code` in CAMPAIGN on day `on` (at 16:00 by the test clock), imported as `actor`."""
    clock.set(at(f"{on} 16:00"))
    path = tmp_path / f"assess-{code}-{on}.yaml"
    path.write_text(yaml.safe_dump([{
        "credit_code": code, "campaign": CAMPAIGN, "assessed_on": on, "assessors": ["王工"], "methods": ["资料审查"],
        "deductions": list(deductions)}], allow_unicode=True), encoding="utf-8")
    import_assessments(make_ctx(actor), [path])


def outbox(make_ctx: Callable[..., Context], subject: str | None = None) -> list[tuple[str, str, str]]:
    """(subject, step, audience) of every queued message, in order."""
    reminder = table(Reminder)
    query = select(reminder.c.subject, reminder.c.step, reminder.c.audience).order_by(reminder.c.id)
    if subject:
        query = query.where(reminder.c.subject == subject)
    with make_ctx().store.read() as session:
        return [(r.subject, r.step, r.audience) for r in session.execute(query)]


# --- files: a config.yaml, a copy of the rules edited ---------------------------------------------------

def config(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edit(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the rules file `name` in `directory` (a copy of the rules) through its parsed YAML."""
    path = directory / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    """The problems load_rules finds in `directory`, which it must refuse."""
    with pytest.raises(RulesError) as info:
        load_rules(directory)
    assert str(info.value) == f"{len(info.value.problems)} problem(s) in the rules (each listed below)"
    return info.value.problems


# --- concurrency ------------------------------------------------------------------------------------

def race(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run the callables at once; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # the outcome is what the test inspects
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results
