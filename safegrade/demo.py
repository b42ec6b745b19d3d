"""`safegrade demo`: the 2023 Tianjin cycle in miniature, on a fresh SQLite file and a simulated
calendar. Everything goes through the same services the CLI uses; nothing here is special-cased."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from safegrade.clock import TestClock, parse_instant
from safegrade.errors import DOMAIN_ERRORS, InputErrors
from safegrade.rules import load_rules
from safegrade.services.actors import add_actor
from safegrade.services.auditing import checkpoint_audit, export_audit, verify_audit, verify_export
from safegrade.services.campaign import exclude_member, open_campaign
from safegrade.services.context import Context, open_context
from safegrade.services.enterprise import list_enterprises, show_enterprise, timeline
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import FireRequest, fire_event, fire_many
from safegrade.services.schema import init_database
from safegrade.settings import Settings
from safegrade.store import Store, make_engine
from safegrade.synthetic import bad_rows, synthetic_rows, write_csv, write_xlsx

BUREAU = "市局张建强"
CAMPAIGN = "2023年定级企业运行质量评估"


def _officer(district_name: str) -> str:
    return f"{district_name}执法员"


def run_demo(settings: Settings, workdir: Path, *, enterprises: int = 100, seed: int = 2023,
             console: Console | None = None) -> dict[str, int]:
    console = console or Console()
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "demo.db"
    for leftover in (db, db.with_name("demo.db-wal"), db.with_name("demo.db-shm")):
        leftover.unlink(missing_ok=True)
    settings = settings.model_copy(update={"database_url": f"sqlite:///{db.resolve()}", "sqlite_synchronous": "normal"})
    rules = load_rules(settings.rules_path)
    store = Store(make_engine(settings.db_url, sqlite_synchronous="normal"))
    clock = TestClock(parse_instant("2023-05-20T09:00", settings.zone))
    rng = random.Random(seed)

    def as_(actor: str | None) -> Context:
        return open_context(settings, actor=actor, clock=clock, store=store, rules=rules, check_schema=False)

    def step(title: str) -> None:
        console.rule(f"[bold]{clock.now():%Y-%m-%d}[/] {title}")

    step("建库 — a fresh SQLite database")
    init_database(as_(None))
    add_actor(as_(None), BUREAU, "bureau")
    for d in rules.districts.values():
        add_actor(as_(BUREAU), _officer(d.name), "district", district=d.code)
    console.print(f"database {db}; actors: {BUREAU} (市应急管理局) and {len(rules.districts)} district officers")

    step("台账导入 — the districts' ledgers")
    rows = synthetic_rows(enterprises, seed, rules)
    rows[-1] = {**rows[-1], "行业类别": "化工"}  # one enterprise outside the eight 工贸 sectors
    good, bad = workdir / "ledger.xlsx", workdir / "ledger-with-errors.csv"
    write_xlsx(rows, good)
    broken = [dict(r) for r, _ in bad_rows(rules)]
    write_csv([*rows[:3], *broken], bad)
    try:
        import_ledger(as_(BUREAU), [bad])
    except InputErrors as exc:
        console.print(f"[red]refused[/] {bad.name}: {exc}")
        for line in exc.problems:
            console.print(f"   {line}", markup=False)
    report = import_ledger(as_(BUREAU), [good])
    console.print(f"imported {good.name}: {report.created} enterprises registered, {report.not_gongmao} flagged "
                  "as not 工贸 (kept, for revocation review)")
    again = import_ledger(as_(BUREAU), [good])
    console.print(f"re-imported the same ledger: {again.created} created, {again.unchanged} unchanged")

    codes = [e["credit_code"] for e in list_enterprises(as_(None))]
    by_code = {e["credit_code"]: e for e in list_enterprises(as_(None))}
    not_gongmao = [c for c in codes if not by_code[c]["in_gongmao"]]
    selected = [c for c in codes if c not in not_gongmao][: max(10, int(len(codes) * 0.9))]

    clock.set(parse_instant("2023-06-05T09:00", settings.zone))
    step(f"运行质量评估 — the bureau selects {len(selected)} enterprises")
    codes_file = workdir / "selected-codes.txt"
    codes_file.write_text("\n".join(selected) + "\n", encoding="utf-8")
    opened = open_campaign(as_(BUREAU), CAMPAIGN, date(2023, 6, 5), date(2023, 8, 31), codes_file=codes_file)
    console.print(f"campaign {CAMPAIGN}: {opened['selected']} enterprises now 评估中, window to 2023-08-31 "
                  f"(one transaction, {opened['selected']} audit events)")

    clock.advance(days=7)
    gone = selected[rng.randrange(len(selected))]
    district = by_code[gone]["district_name"]
    excluded = exclude_member(as_(_officer(district)), CAMPAIGN, gone, "deregistered", "市场监管部门注销公告")
    console.print(f"{gone} ({district}) excluded from the campaign: {excluded['label']}")

    step("评估 — districts record results (June to August)")
    assessed = [c for c in selected if c != gone]
    results = Counter[str]()
    span = timedelta(days=80) / max(1, len(assessed))
    for i, code in enumerate(assessed):
        clock.advance(span)
        roll = rng.random()
        result = "优" if roll < 0.61 else "良" if roll < 0.94 else "差"
        findings = 0 if result == "优" and rng.random() < 0.7 else rng.randint(1, 4)
        major = 1 if result == "良" and i % 37 == 5 else 0
        officer = _officer(by_code[code]["district_name"])
        fire_event(as_(officer), code, "record_assessment", reason="现场检查、资料审查、现场询问",
                   data={"result": result, "findings": findings, "major_hazards": major}, via_service=True)
        results[result] += 1
    console.print("results: " + ", ".join(f"{k} {results[k]}" for k in ("优", "良", "差")))
    outsider = next(c for c in assessed if by_code[c]["district"] != by_code[assessed[0]]["district"])
    try:
        fire_event(as_(_officer(by_code[assessed[0]]["district_name"])), outsider, "summon", reason="越权尝试")
    except DOMAIN_ERRORS as exc:
        console.print(f"[yellow]refused[/] a district officer acting outside their district: {exc}")

    step("约谈 — interviews")
    states = {e["credit_code"]: e["state"] for e in list_enterprises(as_(None))}
    summoned = [c for c in assessed if states[c] == "rectifying"][: max(1, len(assessed) // 8)]
    for code in summoned:
        fire_event(as_(_officer(by_code[code]["district_name"])), code, "summon", reason="整改进度滞后，通报约谈")
    interviewed = [c for c in assessed if states[c] == "interview"] + summoned
    clock.advance(days=3)
    for code in interviewed:
        fire_event(as_(_officer(by_code[code]["district_name"])), code, "hold_interview", reason="约谈完成",
                   data={"attendees": "企业主要负责人、安全管理人员", "record": "责令限期整改"})
    console.print(f"{len(interviewed)} interviews held (家次)")

    step("公告撤销 — revocations after the publicity period")
    poor = [c for c in assessed if states[c] == "revocation_pending"]
    for code in not_gongmao:
        fire_event(as_(_officer(by_code[code]["district_name"])), code, "propose_revocation",
                   reason="台账梳理：不属于工贸行业", data={"revocation_reason": "not_gongmao",
                                                      "revocation_source": "daily_inspection"})
    pending = poor + not_gongmao
    for code in not_gongmao[:1]:  # proposed today: its publicity period has not run
        try:
            fire_event(as_(_officer(by_code[code]["district_name"])), code, "revoke", reason="公告撤销")
        except DOMAIN_ERRORS as exc:
            console.print(f"[yellow]refused[/] too early: {exc}")
    withdrawn = poor[:1] if len(poor) > 1 else []
    for code in withdrawn:
        fire_event(as_(_officer(by_code[code]["district_name"])), code, "withdraw_revocation", reason="企业提出异议",
                   data={"objection": "评估资料补正后复核为良"})
    clock.advance(days=14)
    revoked = [c for c in pending if c not in withdrawn]
    for code in revoked:
        fire_event(as_(_officer(by_code[code]["district_name"])), code, "revoke", reason="公示期满无异议，公告撤销")
    console.print(f"{len(revoked)} grades revoked, {len(withdrawn)} revocation withdrawn on objection")

    clock.set(parse_instant("2025-01-02T08:00", settings.zone))
    step("有效期届满 — the system expires grades past their validity")
    current = list_enterprises(as_(None))
    due = [e["credit_code"] for e in current if e["state"] in ("graded", "closed")
           and e["valid_until"] < clock.now().date()]
    expired = fire_many(as_("system"), [FireRequest(c, "expire", "有效期届满") for c in due])
    console.print(f"{len(expired.fired)} grades expired (validity ended before {clock.now():%Y-%m-%d})")

    step("审计 — checkpoint, verify, export")
    cp = checkpoint_audit(as_(BUREAU))
    verified = verify_audit(as_(None))
    exported = export_audit(as_(None), workdir / "audit.jsonl")
    offline = verify_export(workdir / "audit.jsonl")
    console.print(f"checkpoint {cp['id'] if cp else '-'}; verify: {verified.events} events in {verified.chains} "
                  f"chains {'OK' if verified.ok else 'BROKEN'}; exported to {exported['file']}, verified without the "
                  f"database: {'OK' if offline.ok else 'BROKEN'}")
    if revoked:
        past = show_enterprise(as_(None), revoked[0], as_of=parse_instant("2023-07-01", settings.zone))
        console.print(f"time travel: {revoked[0]} on 2023-07-01 was {past['state_label']} (now "
                      f"{show_enterprise(as_(None), revoked[0])['state_label']}), rebuilt from "
                      f"{len(timeline(as_(None), revoked[0]))} audit events")

    final = Counter(e["state"] for e in list_enterprises(as_(None)))
    table = Table("状态", "state", "企业数", title="企业状态汇总")
    for state, spec in rules.lifecycle.states.items():
        table.add_row(spec.label, state, str(final.get(state, 0)))
    console.print(table)
    console.print(f"[bold]done[/] in {workdir}: demo.db, ledger.xlsx, ledger-with-errors.csv, audit.jsonl. "
                  f"Try: safegrade --db sqlite:///{db} audit show {revoked[0] if revoked else codes[0]}")
    store.engine.dispose()
    return {"enterprises": len(codes), "selected": len(selected), "assessed": len(assessed),
            "interviews": len(interviewed), "revoked": len(revoked), "events": verified.events, "audit_ok": verified.ok,
            **{f"result_{k}": v for k, v in results.items()}}
