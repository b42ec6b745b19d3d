"""Plain factory functions for tests: ledger rows, ledger files, a small world of actors and enterprises."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from safegrade.domain.creditcode import make
from safegrade.services.actors import add_actor, ensure_system_actor
from safegrade.services.context import Context
from safegrade.services.ledger import import_ledger

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
