"""Benchmark 5: importing 10k assessments of 10 deductions each (xlsx and YAML) through
import_assessments — assessments/s, deductions/s, wall time and peak memory — against read_assessments
alone (validation without the database) and the stdlib sqlite3 module writing the very rows the import
left.

One set-up process builds the template world (synthetic enterprises registered with import_ledger, one
campaign over all of them with open_campaign --all) and writes the files; then every case runs in a
fresh subprocess (`python -m bench.assessments CASE TEMPLATE FILE WORKDIR`), an import on its own copy
of the template, so that its peak RSS (VmHWM) is its own; the baseline is the RSS right after the
imports below.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from bench.common import (
    ROOT,
    TZ,
    Profile,
    ProfileLine,
    Section,
    copy_db,
    fmt_mb,
    fmt_rate,
    fmt_s,
    new_world,
    open_world,
    populate,
    profile,
    profile_markdown,
    rate,
    raw_connection,
    rss_mb,
    rules,
    share,
    table,
    timed,
)
from safegrade.clock import TestClock
from safegrade.domain.scoring import Deduction, score
from safegrade.io.assessment import AssessmentInput, assessments_to_yaml, read_assessments, write_assessments_xlsx
from safegrade.models import CampaignMember, Enterprise
from safegrade.models import table as model_table
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign

CAMPAIGN = "2023年定级企业运行质量评估"
STARTS_ON, ENDS_ON = date(2023, 6, 1), date(2023, 8, 31)
IMPORT_AT = datetime(2023, 9, 8, 9, 0, tzinfo=TZ)  # after the window; every assessment is dated inside it
FORMATS = ("xlsx", "yaml")
CASES = ("read-xlsx", "read-yaml", "import-xlsx", "import-yaml")
# the order the raw limit writes the tables in (parents first); any other changed table follows
WRITE_ORDER = ("enterprise", "assessment", "deduction", "finding", "campaign_member", "audit_event")
_FOUND = ("现场检查发现", "资料审查未见记录", "现场询问从业人员不清楚", "抽查台账发现")


@dataclass
class Sizes:
    assessments: int = 10_000   # enterprises in the campaign, one assessment each
    deductions: int = 10        # per assessment, on distinct items
    profile_assessments: int = 1_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(assessments=300, profile_assessments=100)


# --- the assessments ------------------------------------------------------------------------------


def make_inputs(codes: list[str], per: int, seed: int) -> list[AssessmentInput]:
    """One valid assessment per code, `per` deductions on distinct items, results near the circular's
    61 % 优 / 33 % 良 / 6 % 差, about 2 % with a major hazard (a veto item), dated inside the window."""
    assessment = rules().assessment
    items = [i for i in assessment.items.values() if not i.veto]
    veto = [i for i in assessment.items.values() if i.veto]
    may_be_na = [c for c, i in assessment.items.items() if i.not_applicable]
    rng = random.Random(seed)
    out = []
    for code in codes:
        roll = rng.random()
        budget = rng.uniform(per * 0.5, 9.5) if roll < 0.61 else rng.uniform(11, 24) if roll < 0.94 \
            else rng.uniform(26, 40)
        chosen = rng.sample(items, per)
        if veto and rng.random() < 0.02:
            chosen[-1] = rng.choice(veto)
        weights = [rng.random() + 0.1 for _ in chosen]
        deductions = []
        for item, weight in zip(chosen, weights, strict=True):
            points = item.points if item.veto else \
                max(0.5, min(item.points, round(budget * weight / sum(weights) * 2) / 2))
            deductions.append(Deduction(item.code, float(points), f"{rng.choice(_FOUND)}：{item.label}",
                                        item.rectify or item.veto))
        deducted = {d.item for d in deductions}
        not_applicable = tuple(c for c in may_be_na if c not in deducted and rng.random() < 0.1)
        out.append(AssessmentInput(
            file="", row=0, credit_code=code, campaign=CAMPAIGN,
            assessed_on=STARTS_ON + timedelta(days=1 + rng.randrange((ENDS_ON - STARTS_ON).days)),
            assessors=("区应急局评估组", "聘请专家"), methods=("资料审查", "现场检查", "现场询问"),
            deductions=tuple(deductions), not_applicable=not_applicable,
            materials={"口袋书": rng.randrange(20, 200)}, remarks="" if rng.random() < 0.9 else "企业配合良好"))
    return out


def setup(template: Path, outdir: Path, n: int, per: int, profile_n: int) -> dict[str, Any]:
    """The template world and the files (untimed for the figures; the set-up's own times are reported)."""
    outdir.mkdir(parents=True, exist_ok=True)
    world = new_world(template, "full")
    populate_s, codes = timed(lambda: populate(world, n, seed=51, workdir=outdir))
    opened_s, opened = timed(lambda: open_campaign(world.ctx, CAMPAIGN, STARTS_ON, ENDS_ON, all_=True))
    member, enterprise = model_table(CampaignMember), model_table(Enterprise)
    with world.store.read() as session:
        selected = [r[0] for r in session.execute(
            select(enterprise.c.credit_code).join(member, member.c.enterprise_id == enterprise.c.id)
            .order_by(member.c.id))]
        states = dict(session.execute(select(enterprise.c.state, func.count()).group_by(enterprise.c.state)).all())
    world.close()
    inputs = make_inputs(selected, per, seed=52)
    files = {"xlsx": outdir / f"assessments-{len(inputs)}.xlsx", "yaml": outdir / f"assessments-{len(inputs)}.yaml",
             "profile": outdir / f"assessments-{profile_n}.xlsx"}
    xlsx_s, _ = timed(lambda: write_assessments_xlsx(inputs, files["xlsx"], rules().assessment))
    yaml_s, _ = timed(lambda: files["yaml"].write_text(assessments_to_yaml(inputs), encoding="utf-8"))
    write_assessments_xlsx(inputs[:profile_n], files["profile"], rules().assessment)
    results: Counter[str] = Counter()
    for a in inputs:
        results[score(rules().assessment, a.deductions, a.not_applicable).result] += 1
    return {
        "enterprises": len(codes), "selected": opened.selected, "skipped": opened.skipped, "states": states,
        "assessments": len(inputs), "deductions": sum(len(a.deductions) for a in inputs),
        "rectify": sum(d.rectify for a in inputs for d in a.deductions),
        "with_veto": sum(any(rules().assessment.items[d.item].veto for d in a.deductions) for a in inputs),
        "expected_results": dict(results), "populate_s": populate_s, "open_campaign_s": opened_s,
        "xlsx_write_s": xlsx_s, "yaml_write_s": yaml_s,
        "files": {k: str(p) for k, p in files.items()},
        "sizes_mb": {k: p.stat().st_size / 2**20 for k, p in files.items()},
    }


# --- the raw write limit --------------------------------------------------------------------------


def _rows(conn: sqlite3.Connection, name: str) -> tuple[list[str], list[str], dict[tuple[Any, ...], tuple[Any, ...]]]:
    """(columns, key columns, key → row) of one table; the key is its primary key, else the rowid."""
    info = conn.execute(f"PRAGMA table_info({name})").fetchall()
    columns = [r[1] for r in info]
    keys = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]] or ["rowid"]
    select_list = ", ".join(columns if keys != ["rowid"] else ["rowid", *columns])
    index = [(["rowid", *columns] if keys == ["rowid"] else columns).index(k) for k in keys]
    out = {}
    for row in conn.execute(f"SELECT {select_list} FROM {name}"):
        out[tuple(row[i] for i in index)] = row if keys != ["rowid"] else row[1:]
    return columns, keys, out


def diff(template: Path, imported: Path) -> dict[str, dict[str, Any]]:
    """What the import changed, table by table: the rows it inserted and, for rows it updated, the
    columns it changed (the union over the table's updated rows) with their new values."""
    before, after = sqlite3.connect(template), sqlite3.connect(imported)
    try:
        names = [r[0] for r in after.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            columns, keys, old = _rows(before, name)
            _, _, new = _rows(after, name)
            inserted = [row for key, row in new.items() if key not in old]
            changed = [(key, row) for key, row in new.items() if key in old and old[key] != row]
            deleted = sum(1 for key in old if key not in new)
            if deleted:
                raise RuntimeError(f"the import deleted {deleted} row(s) of {name}; the raw limit does not replay that")
            if not inserted and not changed:
                continue
            touched = sorted({i for key, row in changed for i, (a, b) in enumerate(zip(old[key], row, strict=True))
                              if a != b})
            updates = [(*(row[i] for i in touched), *key) for key, row in changed]
            out[name] = {"columns": columns, "keys": keys, "inserted": inserted,
                         "set": [columns[i] for i in touched], "updates": updates}
        return out
    finally:
        before.close()
        after.close()


def raw_write_limit(template: Path, imported: Path, workdir: Path) -> dict[str, Any]:
    """Write every row the import inserted or changed into a fresh copy of the template with the stdlib
    module: executemany per table and kind, one transaction, synchronous FULL."""
    changes = diff(template, imported)
    target = copy_db(template, workdir / "raw-limit.db")
    conn = raw_connection(target, "full")
    order = [t for t in WRITE_ORDER if t in changes] + [t for t in changes if t not in WRITE_ORDER]
    # the versions of changed rows (schema 0006) are written by the database's own triggers, here as in the import
    order = [t for t in order if not t.endswith("_version")]
    statements = []
    for name in order:
        c = changes[name]
        if c["set"]:
            statements.append((f"UPDATE {name} SET {', '.join(f'{col} = ?' for col in c['set'])} "
                               f"WHERE {' AND '.join(f'{k} = ?' for k in c['keys'])}", c["updates"]))
        if c["inserted"]:
            statements.append((f"INSERT INTO {name} ({', '.join(c['columns'])}) "
                               f"VALUES ({', '.join('?' * len(c['columns']))})", c["inserted"]))

    def write() -> None:
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            conn.executemany(sql, params)
        conn.execute("COMMIT")

    seconds, _ = timed(write)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in order}
    conn.close()
    check = sqlite3.connect(imported)
    same = all(check.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == n for t, n in counts.items())
    check.close()
    return {"raw_write_s": seconds, "raw_same_counts": same,
            "raw_rows": {t: {"inserted": len(changes[t]["inserted"]), "updated": len(changes[t]["updates"]),
                             "set": changes[t]["set"]} for t in order}}


# --- the cases, each in its own process -----------------------------------------------------------


def breakdown(world: Any, path: Path) -> dict[str, Any]:
    """Where an unprofiled import_assessments spends its time: its steps (read, check, score, record and,
    inside record, each kind of statement, the due dates, the open counts, fire_in), timed with
    perf_counter wrappers set on the service module's names and on Session/Connection.execute in this
    process only; and every statement sent to the sqlite3 cursor, by kind, with its time inside sqlite3."""
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    import safegrade.services.assessment as service
    from bench.transitions import _kind

    spent: Counter[str] = Counter()      # seconds by step or statement kind
    calls: Counter[str] = Counter()
    in_sqlite: Counter[str] = Counter()  # seconds inside cursor.execute, by statement kind
    state: dict[str, Any] = {"depth": 0, "kind": None, "t": 0.0}

    def wrap_function(name: str) -> Any:
        original = getattr(service, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0
                calls[name] += 1

        setattr(service, name, wrapped)
        return original

    def wrap_execute(cls: Any) -> Any:
        original = cls.execute

        def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            if state["depth"]:  # Session.execute runs Connection.execute: count the outer call only
                return original(self, *args, **kwargs)
            state["depth"], state["kind"] = 1, None
            t0 = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                kind = f"sql:{state['kind'] or '?'}"
                spent[kind] += time.perf_counter() - t0
                calls[kind] += 1
                state["depth"] = 0

        cls.execute = execute
        return original

    # SQLAlchemy's before/after_cursor_execute listeners: the library passes all six by name
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:  # noqa: ARG001
        kind = _kind(statement) + (" … RETURNING" if " RETURNING " in statement else "")
        if state["kind"] is None or state["kind"].startswith("BEGIN"):  # a transaction's first statement
            state["kind"] = kind
        state["cursor_kind"], state["t"] = kind, time.perf_counter()
        calls[f"cursor:{kind}"] += 1
        calls["executemany"] += many

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:  # noqa: ARG001
        in_sqlite[state["cursor_kind"]] += time.perf_counter() - state["t"]

    names = ("read_assessments", "_check", "score", "_record", "open_counts_of", "fire_in")
    originals = {name: wrap_function(name) for name in names}
    executes = {cls: wrap_execute(cls) for cls in (Session, Connection)}
    event.listen(world.store.engine, "before_cursor_execute", before)
    event.listen(world.store.engine, "after_cursor_execute", after)
    try:
        total, report = timed(lambda: import_assessments(world.ctx, [path]))
    finally:
        event.remove(world.store.engine, "before_cursor_execute", before)
        event.remove(world.store.engine, "after_cursor_execute", after)
        for name, original in originals.items():
            setattr(service, name, original)
        for cls, original in executes.items():
            cls.execute = original
    return {"total_s": total, "assessments": report.assessments, "deductions": report.deductions,
            "findings": report.findings + report.major_hazards, "spent": dict(spent), "calls": dict(calls),
            "in_sqlite": dict(in_sqlite)}


def run_case(case: str, template: Path, path: Path, workdir: Path, baseline: float) -> dict[str, Any]:
    out: dict[str, Any] = {"case": case, "baseline_mb": baseline}
    if case.startswith("read-"):
        seconds, (found, problems) = timed(lambda: read_assessments(path, rules().assessment))
        out.update(seconds=seconds, assessments=len(found), deductions=sum(len(a.deductions) for a in found),
                   problems=len(problems), peak_mb=rss_mb()[1])
        return out
    if case == "profile":
        counted = open_world(copy_db(template, workdir / "count.db"), "full", clock=TestClock(IMPORT_AT))
        out["breakdown"] = breakdown(counted, path)
        out.update(assessments=out["breakdown"]["assessments"], deductions=out["breakdown"]["deductions"])
        counted.close()
        world = open_world(copy_db(template, workdir / "profile.db"), "full", clock=TestClock(IMPORT_AT))
        per = out["deductions"] / max(out["assessments"], 1)
        prof = profile(f"import_assessments of {out['assessments']:,} assessments × {per:g} deductions (xlsx)",
                       lambda: import_assessments(world.ctx, [path]))
        world.close()
        return out | {"profile": asdict(prof)}
    if not case.startswith("import-"):
        raise SystemExit(f"unknown case {case!r}; one of {', '.join(CASES)}, profile")
    db = copy_db(template, workdir / "import.db")
    world = open_world(db, "full", clock=TestClock(IMPORT_AT))  # a bureau actor: every district allowed
    seconds, report = timed(lambda: import_assessments(world.ctx, [path]))
    out.update(seconds=seconds, peak_mb=rss_mb()[1], assessments=report.assessments, deductions=report.deductions,
               findings=report.findings, major_hazards=report.major_hazards, late=report.late,
               results=dict(report.results), moved=dict(report.moved), problems=len(report.problems))
    world.close()
    out.update(raw_write_limit(template, db, workdir))
    return out


def main(argv: list[str]) -> int:
    baseline = rss_mb()[0]  # after the imports at the top of this module
    if argv[0] == "setup":
        template, outdir, n, per, profile_n = Path(argv[1]), Path(argv[2]), *map(int, argv[3:6])
        print(json.dumps(setup(template, outdir, n, per, profile_n)))
        return 0
    case, template, path, workdir = argv[0], Path(argv[1]), Path(argv[2]), Path(argv[3])
    workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run_case(case, template, path, workdir, baseline)))
    return 0


# --- the orchestration, in bench/run.py's process -------------------------------------------------


def _subprocess(args: list[str], extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", **(extra_env or {}))
    done = subprocess.run([sys.executable, "-m", "bench.assessments", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench case {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rates(r: dict[str, Any], seconds: float | None = None) -> tuple[str, str]:
    seconds = r["seconds"] if seconds is None else seconds
    return fmt_rate(rate(r["assessments"], seconds)), fmt_rate(rate(r["deductions"], seconds))


# the steps of the breakdown, in the order import_assessments runs them: (key, label, depth); a key
# "sql:KIND" is the statements of that kind, "rest:STEP" what is left of STEP without the steps under it
_STEPS = (
    ("read_assessments", "`read_assessments` (the file → AssessmentInput, every check without the database)", 0),
    ("_check", "`_check` (campaign, members, states: a few queries for all)", 0),
    ("score", "`score`, once per assessment", 0),
    ("_record", "`_record`, once for the whole import, of which:", 0),
    ("sql:INSERT assessment", "`INSERT INTO assessment`, one executemany", 1),
    ("sql:SELECT assessment", "`SELECT` the new assessments' ids", 1),
    ("sql:INSERT deduction", "`INSERT INTO deduction`, one executemany", 1),
    ("sql:SELECT deduction", "`SELECT` the new deductions' ids", 1),
    ("sql:INSERT finding", "`INSERT INTO finding`, one executemany", 1),
    ("sql:UPDATE campaign_member", "`UPDATE campaign_member`, one executemany", 1),
    ("open_counts_of", "`open_counts_of` (open findings per enterprise, grouped, 500 at a time)", 1),
    ("fire_in", "`fire_in` of every `record_assessment` at once, of which:", 1),
    ("sql:SELECT enterprise⋈audit_event", "`SELECT enterprise ⋈ audit_event` (the rows and their chain heads)", 2),
    ("sql:UPDATE enterprise", "`UPDATE enterprise` (compare-and-set on the version, executemany)", 2),
    ("sql:INSERT audit_event", "`INSERT INTO audit_event`, one executemany", 2),
    ("rest:fire_in", "the rest of `fire_in` (checks, state machine, effects, the event's hash)", 2),
    ("rest:_record", "the rest of `_record` (building the parameter rows and the requests)", 1),
    ("rest:", "the rest (BEGIN and COMMIT of the write transaction, reading the flags, the report)", 0),
)
# the sqlite3 statements inside a step that is not itself a statement kind
_SQL_OF = {"open_counts_of": "SELECT finding"}


def _breakdown_rows(b: dict[str, Any]) -> list[list[str]]:
    spent, calls, in_sqlite, total = dict(b["spent"]), b["calls"], b["in_sqlite"], b["total_s"]
    n = max(b["assessments"], 1)
    for parent, depth in (("_record", 1), ("fire_in", 2), ("", 0)):
        whole = spent.get(parent, 0.0) if parent else total
        spent[f"rest:{parent}"] = whole - sum(spent.get(k, 0.0) for k, _l, d in _STEPS
                                              if d == depth and not k.startswith("rest:"))
    rows = []
    for key, label, depth in _STEPS:
        if key not in spent:
            continue
        sql_kind = key.removeprefix("sql:") if key.startswith("sql:") else _SQL_OF.get(key)
        sql = in_sqlite.get(sql_kind) if sql_kind else None
        rows.append([("  " * depth + "· " if depth else "") + label, f"{calls[key]:,}" if key in calls else "",
                     fmt_s(spent[key]), share(spent[key], total), f"{spent[key] / n * 1e6:,.0f} µs",
                     f"{fmt_s(sql)} ({share(sql, spent[key])})" if sql is not None else ""])
    inside = sum(in_sqlite.values())
    rows.append(["**`import_assessments` in all**", "1", fmt_s(total), "100%", f"{total / n * 1e6:,.0f} µs",
                 f"{fmt_s(inside)} ({share(inside, total)})"])
    return rows


def run(sizes: Sizes) -> Section:
    n, per = sizes.assessments, sizes.deductions
    with tempfile.TemporaryDirectory(prefix="sg-bench-assess-") as d:
        tmp = Path(d)
        template = tmp / "template.db"
        made = _subprocess(["setup", str(template), str(tmp / "files"), str(n), str(per),
                            str(sizes.profile_assessments)])
        files = {k: Path(v) for k, v in made["files"].items()}
        results = {case: _subprocess([case, str(template), str(files[case.split("-")[1]]), str(tmp / case)])
                   for case in CASES}
        prof_raw = _subprocess(["profile", str(template), str(files["profile"]), str(tmp / "profile")])
    b = prof_raw["breakdown"]
    p = prof_raw["profile"]
    prof = Profile(**{**p, "lines": [ProfileLine(**line) for line in p["lines"]],
                      "own": [ProfileLine(**line) for line in p["own"]]})

    def delta(case: str) -> float:
        return float(results[case]["peak_mb"] - results[case]["baseline_mb"])

    summary, rows_out = [], []
    for fmt in FORMATS:
        imp, rd = results[f"import-{fmt}"], results[f"read-{fmt}"]
        a_s, d_s = _rates(imp)
        summary.append([f"5. assessment import, {n:,} × {per} deductions {fmt}: assessments/s "
                        "(deductions/s; wall time)",
                        f"{a_s} ({d_s}; {fmt_s(imp['seconds'])})",
                        f"{_rates(rd)[0]} `read_assessments` alone; the stdlib sqlite3 module writes the import's "
                        f"rows in {fmt_s(imp['raw_write_s'])}", "– (none in the issue)", "–"])
        summary.append([f"5. assessment import, {n:,} × {per} deductions {fmt}: peak memory − baseline",
                        fmt_mb(delta(f"import-{fmt}")), f"{fmt_mb(delta(f'read-{fmt}'))} `read_assessments` alone",
                        "– (none in the issue)", "–"])
        for label, r, seconds, peak, dlt in (
            (f"`import_assessments` {fmt}", imp, imp["seconds"], fmt_mb(imp["peak_mb"]),
             fmt_mb(delta(f"import-{fmt}"))),
            (f"limit: `read_assessments` alone (validation, no database) {fmt}", rd, rd["seconds"],
             fmt_mb(rd["peak_mb"]), fmt_mb(delta(f"read-{fmt}"))),
            ("limit: the stdlib sqlite3 module writes the rows this import left (`executemany`, one transaction)",
             imp, imp["raw_write_s"], "", ""),
        ):
            a_rate, d_rate = _rates(r, seconds)
            rows_out.append([label, fmt_s(seconds), a_rate, d_rate, share(seconds, imp["seconds"]), peak, dlt])
        db_part = imp["seconds"] - rd["seconds"]
        rows_out.append([f"database side of the {fmt} import (import − `read_assessments`)", fmt_s(db_part),
                         *_rates(imp, db_part), share(db_part, imp["seconds"]), "", ""])
        rows_out.append(["", "", "", "", "", "", ""])
    rows_out.pop()

    figures: dict[str, float] = {f"{c}_s": float(r["seconds"]) for c, r in results.items()}
    figures |= {f"{c}_peak_delta_mb": delta(c) for c in results}
    figures |= {f"import-{f}_per_s": rate(n, results[f"import-{f}"]["seconds"]) for f in FORMATS}
    figures |= {f"raw_write_{f}_s": float(results[f"import-{f}"]["raw_write_s"]) for f in FORMATS}
    figures["max_child_peak_mb"] = max(float(r["peak_mb"]) for r in results.values())

    imp = results["import-xlsx"]
    raw_rows = imp["raw_rows"]
    raw_text = ", ".join(
        f"{t} {c['inserted']:,} inserted" if c["inserted"] else
        f"{t} {c['updated']:,} updated ({', '.join(c['set'])})" for t, c in raw_rows.items())
    res = imp["results"]
    dbs = {f: results[f"import-{f}"]["seconds"] - results[f"read-{f}"]["seconds"] for f in FORMATS}
    m = b["assessments"]
    stmts = {k.removeprefix("cursor:"): v for k, v in b["calls"].items() if k.startswith("cursor:")}
    per_assessment = sum(stmts.values()) / max(m, 1)
    executes = prof.sqlite_calls.get("execute of sqlite3.Cursor", 0)
    expected = ", ".join(f"{k} {made['expected_results'].get(k, 0):,}" for k in ("优", "良", "差"))
    sqlite_total = sum(b["in_sqlite"].values())
    headline, db_side = [], []
    for fmt in FORMATS:
        r = results[f"import-{fmt}"]
        a_rate, d_rate = (x.removesuffix("/s") for x in _rates(r))
        headline.append(f"{fmt} **{a_rate} assessments/s** ({d_rate} deductions/s, {fmt_s(r['seconds'])} for {n:,})")
        db_side.append(f"the {fmt} import spends {fmt_s(dbs[fmt])} beyond `read_assessments`, where the stdlib "
                       f"sqlite3 module writes the same rows in {fmt_s(r['raw_write_s'])} (safegrade reaches "
                       f"{share(r['raw_write_s'], dbs[fmt])} of that speed)")
    body = [
        f"The world: {made['enterprises']:,} synthetic enterprises registered with `import_ledger` "
        f"({fmt_s(made['populate_s'])}), then one campaign over all of them, `open_campaign(..., all_=True)` "
        f"({made['selected']:,} selected and moved to 评估中 in one transaction, {fmt_s(made['open_campaign_s'])}). "
        f"The assessments: {made['assessments']:,}, one per member, {per} deductions each on distinct items "
        f"({made['deductions']:,} deductions, {made['rectify']:,} of them to rectify; {made['with_veto']} assessments "
        "with a major hazard), dated inside the campaign window and before the importing context's clock; "
        f"results by the rules: {expected}. "
        f"Files: xlsx {made['sizes_mb']['xlsx']:.1f} MB (`write_assessments_xlsx`, {fmt_s(made['xlsx_write_s'])}), "
        f"YAML {made['sizes_mb']['yaml']:.1f} MB (`assessments_to_yaml`, {fmt_s(made['yaml_write_s'])}); none of "
        "this is timed.", "",
        f"Each import recorded {imp['assessments']:,} assessments with {imp['problems']} problem(s): "
        f"{imp['deductions']:,} deductions, {imp['findings']:,} findings and {imp['major_hazards']} major hazards "
        f"opened; results {', '.join(f'{k} {res.get(k, 0):,}' for k in ('优', '良', '差'))}; enterprises moved to "
        f"{', '.join(f'{k} {v:,}' for k, v in sorted(imp['moved'].items(), key=lambda kv: -kv[1]))}.", "",
        *table(["what", "wall time", "assessments/s", "deductions/s", "share of the import", "peak RSS",
                "peak − baseline"], rows_out, "lrrrrrr"),
        "",
        "There is no target in the issue for this benchmark (it asks for the figure: "
        "\"assessments imported per second (10k assessments with 10 deductions each)\"). The figure: "
        + "; ".join(headline) + "." + (f" **Measured with {n:,} assessments, not the issue's 10,000.**"
                                       if n != 10_000 else ""), "",
        "Database side: " + "; ".join(db_side)
        + f". The rows written ({raw_text}) are read back from the imported database and written into a fresh "
        f"copy of the template world (same schema and indexes, the same {n:,} enterprises and their chains), "
        "`executemany` per table, one transaction, synchronous FULL; the row counts then match the import's: "
        f"{'yes' if all(results[f'import-{f}']['raw_same_counts'] for f in FORMATS) else '**no**'}.", "",
        "**How measured.** A set-up process builds the template world in a fresh temp directory (migrated, a "
        "bureau actor, synchronous FULL as in config.yaml) and writes the files. Each case then runs once in a "
        "fresh subprocess (`python -m bench.assessments CASE TEMPLATE FILE WORKDIR`): the import cases on their "
        "own copy of the template (SQLite backup API, untimed), as the bureau actor (every district allowed), "
        f"with the clock at {IMPORT_AT:%Y-%m-%d %H:%M}; the timed call is `import_assessments(ctx, [file])` or "
        "`read_assessments(file, rules.assessment)`. Peak memory is the process's VmHWM from /proc/self/status "
        "after the timed call; the baseline is its VmRSS after the module's imports "
        f"({fmt_mb(imp['baseline_mb'])}). The raw write limit runs in each import's process after its peak was read.",
        "",
        f"**Where the time goes.** A separate run of `import_assessments` on {m:,} assessments × {per} deductions "
        f"(xlsx, on its own copy of the {n:,}-member world), unprofiled, with `time.perf_counter` around its steps "
        "(wrappers set on `safegrade.services.assessment`'s names and on `Session`/`Connection.execute` in that "
        "process only): the statements' time is SQLAlchemy's and sqlite3's together, the last column the part "
        "inside the sqlite3 module (`cursor.execute`).", "",
        *table(["step", "calls", "time", "share", "per assessment", "of it inside sqlite3"],
               _breakdown_rows(b), "lrrrrr"),
        "",
        f"Statements sent to the sqlite3 cursor in that run: {sum(stmts.values()):,} "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(stmts.items(), key=lambda kv: -kv[1]))}), about "
        f"{per_assessment:.1f} for each assessment; {b['calls'].get('executemany', 0):,} of them an `executemany`, "
        "the others a single-row `execute`. "
        f"Of the {fmt_s(b['total_s'])}, {fmt_s(sqlite_total)} ({share(sqlite_total, b['total_s'])}) is inside "
        "sqlite3.", "",
        *profile_markdown(prof),
        "",
        f"In the profiled import the sqlite3 module ran `execute` {executes:,} times and `executemany` "
        f"{prof.sqlite_calls.get('executemany of sqlite3.Cursor', 0):,} times.",
    ]
    return Section("5. Assessment import", summary, body, figures)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
