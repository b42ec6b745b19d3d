"""Benchmark 8: the daily deadline sweep (`sweep_deadlines`, called directly: no Prefect start-up) over 100k
enterprises with 300k open findings of which 1% are due today, then with 2× and 4× the open findings and the
same ones due — its time should follow what is due, not what is open.

The world: a synthetic ledger imported through `import_ledger` (one `register` event and one validity deadline
per enterprise, none due on the sweep day); the enterprises with a due finding moved to 整改中 as an interview
would leave them (`summon`, `hold_interview` through fire_many), so that their escalations really fire; then
findings and their deadline rows written with Core bulk inserts mirroring what `import_assessments` and
`set_deadlines` write (without the assessments and deductions, which the sweep never reads). One finding of
each due enterprise is due today, in thirds: its −7 reminder, its due day, or its escalation (five working
days after the due date: rectifying → 约谈, plus notices); its other findings, and everyone else's, are due in
8–67 days. A second case makes every due finding escalate. Each timed sweep runs on its own copy of the world,
after one untimed warm-up sweep (statement caches).

Limits measured in the same run: the stdlib sqlite3 module writing the same outbox rows and deadline updates
(executemany, one commit), and the index query that finds the due deadlines alone.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from bench.common import (
    TZ,
    Profile,
    Section,
    World,
    copy_db,
    fmt_s,
    median,
    new_world,
    open_world,
    populate,
    profile,
    profile_markdown,
    raw_connection,
    rules,
    share,
    spread,
    table,
    timed,
    verdict,
)
from safegrade.clock import TestClock
from safegrade.domain import timetable
from safegrade.models import Deadline, Enterprise, Finding
from safegrade.models import table as core_table
from safegrade.services.context import Context, open_context
from safegrade.services.lifecycle import FireRequest, fire_many
from safegrade.services.sweep import SweepReport, sweep_deadlines

DEADLINE, FINDING, ENTERPRISE = core_table(Deadline), core_table(Finding), core_table(Enterprise)
TODAY = date(2023, 9, 8)  # a Friday; no synthetic grade's validity reminder (−90) is due before October 2023
SWEEP_AT = datetime(2023, 9, 8, 8, 0, tzinfo=TZ)
TARGET_S = 2.0
CHUNK = 50_000
ITEMS = ("ZP01", "ZN01", "GZ01", "FX03", "PX01", "GZ02")
PATTERNS = ("reminder", "due", "escalation")  # what the one due finding of a due enterprise has due today


@dataclass
class Sizes:
    enterprises: int = 100_000
    findings_per_enterprise: int = 3  # 300k open findings
    due: int = 3_000                  # 1% of the open findings
    growth: tuple[int, ...] = (1, 2, 4)
    repeats: int = 3                  # timed sweeps of the headline case, each on its own copy

    @classmethod
    def quick(cls) -> Sizes:
        return cls(enterprises=5_000, due=150, repeats=1)


@dataclass
class Base:
    world: World
    enterprises: list[tuple[int, str]]  # (id, district), by id
    due: dict[int, str]                 # enterprise id → pattern
    findings: int = 0                   # written so far
    next_id: int = 1


def _escalation_due_on(today: date) -> date:
    """The due date whose escalation (after_working_days) falls on `today`."""
    kind = rules().deadlines.kind("finding")
    assert kind.escalate is not None
    day = today - timedelta(days=1)
    while kind.escalate.on(day) > today:
        day -= timedelta(days=1)
    assert kind.escalate.on(day) == today, "no due date escalates exactly today"
    return day


def _due_on(pattern: str) -> date:
    return {"reminder": TODAY + timedelta(days=7), "due": TODAY, "escalation": _escalation_due_on(TODAY)}[pattern]


def _chunks(items: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def build(tmp: Path, sizes: Sizes, patterns: Sequence[str]) -> Base:
    """The world with `findings_per_enterprise` open findings each; `patterns` cycled over the due ones."""
    world = new_world(tmp / "sweep.db", "full")
    codes = populate(world, sizes.enterprises, seed=81, workdir=tmp)
    with world.store.read() as session:
        rows = session.execute(select(ENTERPRISE.c.id, ENTERPRISE.c.district, ENTERPRISE.c.credit_code)
                               .order_by(ENTERPRISE.c.id)).all()
    assert len(rows) == len(codes)
    step = max(1, len(rows) // sizes.due)
    chosen = rows[::step][:sizes.due]
    for event, data in (("summon", {}), ("hold_interview", {"attendees": "法定代表人", "record": "限期整改"})):
        for part in _chunks([r[2] for r in chosen], 1_000):
            fire_many(world.ctx, [FireRequest(code, event, "bench: 约谈后限期整改", data) for code in part],
                      strict=True)
    base = Base(world, [(r[0], r[1]) for r in rows], {r[0]: patterns[i % len(patterns)] for i, r in enumerate(chosen)})
    add_findings(base, sizes.findings_per_enterprise, with_due=True)
    return base


def add_findings(base: Base, per_enterprise: int, *, with_due: bool) -> None:
    """`per_enterprise` more open findings for every enterprise, each with its deadline row; with `with_due`,
    the first finding of each due enterprise is the due one. Core executemany, one transaction per chunk."""
    kind = rules().deadlines.kind("finding")
    now = base.world.clock.now()
    watched = TODAY - timedelta(days=1)  # as if yesterday's sweep ran
    items = rules().assessment.items
    work = [(eid, district, k) for eid, district in base.enterprises for k in range(per_enterprise)]
    for part in _chunks(work, CHUNK):
        findings, deadlines = [], []
        for eid, district, k in part:
            fid = base.next_id
            base.next_id += 1
            pattern = base.due.get(eid) if with_due and k == 0 else None
            due_on = _due_on(pattern) if pattern else TODAY + timedelta(days=8 + fid % 60)
            item = ITEMS[fid % len(ITEMS)]
            findings.append({"id": fid, "enterprise_id": eid, "assessment_id": None, "deduction_id": None,
                             "element": items[item].element, "item": item, "content": f"bench finding {fid}",
                             "major": False, "due_on": due_on, "status": "open", "rejections": 0,
                             "created_at": now, "updated_at": now})
            deadlines.append({"kind": "finding", "subject": f"finding:{fid}", "district": district,
                              "enterprise_id": eid, "campaign_id": None, "finding_id": fid, "due_on": due_on,
                              "status": "open", "done_through": watched,
                              "next_on": timetable.next_on(kind, due_on, watched, escalated=False),
                              "escalation": None, "escalated_on": None, "escalation_note": None,
                              "closed_note": None, "created_at": now, "updated_at": now})
        with base.world.store.write() as session:
            session.execute(insert(FINDING), findings)
            session.execute(insert(DEADLINE), deadlines)
    base.findings += len(work)


def open_copy(src: Path, dst: Path, synchronous: str = "full") -> World:
    copy_db(src, dst)
    return open_world(dst, synchronous, TestClock(SWEEP_AT))


def system(world: World) -> Context:
    """The sweep's context: the system actor, from a flow (opened, and the actor loaded, before any timing)."""
    ctx = open_context(world.ctx.settings, actor="system", source="flow", clock=world.clock, store=world.store,
                       rules=rules())
    ctx.actor()
    return ctx


def timed_sweep(src: Path, tmp: Path, name: str, synchronous: str = "full") -> tuple[float, SweepReport, Path]:
    """One sweep on a fresh copy of `src` (the copy is kept for the limits measured on it)."""
    world = open_copy(src, tmp / f"{name}.db", synchronous)
    try:
        ctx = system(world)
        seconds, report = timed(lambda: sweep_deadlines(ctx))
    finally:
        world.close()
    return seconds, report, world.db


def due_query(db: Path) -> tuple[float, int]:
    """The sweep's first claim, alone: the due deadlines by the index on next_on (stdlib sqlite3)."""
    conn = raw_connection(db, "full")
    try:
        seconds, rows = timed(lambda: conn.execute(
            "SELECT id FROM deadline WHERE next_on <= ? ORDER BY next_on, id", (TODAY.isoformat(),)).fetchall())
    finally:
        conn.close()
    return seconds, len(rows)


def raw_writes(swept: Path) -> tuple[float, int, int]:
    """The stdlib sqlite3 module writing what the sweep wrote to the outbox and the deadlines, in one
    transaction on a swept copy: its outbox rows deleted and inserted again, its deadline rows updated again."""
    conn = raw_connection(swept, "full")
    try:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(reminder)") if r[1] != "id"]
        rows = conn.execute(f"SELECT {', '.join(cols)} FROM reminder").fetchall()
        updates = conn.execute("SELECT status, next_on, done_through, escalation, escalated_on, escalation_note, "
                               "closed_note, updated_at, id FROM deadline WHERE done_through = ?",
                               (TODAY.isoformat(),)).fetchall()
        conn.execute("DELETE FROM reminder")
        insert_sql = f"INSERT INTO reminder ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        update_sql = ("UPDATE deadline SET status = ?, next_on = ?, done_through = ?, escalation = ?, "
                      "escalated_on = ?, escalation_note = ?, closed_note = ?, updated_at = ? WHERE id = ?")

        def write() -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert_sql, rows)
            conn.executemany(update_sql, updates)
            conn.execute("COMMIT")

        seconds, _ = timed(write)
    finally:
        conn.close()
    return seconds, len(rows), len(updates)


@dataclass
class Case:
    factor: int
    findings: int
    due: int
    seconds: list[float]
    report: SweepReport
    query_s: float


@dataclass
class Extras:
    """What is measured on the 1× world besides the headline."""

    normal_s: float
    raw: tuple[float, int, int]  # seconds, outbox rows, deadline updates
    escalating: tuple[float, SweepReport]


def all_escalating(src: Path, dst: Path) -> Path:
    """A copy of the world in which every due finding is at its escalation day (rectifying → 约谈)."""
    copy_db(src, dst)
    world = open_world(dst, "full")
    day = _due_on("escalation")
    kind = rules().deadlines.kind("finding")
    watched = TODAY - timedelta(days=1)
    with world.store.write() as session:
        ids = [r[0] for r in session.execute(select(DEADLINE.c.finding_id).where(DEADLINE.c.next_on <= TODAY))]
        session.execute(update(FINDING).where(FINDING.c.id.in_(ids)).values(due_on=day))
        session.execute(update(DEADLINE).where(DEADLINE.c.finding_id.in_(ids)).values(
            due_on=day, next_on=timetable.next_on(kind, day, watched, escalated=False)))
    world.close()
    return dst


def profiled(src: Path, tmp: Path, what: str) -> Profile:
    """A cProfile of one sweep on a copy of `src`."""
    world = open_copy(src, tmp / "profile.db")
    try:
        return profile(what, partial(sweep_deadlines, system(world)))
    finally:
        world.close()
        world.db.unlink()


def extras(src: Path, tmp: Path) -> Extras:
    """synchronous=NORMAL; the stdlib limit on what that sweep wrote; every due finding escalating."""
    normal_s, _, swept = timed_sweep(src, tmp, "normal", "normal")
    raw = raw_writes(swept)
    swept.unlink()
    esc_src = all_escalating(src, tmp / "escalating.db")
    esc_s, esc_report, swept = timed_sweep(esc_src, tmp, "escalating-swept")
    swept.unlink()
    esc_src.unlink()
    return Extras(normal_s, raw, (esc_s, esc_report))


def measure(src: Path, tmp: Path, factor: int, findings: int, repeats: int) -> Case:
    seconds, reports = [], []
    for i in range(repeats):
        s, report, swept = timed_sweep(src, tmp, f"x{factor}-{i}")
        seconds.append(s)
        reports.append(report)
        swept.unlink()
    query_s, due = due_query(src)
    return Case(factor, findings, due, seconds, reports[0], query_s)


def run(sizes: Sizes) -> Section:
    with tempfile.TemporaryDirectory(prefix="sg-bench-sweep-") as d:
        tmp = Path(d)
        build_s, base = timed(lambda: build(tmp, sizes, PATTERNS))
        base.world.close()
        src = base.world.db
        timed_sweep(src, tmp, "warm-up")[2].unlink()  # statement caches, imports: not part of any figure
        cases: list[Case] = []
        profiles: list[Profile] = []
        for factor in sorted(sizes.growth):
            extra = factor * sizes.findings_per_enterprise - base.findings // len(base.enterprises)
            if extra > 0:  # more open findings, none of them due
                base.world = open_world(src, "full")
                add_findings(base, extra, with_due=False)
                base.world.close()
            cases.append(measure(src, tmp, factor, base.findings, sizes.repeats if factor == 1 else 1))
            if factor == 1:
                more = extras(src, tmp)
            if factor in (1, max(sizes.growth)):
                profiles.append(profiled(src, tmp, f"sweep_deadlines at {factor}× ({cases[-1].due:,} due of "
                                                   f"{base.findings:,} open findings)"))
    return _section(sizes, build_s, cases, more, profiles)


def _section(sizes: Sizes, build_s: float, cases: list[Case], more: Extras, profiles: list[Profile]) -> Section:
    one = cases[0]
    head_s = median(one.seconds)
    raw_s, raw_rows, raw_updates = more.raw
    esc_s, esc_report = more.escalating
    normal_s = more.normal_s
    r = one.report
    what = (f"8. deadline sweep: {sizes.enterprises:,} enterprises, {one.findings:,} open findings, "
            f"{one.due:,} due ({r.escalations:,} escalate), synchronous=FULL")
    summary = [[what, spread(one.seconds, fmt_s),
                f"{fmt_s(raw_s)} raw sqlite3 writes of its {raw_rows:,} outbox rows + {raw_updates:,} deadline "
                f"updates", f"< {fmt_s(TARGET_S)}", verdict(head_s < TARGET_S)]]
    for c in cases[1:]:
        summary.append([f"8. deadline sweep at {c.factor}× the open findings ({c.findings:,}), same {c.due:,} due",
                        fmt_s(median(c.seconds)), f"{share(median(c.seconds), head_s)} of the 1× time", "follows due",
                        "–"])
    rows = []
    for c in cases:
        rep = c.report
        rows.append([f"{c.factor}×", f"{c.findings:,}", f"{c.due:,}", spread(c.seconds, fmt_s),
                     f"{rep.reminders + rep.superseded:,}", f"{rep.escalations:,}", f"{rep.batches}",
                     f"{c.query_s * 1000:.1f} ms"])
    body = [
        f"Each sweep is `sweep_deadlines` (batches of 500) on its own copy of the world, acting as `system` "
        f"on {TODAY} 08:00; the world took {fmt_s(build_s)} to build (not in any figure). The due deadlines are "
        f"one finding in each of {one.due:,} enterprises (in 整改中), in thirds: its −7 reminder, its due day, "
        "its escalation (→ 约谈, with notices to district and bureau).", "",
        *table(["open findings", "findings", "due", "sweep", "outbox rows", "escalations", "batches",
                "due query alone (sqlite3)"], rows, "lrrrrrrr"),
        "",
        *table(["what", "time", "share of the 1× sweep"], [
            ["`sweep_deadlines`, 1×, synchronous=FULL", fmt_s(head_s), "100%"],
            ["`sweep_deadlines`, 1×, synchronous=NORMAL", fmt_s(normal_s), share(normal_s, head_s)],
            [f"limit: stdlib sqlite3, one transaction: {raw_rows:,} outbox rows (executemany) + {raw_updates:,} "
             "deadline updates", fmt_s(raw_s), share(raw_s, head_s)],
            ["limit: the due query alone (index on next_on)", f"{one.query_s * 1000:.1f} ms",
             share(one.query_s, head_s)],
            [f"`sweep_deadlines`, 1×, every due finding escalating ({esc_report.escalations:,} events, "
             f"{esc_report.reminders + esc_report.superseded:,} outbox rows)", fmt_s(esc_s), share(esc_s, head_s)],
        ], "lrr"),
        "",
        *[line for p in profiles for line in (*profile_markdown(p), "")],
    ]
    figures = {"sweep_s": head_s, "normal_s": normal_s, "raw_s": raw_s, "esc_s": esc_s, "build_s": build_s,
               **{f"sweep_{c.factor}x_s": median(c.seconds) for c in cases}}
    return Section("8. Deadline sweep", summary, body, figures)


if __name__ == "__main__":  # `python -m bench.sweep [--quick]`: this benchmark alone, printed
    import sys

    section = run(Sizes.quick() if "--quick" in sys.argv else Sizes())
    print("\n".join(["## " + section.title, "", *table(["benchmark", "measured", "limit", "target", "verdict"],
                                                       section.summary, "lrrrl"), "", *section.body]))
