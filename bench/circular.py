"""Benchmark 7: the circular (通报) of a campaign of 100k enterprises with 300k findings, json and docx,
against the stdlib sqlite3 module running the very statements the report sent.

The data is written straight into a migrated database with Core bulk inserts (executemany per table):
enterprises in the 16 districts, their audit events (register, open_assessment, record_assessment, and
interviews and revocations for some), one campaign with its members (some excluded, some outstanding,
some late), assessments with methods and printed materials, deductions (a few without content, as in
legacy data) and findings (some major, some with evidence rejected). None of that is timed: the figure
is `circular_figures` + `render`, as `safegrade report circular` runs them.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from bench.common import (
    Section,
    World,
    fmt_mb,
    fmt_s,
    median,
    new_world,
    raw_connection,
    rss_mb,
    rules,
    share,
    spread,
    table,
    timed,
    verdict,
)
from safegrade.domain.creditcode import make
from safegrade.models import Assessment, AuditEvent, Campaign, CampaignMember, Deduction, Enterprise, Finding
from safegrade.models import table as model_table
from safegrade.reports.circular import render
from safegrade.services.reporting.circular import circular_figures

TARGET_S = 5.0
CAMPAIGN = "2023年运行质量评估"
STARTS_ON, ENDS_ON = date(2023, 6, 1), date(2023, 8, 31)
REPORT_AT = datetime(2023, 9, 15, 9, 0, tzinfo=UTC)
METHODS = (["资料审查", "现场检查", "现场询问"], ["资料审查", "现场检查"], ["资料审查", "现场询问"])
BATCH = 50_000


@dataclass
class Sizes:
    enterprises: int = 100_000
    findings: int = 300_000
    repeats: int = 3

    @classmethod
    def quick(cls) -> Sizes:
        return cls(enterprises=5_000, findings=15_000, repeats=1)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i:i + BATCH]


def _insert(world: World, model: type, rows: list[dict[str, Any]]) -> None:
    with world.store.write() as session:
        for chunk in _chunks(rows):
            session.execute(insert(model_table(model)), chunk)


def _event(eid: int, seq: int, name: str, src: str | None, dst: str, at: datetime) -> dict[str, Any]:
    return {"enterprise_id": eid, "seq": seq, "event": name, "from_state": src, "to_state": dst, "actor": "bench",
            "role": "bureau", "source": "cli", "reason": "bench", "payload": "{}", "occurred_at": at,
            "rules_version": "bench", "prev_hash": f"{seq - 1:064d}", "hash": f"{seq:064d}"}


def build(world: World, sizes: Sizes, seed: int) -> dict[str, Any]:
    """The campaign's data, inserted table by table; returns what was made (for the text)."""
    rng = random.Random(seed)
    r = rules()
    districts = list(r.districts)
    weights = [6 if r.districts[d].name == "滨海新区" else 1 + (i % 3) for i, d in enumerate(districts)]
    opened = datetime(2023, 6, 1, 1, 0, tzinfo=UTC)
    n = sizes.enterprises
    where = rng.choices(districts, weights, k=n)
    _insert(world, Enterprise, [{
        "credit_code": make(f"91{d}MA{i:07d}"), "name": f"天津市基准{i:06d}有限公司", "district": d, "sector": "机械",
        "in_gongmao": True, "level": "三级", "certificate_no": f"津AQB{i:08d}", "graded_on": date(2022, 3, 1),
        "valid_until": date(2025, 2, 28), "state": "rectifying", "version": 3, "flags": [],
        "created_at": opened, "updated_at": opened} for i, d in enumerate(where, start=1)])
    _insert(world, Campaign, [{"name": CAMPAIGN, "starts_on": STARTS_ON, "ends_on": ENDS_ON,
                               "ledger_due_on": date(2023, 12, 15), "created_by": "bench", "created_at": opened}])
    ids = list(range(1, n + 1))  # a fresh database: ids follow insertion order
    fate = ["excluded" if x < 0.01 else "outstanding" if x < 0.015 else "late" if x < 0.045 else "assessed"
            for x in (rng.random() for _ in ids)]
    _insert(world, CampaignMember, [{
        "campaign_id": 1, "enterprise_id": e, "district": d, "due_on": ENDS_ON, "selected_at": opened,
        "updated_at": opened,
        "excluded_reason": "deregistered" if f == "excluded" else None,
        "assessed_on": None if f in ("excluded", "outstanding") else
        (date(2023, 9, 5) if f == "late" else STARTS_ON + timedelta(days=rng.randrange(90))),
        "late": f == "late"} for e, d, f in zip(ids, where, fate, strict=True)])
    assessed = [e for e, f in zip(ids, fate, strict=True) if f in ("assessed", "late")]
    results = rng.choices(["优", "良", "差"], [61, 33, 6], k=len(assessed))
    _insert(world, Assessment, [{
        "campaign_id": 1, "enterprise_id": e, "assessed_on": date(2023, 7, 10), "assessors": ["评估组"],
        "methods": rng.choice(METHODS), "not_applicable": [],
        "materials": {"口袋书": rng.randrange(200), **({"明白卡": rng.randrange(50)} if rng.random() < 0.3 else {})},
        "score": {"优": 93.0, "良": 82.0, "差": 60.0}[res], "result": res, "veto": False, "deducted": 10.0,
        "applicable_points": 100.0, "rules_version": "bench", "source": "bench", "remarks": "", "recorded_by": "bench",
        "recorded_at": opened} for e, res in zip(assessed, results, strict=True)])
    assessment_of = {e: i for i, e in enumerate(assessed, start=1)}
    items = [i for i in r.assessment.items.values() if i.rectify and not i.veto]
    veto = [i for i in r.assessment.items.values() if i.veto]
    quiet = [i for i in r.assessment.items.values() if not i.rectify]
    deductions, findings = [], []
    for k in range(sizes.findings):  # the findings spread over the assessments, one deduction each
        e = assessed[k % len(assessed)]
        item = rng.choice(veto) if rng.random() < 0.005 else rng.choice(items)
        deductions.append({"assessment_id": assessment_of[e], "element": item.element, "item": item.code,
                           "points": 1.0, "content": "" if rng.random() < 0.001 else f"现场检查发现：{item.label}",
                           "rectify": True})
        findings.append({"enterprise_id": e, "assessment_id": assessment_of[e], "deduction_id": k + 1,
                         "element": item.element, "item": item.code, "content": "现场检查发现", "major": item.veto,
                         "due_on": date(2023, 8, 7), "status": "open", "rejections": int(rng.random() < 0.05),
                         "created_at": opened, "updated_at": opened})
    deductions += [{"assessment_id": assessment_of[e], "element": (it := rng.choice(quiet)).element, "item": it.code,
                    "points": 1.0, "content": "资料审查发现", "rectify": False}
                   for e in rng.sample(assessed, len(assessed) // 10)]
    _insert(world, Deduction, deductions)
    _insert(world, Finding, findings)
    events = []
    later = datetime(2023, 7, 20, 2, 0, tzinfo=UTC)
    for e in ids:
        events += [_event(e, 1, "register", None, "graded", opened - timedelta(days=1)),
                   _event(e, 2, "open_assessment", "graded", "assessing", opened),
                   _event(e, 3, "record_assessment", "assessing", "rectifying", later)]
        roll = rng.random()
        if roll < 0.05:
            events.append(_event(e, 4, "hold_interview", "interview", "rectifying", later + timedelta(days=3)))
        elif roll < 0.07:
            events.append(_event(e, 4, "revoke", "revocation_pending", "revoked", later + timedelta(days=20)))
    _insert(world, AuditEvent, events)
    return {"enterprises": n, "assessed": len(assessed), "deductions": len(deductions), "findings": len(findings),
            "events": len(events)}


def _statements(world: World) -> list[tuple[str, Any]]:
    """The SQL statements one `circular_figures` sends, with their parameters (to replay them raw)."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(world.store.engine, "before_cursor_execute", record)
    try:
        circular_figures(world.ctx, CAMPAIGN)
    finally:
        event.remove(world.store.engine, "before_cursor_execute", record)
    return [(s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT")]


def replay(db: Path, statements: list[tuple[str, Any]]) -> float:
    """Seconds for the stdlib sqlite3 module to run the statements and fetch every row."""
    conn = raw_connection(db, "normal")
    try:
        seconds, _ = timed(lambda: [conn.execute(s, p).fetchall() for s, p in statements])
    finally:
        conn.close()
    return seconds


def run(sizes: Sizes) -> Section:
    with tempfile.TemporaryDirectory(prefix="sg-bench-circular-") as d:
        tmp = Path(d)
        world = new_world(tmp / "circular.db", "normal")
        build_s, made = timed(lambda: build(world, sizes, seed=71))
        world.clock.set(REPORT_AT)
        rss_before = rss_mb()[0]
        cold = {fmt: timed(lambda f=fmt: render(circular_figures(world.ctx, CAMPAIGN), f))[0]
                for fmt in ("json", "docx")}
        runs: dict[str, list[float]] = {k: [] for k in ("figures", "json", "docx", "raw")}
        statements = _statements(world)
        for _ in range(sizes.repeats):
            figures_s, figures = timed(lambda: circular_figures(world.ctx, CAMPAIGN))
            runs["figures"].append(figures_s)
            for fmt in ("json", "docx"):
                render_s, data = timed(lambda f=fmt, g=figures: render(g, f))
                runs[fmt].append(figures_s + render_s)
                size = len(data)
            runs["raw"].append(replay(world.db, statements))
        peak = rss_mb()[1]
        world.close()
    figures_s, json_s, docx_s, raw_s = (median(runs[k]) for k in ("figures", "json", "docx", "raw"))
    label = f"{made['enterprises']:,} enterprises, {made['findings']:,} findings"
    summary = [[f"7. circular json ({label}): gather + render", fmt_s(json_s),
                f"{fmt_s(raw_s)} stdlib sqlite3 runs the report's {len(statements)} queries", f"< {TARGET_S:.0f} s",
                verdict(json_s < TARGET_S)],
               [f"7. circular docx ({label}): gather + render (chart included)", fmt_s(docx_s),
                f"{fmt_s(raw_s)} (the same queries)", f"< {TARGET_S:.0f} s", verdict(docx_s < TARGET_S)]]
    rows = [
        ["`circular_figures` (one read transaction, aggregated in SQL)", spread(runs["figures"], fmt_s), "100%"],
        ["json: `circular_figures` + `render(…, 'json')`", spread(runs["json"], fmt_s), share(json_s, figures_s)],
        ["docx: `circular_figures` + `render(…, 'docx')` (text, two tables, matplotlib chart)",
         spread(runs["docx"], fmt_s), share(docx_s, figures_s)],
        [f"limit: the stdlib sqlite3 module runs the same {len(statements)} SELECTs and fetches their rows",
         spread(runs["raw"], fmt_s), share(raw_s, figures_s)],
    ]
    body = [
        f"The data: {made['enterprises']:,} enterprises in 16 districts, one campaign selecting all of them, "
        f"{made['assessed']:,} assessed, {made['deductions']:,} deductions, {made['findings']:,} findings, "
        f"{made['events']:,} audit events; written with Core bulk inserts in {fmt_s(build_s)} (not timed).", "",
        *table(["what", "time (median; min–max)", "share of `circular_figures`"], rows, "lrr"),
        "",
        f"First (cold) runs, imports of python-docx and matplotlib included: json {fmt_s(cold['json'])}, docx "
        f"{fmt_s(cold['docx'])}. The docx is {size / 1024:,.0f} KB. Peak RSS {fmt_mb(peak)} "
        f"({fmt_mb(peak - rss_before)} above the RSS before the first report).", "",
        "**How measured.** A fresh temp directory and database (migrated; synchronous NORMAL, the report only "
        f"reads); the clock at {REPORT_AT:%Y-%m-%d %H:%M} UTC. {sizes.repeats} timed rounds, each: "
        "`circular_figures(ctx, campaign)`, then `render` of those figures as json and as docx (each format's "
        "figure is the gathering plus its rendering), then the raw replay of the statements one gathering sent "
        "(captured once with a `before_cursor_execute` listener) through a fresh stdlib sqlite3 connection; "
        "medians are the figures.",
    ]
    return Section("7. The circular (通报)", summary, body,
                   {"figures_s": figures_s, "json_s": json_s, "docx_s": docx_s, "raw_s": raw_s, "peak_mb": peak})


if __name__ == "__main__":  # `python -m bench.circular [--quick]`: this benchmark alone, printed
    import sys

    result = run(Sizes.quick() if "--quick" in sys.argv else Sizes())
    print("\n".join(result.body))
    print(json.dumps(result.figures))
