"""Benchmark 10: what dated rows cost (issue 10, schema 0006). Each versioned table keeps every version of every
row through a database trigger; this measures, in the same run:

- a ledger import (every enterprise row inserted, and versioned) with the triggers, and on a copy of the same
  empty database whose triggers were dropped — the limit: the same import without keeping versions;
- `enterprise list` of every enterprise now (the tables read as they are) and as of an instant before the
  last change (each table read through its versions) — the cost of reading the past.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.common import Section, copy_db, fmt_s, new_world, open_world, rules, spread, table, timed
from safegrade.clock import FixedClock
from safegrade.demo.synthetic import synthetic_rows, write_csv
from safegrade.models import VERSIONED
from safegrade.services.enterprise import list_enterprises
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import FireRequest, fire_many


@dataclass(frozen=True)
class Sizes:
    rows: int = 100_000
    repeats: int = 3  # interleaved runs of each import

    @classmethod
    def quick(cls) -> Sizes:
        return cls(rows=2_000, repeats=1)


def _drop_triggers(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        for name in VERSIONED:
            conn.execute(f"DROP TRIGGER IF EXISTS trg_{name}_version_insert")
            conn.execute(f"DROP TRIGGER IF EXISTS trg_{name}_version_update")
        conn.commit()
    finally:
        conn.close()


def _import(template: Path, db: Path, ledger: Path, *, versions: bool) -> float:
    copy_db(template, db)
    if not versions:
        _drop_triggers(db)
    world = open_world(db, "full")
    seconds, _ = timed(lambda: import_ledger(world.ctx, [ledger]))
    world.close()
    return seconds


def run(sizes: Sizes) -> Section:
    with tempfile.TemporaryDirectory(prefix="sg-bench-dated-") as tmp:
        work = Path(tmp)
        template = work / "template.db"
        new_world(template).close()
        ledger = work / f"ledger-{sizes.rows}.csv"
        write_csv(synthetic_rows(sizes.rows, seed=41, rules=rules()), ledger)
        kept, dropped = [], []
        for i in range(sizes.repeats):  # interleaved, so that other work on the machine falls on both alike
            kept.append(_import(template, work / f"kept-{i}.db", ledger, versions=True))
            dropped.append(_import(template, work / f"dropped-{i}.db", ledger, versions=False))
        # reading: the last imported database, with one event fired on 1,000 enterprises an hour later
        world = open_world(work / f"kept-{sizes.repeats - 1}.db", "full")
        codes = [e.credit_code for e in list_enterprises(world.ctx)][:1_000]
        before = world.clock.now()
        world.clock.advance(timedelta(hours=1))
        fire_many(world.ctx, [FireRequest(c, "summon", "日常检查") for c in codes])
        now_s, listed_now = timed(lambda: list_enterprises(world.ctx))
        world.ctx.clock = FixedClock(before + timedelta(minutes=30))
        past_s, listed_then = timed(lambda: list_enterprises(world.ctx))
        world.close()
    median_kept, median_dropped = sorted(kept)[len(kept) // 2], sorted(dropped)[len(dropped) // 2]
    share = median_kept / median_dropped - 1
    summary = [
        [f"10. ledger import, {sizes.rows:,} rows csv, keeping every row's version (triggers)",
         spread(kept, fmt_s), f"{spread(dropped, fmt_s)} the same import, triggers dropped", "— (none given)",
         f"+{share:.0%}"],
        [f"10. enterprise list of {len(listed_now):,} enterprises: now / as of an earlier instant",
         f"{fmt_s(now_s)} / {fmt_s(past_s)}", "the tables as they are / through their versions", "— (none given)",
         "–"],
    ]
    body = [
        "Schema 0006 keeps every version of every row of enterprise, finding, campaign_member, deadline and reminder "
        "(database triggers). An import writes each enterprise row twice (the row and its first version) and a "
        "lifecycle event's update once more; the limit beside the import is the same import on a copy of the same "
        "empty database with the triggers dropped, measured in the same run, interleaved.",
        "",
        *table(["case", "runs", "median"], [
            ["import, versions kept", spread(kept, fmt_s), fmt_s(median_kept)],
            ["import, triggers dropped", spread(dropped, fmt_s), fmt_s(median_dropped)],
        ]),
        "",
        f"Reading now reads the tables as they are ({fmt_s(now_s)} for {len(listed_now):,} enterprises); reading as "
        f"of an instant before the last change reads each table through its versions ({fmt_s(past_s)}, "
        f"{len(listed_then):,} enterprises, {len(codes):,} of them as they stood before their summons).",
    ]
    return Section("10. Dated rows", summary, body,
                   {"import_kept_s": median_kept, "import_dropped_s": median_dropped, "list_now_s": now_s,
                    "list_past_s": past_s})
