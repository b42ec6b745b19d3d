"""`safegrade demo`: the 2023 Tianjin cycle in miniature, on a fresh SQLite file and a simulated
calendar. Everything goes through the same services the CLI uses; nothing here is special-cased."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from safegrade.auth import add_account, set_one_time_password
from safegrade.clock import TestClock, parse_instant
from safegrade.demo.synthetic import bad_rows, synthetic_rows, write_csv, write_xlsx
from safegrade.demo.walk import walk
from safegrade.domain.scoring import Deduction
from safegrade.errors import DOMAIN_ERRORS, InputErrors
from safegrade.io.assessment import AssessmentInput, assessments_to_yaml, write_assessments_xlsx
from safegrade.rules import Rules, load_rules
from safegrade.services.actors import add_actor, list_actors
from safegrade.services.assessment import import_assessments
from safegrade.services.auditing import Report, checkpoint_audit, export_audit, verify_audit, verify_export
from safegrade.services.campaign import (
    CampaignStatus,
    DistrictStatus,
    StatusTotal,
    campaign_status,
    exclude_member,
    open_campaign,
)
from safegrade.services.context import Context, open_context
from safegrade.services.enterprise import EnterpriseView, list_enterprises, show_enterprise, timeline
from safegrade.services.finding import FindingRow, list_findings, reject_finding, submit_finding, verify_finding
from safegrade.services.jobs import daily_job
from safegrade.services.ledger import LedgerReceived, export_ledger, import_ledger, reconcile_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.plan import plan_deadlines
from safegrade.services.schema import init_database
from safegrade.settings import Settings
from safegrade.store import Store, make_engine
from states.names import Event, State

BUREAU = "市局张建强"
CAMPAIGN = "2023年定级企业运行质量评估"
CIRCULAR_DAY = "2023-09-18"  # the day the bureau's 2023 circular was dated (成文日期)


def _officer(district_name: str) -> str:
    return f"{district_name}执法员"


@dataclass
class _Demo:
    """What every section of the demo shares: one database, one simulated clock, one random sequence."""

    settings: Settings
    workdir: Path
    console: Console
    rules: Rules
    store: Store
    clock: TestClock
    rng: random.Random
    db: Path
    outbox: Path

    def as_(self, actor: str | None) -> Context:
        return open_context(self.settings, actor=actor, clock=self.clock, store=self.store, rules=self.rules,
                            check_schema=False)

    def step(self, title: str) -> None:
        self.console.rule(f"[bold]{self.clock.now():%Y-%m-%d}[/] {title}")

    def at(self, instant: str) -> None:
        self.clock.set(parse_instant(instant, self.settings.zone))


def _prepare(settings: Settings, workdir: Path, seed: int, console: Console) -> _Demo:
    """A fresh SQLite file and outbox in `workdir`, the clock at 2023-05-20 09:00."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "demo.db"
    for leftover in (db, db.with_name("demo.db-wal"), db.with_name("demo.db-shm")):
        leftover.unlink(missing_ok=True)
    outbox = (workdir / "outbox").resolve()
    shutil.rmtree(outbox, ignore_errors=True)
    settings = settings.model_copy(update={
        "database_url": f"sqlite:///{db.resolve()}", "sqlite_synchronous": "normal",
        "notifications": settings.notifications.model_copy(update={"channels": [f"file://{outbox}"]})})
    rules = load_rules(settings.rules_path)
    store = Store(make_engine(settings.db_url, sqlite_synchronous="normal"))
    clock = TestClock(parse_instant("2023-05-20T09:00", settings.zone))
    return _Demo(settings, workdir, console, rules, store, clock, random.Random(seed), db, outbox)


def run_demo(settings: Settings, workdir: Path, *, enterprises: int = 100, seed: int = 2023,
             console: Console | None = None) -> dict[str, int]:
    demo = _prepare(settings, workdir, seed, console or Console())
    as_ = demo.as_
    _create_database(demo)
    _import_ledgers(demo, enterprises, seed)

    codes = [e.credit_code for e in list_enterprises(as_(None))]
    by_code = {e.credit_code: e for e in list_enterprises(as_(None))}
    not_gongmao = [c for c in codes if not by_code[c].in_gongmao]
    selected = [c for c in codes if c not in not_gongmao][: max(10, int(len(codes) * 0.9))]

    gone = _open_campaign(demo, selected, by_code)
    assessed = [c for c in selected if c != gone]
    results = _assess(demo, assessed, by_code)

    demo.at("2023-09-15T09:00")
    demo.step("整改闭环 — enterprises submit evidence, districts verify")
    loop = _rectify(demo.rng, workdir, as_, demo.clock, by_code)
    demo.console.print(f"{loop['verified']} findings verified (of them {loop['rejected']} sent back once first), "
                       f"{loop['closed']} enterprises closed (闭环), {loop['left_open']} findings left open")
    _propose_revocations(demo, assessed, not_gongmao, by_code)

    walked = _walk_two_months(demo)
    interviews = len(loop["interviewed"]) + walked.get("interviews", 0)  # held at rectification, then after escalation
    verified_findings = loop["verified"] + walked.get("rectified", 0)  # and those rectified after their interview
    closed_loops = loop["closed"] + walked.get("closed", 0)
    revoked = [e.credit_code for e in list_enterprises(as_(None), state=State.REVOKED)]
    status = campaign_status(as_(BUREAU), CAMPAIGN)
    _status_table(demo.console, status)
    then = _status_as_of(demo, CIRCULAR_DAY, status)

    _ledgers_due(demo, status)
    caught_up = _catch_up(demo)
    verified = _audit(demo, revoked)
    accounts = _accounts(demo)
    _finish(demo, revoked[0] if revoked else codes[0])
    return {"enterprises": len(codes), "selected": len(selected), "assessed": len(assessed),
            "campaign_assessed": status.total.assessed, "campaign_excluded": status.total.excluded,
            "campaign_interviews": status.total.interviews,
            "campaign_interviews_as_of_circular": then.total.interviews,
            "findings_verified": verified_findings, "closed_loops": closed_loops,
            "interviews": interviews, "revoked": len(revoked), "escalations": walked.get("escalations", 0),
            "reminders_sent": walked.get("sent", 0), "expired": caught_up["escalations"], "events": verified.events,
            "audit_ok": verified.ok, "accounts": len(accounts),
            **{f"result_{k}": v for k, v in results.items()}}


def _create_database(demo: _Demo) -> None:
    as_ = demo.as_
    demo.step("建库 — a fresh SQLite database")
    init_database(as_(None))
    add_actor(as_(None), BUREAU, "bureau")
    for d in demo.rules.districts.values():
        add_actor(as_(BUREAU), _officer(d.name), "district", district=d.code)
    demo.console.print(f"database {demo.db}; actors: {BUREAU} (市应急管理局) and {len(demo.rules.districts)} "
                       "district officers")


def _refused(console: Console, path: Path, exc: InputErrors) -> None:
    console.print(f"[red]refused[/] {path.name}: {exc}")
    for line in exc.problems:
        console.print(f"   {line}", markup=False)


def _import_ledgers(demo: _Demo, enterprises: int, seed: int) -> None:
    as_, console, workdir = demo.as_, demo.console, demo.workdir
    demo.step("台账导入 — the districts' ledgers")
    rows = synthetic_rows(enterprises, seed, demo.rules)
    rows[-1] = {**rows[-1], "行业类别": "化工"}  # one enterprise outside the eight 工贸 sectors
    good, bad = workdir / "ledger.xlsx", workdir / "ledger-with-errors.csv"
    write_xlsx(rows, good)
    broken = [dict(r) for r, _ in bad_rows(demo.rules)]
    write_csv([*rows[:3], *broken], bad)
    try:
        import_ledger(as_(BUREAU), [bad])
    except InputErrors as exc:
        _refused(console, bad, exc)
    report = import_ledger(as_(BUREAU), [good])
    console.print(f"imported {good.name}: {report.created} enterprises registered, {report.not_gongmao} flagged "
                  "as not 工贸 (kept, for revocation review)")
    again = import_ledger(as_(BUREAU), [good])
    console.print(f"re-imported the same ledger: {again.created} created, {again.unchanged} unchanged")


def _open_campaign(demo: _Demo, selected: list[str], by_code: dict[str, EnterpriseView]) -> str:
    """Open the campaign over `selected`; a week later one member is excluded: its credit code."""
    as_, console = demo.as_, demo.console
    demo.at("2023-06-05T09:00")
    demo.step(f"运行质量评估 — the bureau selects {len(selected)} enterprises")
    codes_file = demo.workdir / "selected-codes.txt"
    codes_file.write_text("\n".join(selected) + "\n", encoding="utf-8")
    opened = open_campaign(as_(BUREAU), CAMPAIGN, date(2023, 6, 5), date(2023, 8, 31), codes_file=codes_file,
                           ledger_due_on=date(2023, 12, 15))
    console.print(f"campaign {CAMPAIGN}: {opened.selected} enterprises now 评估中, window to 2023-08-31 "
                  f"(one transaction, {opened.selected} audit events)")

    demo.clock.advance(days=7)
    gone = selected[demo.rng.randrange(len(selected))]
    district = by_code[gone].district_name
    excluded = exclude_member(as_(_officer(district)), CAMPAIGN, gone, "deregistered", "市场监管部门注销公告")
    console.print(f"{gone} ({district}) excluded from the campaign: {excluded.label}")
    return gone


def _assess(demo: _Demo, assessed: list[str], by_code: dict[str, EnterpriseView]) -> Counter[str]:
    """Each district's workbook imported (after one refused file); the count of each result."""
    as_, console, rules = demo.as_, demo.console, demo.rules
    demo.at("2023-09-08T09:00")
    demo.step("评估 — each district imports its workbook of assessments made June to August")
    plan = _assessments(demo.rng, assessed, by_code, rules)
    bad = demo.workdir / "assessments-with-errors.yaml"
    sample = plan[min(plan)][0]
    faulty = replace(sample, deductions=(Deduction("ZP01", 3.0, "", True), Deduction("XX99", 2.0, "未见记录", True)))
    bad.write_text(assessments_to_yaml([faulty]), encoding="utf-8")
    try:
        import_assessments(as_(_officer(rules.district_name(min(plan)))), [bad])
    except InputErrors as exc:
        _refused(console, bad, exc)
    results = Counter[str]()
    for district, inputs in sorted(plan.items()):
        path = demo.workdir / f"assessments-{rules.district_name(district)}.xlsx"
        write_assessments_xlsx(inputs, path, rules.assessment)
        recorded = import_assessments(as_(_officer(rules.district_name(district))), [path])
        results.update(recorded.results)
    console.print("results: " + ", ".join(f"{k} {results[k]}" for k in ("优", "良", "差"))
                  + f"; findings to rectify: {len(list_findings(as_(None)))}")
    outsider = next(c for c in assessed if by_code[c].district != by_code[assessed[0]].district)
    try:
        fire_event(as_(_officer(by_code[assessed[0]].district_name)), outsider, Event.SUMMON, reason="越权尝试")
    except DOMAIN_ERRORS as exc:
        console.print(f"[yellow]refused[/] a district officer acting outside their district: {exc}")
    return results


def _propose_revocations(demo: _Demo, assessed: list[str], not_gongmao: list[str],
                         by_code: dict[str, EnterpriseView]) -> None:
    as_, console = demo.as_, demo.console
    demo.step("公告撤销 — proposals (差, not 工贸); one withdrawn on objection")
    states = {e.credit_code: e.state for e in list_enterprises(as_(None))}
    poor = [c for c in assessed if states[c] == State.REVOCATION_PENDING]
    for code in not_gongmao:
        fire_event(as_(_officer(by_code[code].district_name)), code, Event.PROPOSE_REVOCATION,
                   reason="台账梳理：不属于工贸行业", data={"revocation_reason": "not_gongmao",
                                                      "revocation_source": "ledger_review"})
    for code in not_gongmao[:1]:  # proposed today: its publicity period has not run
        try:
            fire_event(as_(_officer(by_code[code].district_name)), code, Event.REVOKE, reason="公告撤销")
        except DOMAIN_ERRORS as exc:
            console.print(f"[yellow]refused[/] too early: {exc}")
    withdrawn = poor[:1] if len(poor) > 1 else []
    for code in withdrawn:
        fire_event(as_(_officer(by_code[code].district_name)), code, Event.WITHDRAW_REVOCATION,
                   reason="企业提出异议", data={"objection": "评估资料补正后复核为良"})
    console.print(f"{len(poor) + len(not_gongmao)} revocations proposed (公示), "
                  f"{len(withdrawn)} withdrawn on objection")


def _walk_two_months(demo: _Demo) -> dict[str, Any]:
    as_, console, clock = demo.as_, demo.console, demo.clock
    demo.step("定时巡检 — two simulated months of the scheduler's daily run at 08:00")
    console.print(f"plan for the next week (`deadlines plan`): {_plan_line(as_, clock)}")
    walked = walk(console, as_, clock, clock.now().date() + timedelta(days=1), 61, officer_of=_officer, bureau=BUREAU,
                  zone=demo.settings.zone, rectify=lambda code, officer: _rectify_after_interview(demo, code, officer))
    console.print(f"two months: {walked.get('reminders', 0)} reminders queued and {walked.get('sent', 0)} delivered "
                  f"(file channel: {demo.outbox}), {walked.get('escalations', 0)} escalations fired by the system, "
                  f"{walked.get('notices', 0)} overdue notices, {walked.get('interviews', 0)} interviews held after "
                  f"escalation, {walked.get('rectified', 0)} findings rectified after them "
                  f"({walked.get('closed', 0)} loops closed), {walked.get('revoked', 0)} grades revoked after "
                  "publicity")
    return walked


def _rectify_after_interview(demo: _Demo, code: str, officer: str) -> tuple[int, bool]:
    """Five days after its interview the enterprise has rectified what was left open: its evidence is verified and
    the loop closed (the interview's follow-up deadline is met). (findings verified, loop closed)"""
    as_, user = demo.as_, f"企业{code[-6:]}"  # the enterprise's user, added when the loop began
    verified = 0
    for f in list_findings(as_(None), credit_code=code, status="open"):
        demo.clock.advance(minutes=1)
        proof = demo.workdir / "evidence" / f"{code}-{f.item}-约谈后整改报告.txt"
        proof.write_text(f"{code} {f.item} 约谈后整改：措施、责任人、资金、时限与现场验收照片\n", encoding="utf-8")
        submit_finding(as_(user), f.id, [proof], "约谈后整改完成")
        verify_finding(as_(officer), f.id, "约谈后现场复核合格")
        verified += 1
    closing = show_enterprise(as_(None), code).state == State.RECTIFYING
    if closing:
        fire_event(as_(officer), code, Event.CLOSE, reason="约谈后问题全部整改验收，闭环")
    return verified, closing


def _status_as_of(demo: _Demo, day: str, now: CampaignStatus) -> CampaignStatus:
    """One read as of a past date, as `--as-of` makes it: the same service on a context whose now is then."""
    ctx = open_context(demo.settings, as_of=parse_instant(day, demo.settings.zone), actor=BUREAU, store=demo.store,
                       rules=demo.rules, check_schema=False)
    then = campaign_status(ctx, CAMPAIGN)
    demo.console.print(
        f"as of {then.as_of} (`--as-of {day}`, the circular's date): {then.total.assessed} assessed, "
        f"{then.total.interviews} 家次 interviewed, {then.total.revocations} revoked — what the database held then "
        f"(today: {now.total.assessed} assessed, {now.total.interviews} 家次, {now.total.revocations} revoked)")
    return then


def _ledgers_due(demo: _Demo, status: CampaignStatus) -> None:
    as_, console = demo.as_, demo.console
    demo.at("2023-12-14T15:00")
    demo.step("台账报送 — districts submit their 台账 by 2023-12-15; one is late")
    submitted = _submit_ledgers(as_, demo.clock, demo.workdir, sorted(status.districts, key=lambda d: d.district))
    console.print(submitted)
    exported_ledger = export_ledger(as_(BUREAU), demo.workdir / "台账-2023-12-15.xlsx")
    console.print(f"台账 for the bureau: {exported_ledger.enterprises} valid graded enterprises in "
                  f"{exported_ledger.file} ({len(exported_ledger.sheets) - 1} district sheets and 汇总)")


def _catch_up(demo: _Demo) -> dict[str, Any]:
    """A year later, one daily run: the deadline sweep's report."""
    demo.at("2025-01-02T08:00")
    demo.step("有效期届满 — after a year without runs, one catch-up run covers everything due")
    caught_up: dict[str, Any] = daily_job(demo.as_("system"), "scheduler")["deadline_sweep"]
    demo.console.print(f"{caught_up['escalations']} grades expired by the system (validity ended before "
                       f"{demo.clock.now():%Y-%m-%d}); "
                       f"{caught_up['reminders']} reminders queued, {caught_up['superseded']} older steps of the same "
                       "deadlines superseded (kept in the outbox, not sent)")
    return caught_up


def _audit(demo: _Demo, revoked: list[str]) -> Report:
    """Checkpoint, verify in the database and from an export, and one enterprise's past rebuilt."""
    as_, workdir = demo.as_, demo.workdir
    demo.step("审计 — checkpoint, verify, export")
    cp = checkpoint_audit(as_(BUREAU))
    verified = verify_audit(as_(None))
    exported = export_audit(as_(None), workdir / "audit.jsonl")
    offline = verify_export(workdir / "audit.jsonl")
    demo.console.print(f"checkpoint {cp.id if cp else '-'}; verify: {verified.events} events in "
                       f"{verified.chains} chains {'OK' if verified.ok else 'BROKEN'}; exported to {exported.file}, "
                       f"verified without the database: {'OK' if offline.ok else 'BROKEN'}")
    if revoked:
        past = show_enterprise(as_(None), revoked[0], as_of=parse_instant("2023-07-01", demo.settings.zone))
        demo.console.print(f"time travel: {revoked[0]} on 2023-07-01 was {past.state_label} (now "
                           f"{show_enterprise(as_(None), revoked[0]).state_label}), rebuilt from "
                           f"{len(timeline(as_(None), revoked[0]))} audit events")
    return verified


REVIEWER = "审核员王敏"


def _accounts(demo: _Demo) -> list[tuple[str, str, str]]:
    """One account per role with a one-time password (changed at the first sign-in): the bureau's, the officer
    of the district of an enterprise that rectified findings, that enterprise's user, a reviewer; and how to
    start the server on the demo's database. (role label, account, one-time password) of each."""
    demo.step("账号 — one account per role, to sign in to the HTTP API (`safegrade web`)")
    boss = demo.as_(BUREAU)
    company = next(a for a in list_actors(boss) if a.role == "enterprise")
    code = company.enterprise_code
    district = show_enterprise(boss, code).district_name
    add_account(boss, REVIEWER, "reviewer")
    officer = _officer(district)
    roles = demo.rules.lifecycle.roles
    made = []
    table = Table("角色", "账号", "一次性密码（首次登录须修改）", title="演示账号")
    for name, role in ((BUREAU, "bureau"), (officer, "district"), (company.name, "enterprise"),
                       (REVIEWER, "reviewer")):
        password = set_one_time_password(boss, name).password
        made.append((roles[role].label, name, password))
        table.add_row(roles[role].label, name, password)
    demo.console.print(table)
    db = demo.db.resolve()
    demo.console.print(
        f"{company.name} is the account of enterprise {code}; {officer} acts in {district}.\n"
        "Start the server on the demo's database (the signing secret comes from the environment):\n"
        f"  export SAFEGRADE_WEB_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
        f"  .venv/bin/safegrade --db sqlite:///{db} web --port 8000\n"
        "then http://127.0.0.1:8000/api/v1/openapi.json describes the API; sign in with\n"
        f"  curl -c jar -H 'Content-Type: application/json' -d '{{\"name\": \"{BUREAU}\", \"password\": "
        f"\"{made[0][2]}\"}}' http://127.0.0.1:8000/api/v1/auth/sign-in\n"
        f"(then POST /api/v1/auth/password to change the one-time password), or give a program a personal token:\n"
        f"  .venv/bin/safegrade --db sqlite:///{db} --actor {BUREAU} actor token {BUREAU} --expires 90d",
        markup=False, soft_wrap=True)
    return made


def _finish(demo: _Demo, example: str) -> None:
    """The reports, the count of enterprises in each state, and where everything was written."""
    as_, console = demo.as_, demo.console
    demo.step("通报与报告 — the circular, the closed-loop evidence and district oversight, from the database")
    for line in _write_reports(as_(None), demo.workdir / "reports", example):
        console.print(line, markup=False)

    final = Counter(e.state for e in list_enterprises(as_(None)))
    table = Table("状态", "state", "企业数", title="企业状态汇总")
    for state, spec in demo.rules.lifecycle.states.items():
        table.add_row(spec.label, state, str(final.get(state, 0)))
    console.print(table)
    console.print(f"[bold]done[/] in {demo.workdir}: demo.db, ledgers, assessment workbooks, evidence/, audit.jsonl. "
                  f"Try: safegrade --db sqlite:///{demo.db} audit show {example}")
    demo.store.engine.dispose()


# the circular's three most common problems first: 智能化建设 (42 of 89), 定期自评 (33), 隐患闭环 (22)
_COMMON = ("ZN01", "ZP01", "FX03")
_FOUND = ("现场检查发现", "资料审查未见记录", "现场询问从业人员不清楚", "抽查台账发现")


def _assessments(rng: random.Random, codes: list[str], by_code: dict[str, EnterpriseView], rules: Rules
                 ) -> dict[str, list[AssessmentInput]]:
    """Assessment documents for each district: results near the circular's 61% 优 / 33% 良 / 6% 差, two
    major hazards, a few assessments after the window."""
    items = [i for i in rules.assessment.items.values() if not i.veto]
    veto = [i for i in rules.assessment.items.values() if i.veto]
    plan: dict[str, list[AssessmentInput]] = {}
    for n, code in enumerate(codes):
        roll = rng.random()
        budget = rng.uniform(0, 9) if roll < 0.61 else rng.uniform(11, 24) if roll < 0.94 else rng.uniform(27, 40)
        chosen: list[Deduction] = []
        pool = [rules.assessment.items[c] for c in _COMMON if rng.random() < 0.45] + rng.sample(items, len(items))
        spent = 0.0
        for item in pool:
            if spent >= budget or any(d.item == item.code for d in chosen):
                continue
            points = min(item.points, max(1.0, round(budget - spent)))
            chosen.append(Deduction(item.code, float(points), f"{rng.choice(_FOUND)}：{item.label}", item.rectify))
            spent += points
        if n in (5, 42) and veto:
            item = veto[n % len(veto)]
            chosen.append(Deduction(item.code, item.points, f"现场检查发现：{item.label}", True))
        day = date(2023, 6, 12) + timedelta(days=rng.randrange(80))
        if rng.random() < 0.05:
            day = date(2023, 9, 1) + timedelta(days=rng.randrange(5))  # after the window: late
        plan.setdefault(by_code[code].district, []).append(AssessmentInput(
            file="", row=0, credit_code=code, campaign=CAMPAIGN, assessed_on=day,
            assessors=("区应急局评估组", "聘请专家"), methods=("资料审查", "现场检查", "现场询问"),
            deductions=tuple(chosen), not_applicable=(), materials={"口袋书": rng.randrange(20, 200)}))
    return plan


def _rectify(rng: random.Random, workdir: Path, as_: Callable[[str | None], Context], clock: TestClock,
             by_code: dict[str, EnterpriseView]) -> dict[str, Any]:
    """Most enterprises submit evidence and are verified; some are sent back once; some never finish."""
    evidence_dir = workdir / "evidence"
    evidence_dir.mkdir(exist_ok=True)
    done: dict[str, Any] = {"verified": 0, "rejected": 0, "closed": 0, "left_open": 0, "interviewed": []}
    states = {e.credit_code: e.state for e in list_enterprises(as_(None))}
    for code in [c for c, s in states.items() if s == State.INTERVIEW]:  # major hazards: interview first
        officer = _officer(by_code[code].district_name)
        fire_event(as_(officer), code, Event.HOLD_INTERVIEW, reason="重大事故隐患约谈",
                   data={"attendees": "企业主要负责人", "record": "责令立即整改重大事故隐患"})
        done["interviewed"].append(code)
    findings = list_findings(as_(None), status="open")
    by_enterprise: dict[str, list[FindingRow]] = {}
    for f in findings:
        by_enterprise.setdefault(f.credit_code, []).append(f)
    for code, items in sorted(by_enterprise.items()):
        officer = _officer(by_code[code].district_name)
        user = f"企业{code[-6:]}"
        add_actor(as_(BUREAU), user, "enterprise", enterprise_code=code)
        if rng.random() < 0.2:
            done["left_open"] += len(items)
            continue
        for f in items:
            clock.advance(minutes=1)
            proof = evidence_dir / f"{code}-{f.item}-整改报告.txt"
            proof.write_text(f"{by_code[code].name} {f.item} 整改措施、责任人、资金、时限与验收照片\n",
                             encoding="utf-8")
            submit_finding(as_(user), f.id, [proof], "整改完成")
            if rng.random() < 0.1:
                reject_finding(as_(officer), f.id, "整改材料缺少现场照片")
                done["rejected"] += 1
                # the same report alone would be refused (evidence after a rejection must be new): the
                # missing photo comes with it
                photo = evidence_dir / f"{code}-{f.item}-现场照片.txt"
                photo.write_text(f"{by_code[code].name} {f.item} 整改后现场照片（复查补充）\n", encoding="utf-8")
                submit_finding(as_(user), f.id, [proof, photo], "补充现场照片")
            verify_finding(as_(officer), f.id, "现场复核合格")
            done["verified"] += 1
        state = show_enterprise(as_(None), code).state
        if state == State.RECTIFYING:
            fire_event(as_(officer), code, Event.CLOSE, reason="问题全部整改验收，闭环")
            done["closed"] += 1
    return done


def _write_reports(ctx: Context, folder: Path, code: str) -> list[str]:
    """The circular (docx and html), the loop report of the campaign and of one enterprise, and the
    district report: what a bureau would send, file, and check."""
    from safegrade.reports.circular import render
    from safegrade.reports.destination import circular_name, save_report
    from safegrade.reports.districts import write_districts
    from safegrade.reports.loop import write_loop
    from safegrade.services.reporting.circular import circular_figures
    from safegrade.services.reporting.districts import district_report
    from safegrade.services.reporting.loop import loop_report

    folder.mkdir(parents=True, exist_ok=True)
    figures = circular_figures(ctx, CAMPAIGN)
    written = []
    for fmt in ("docx", "html"):
        path = folder / circular_name(CAMPAIGN, fmt)
        save_report(path, render(figures, fmt))
        written.append(path)
    written.append(write_loop(loop_report(ctx, None, campaign=CAMPAIGN), folder / "整改闭环-全部企业.html", "html"))
    written.append(write_loop(loop_report(ctx, code), folder / f"整改闭环-{code}.xlsx", "xlsx"))
    oversight = district_report(ctx, CAMPAIGN)
    written.append(write_districts(oversight, folder / "各区工作情况.html", "html"))
    results = "、".join(f"{k}{v}家（{figures.percent[k]}%）" for k, v in figures.results.items())
    return [f"通报: {figures.assessed} assessed — {results}; {figures.interviews} 家次 interviewed, "
            f"{figures.revocations} revoked; {len(oversight.flags)} data-quality flags for the districts",
            *(f"  {p}" for p in written)]


def _plan_line(as_: Callable[[str | None], Context], clock: TestClock) -> str:
    today = clock.now().date()
    plan = plan_deadlines(as_(None), today, today + timedelta(days=6))
    return f"{plan.reminders} messages and {plan.escalations} escalations between {today} and " \
           f"{today + timedelta(days=6)}"


def _submit_ledgers(as_: Callable[[str | None], Context], clock: TestClock, workdir: Path,
                    districts: list[DistrictStatus]) -> str:
    """Every district but the last submits its 台账 on 12-14; the sweep of 12-16 tells the bureau about the
    late one, which submits on 12-18."""
    def submit(d: DistrictStatus) -> LedgerReceived:
        path = workdir / f"台账-{d.district_name}.xlsx"
        export_ledger(as_(BUREAU), path, district=d.district)
        return reconcile_ledger(as_(_officer(d.district_name)), [path], district=d.district,
                                campaign=CAMPAIGN).submitted[0]

    on_time = [submit(d) for d in districts[:-1]]
    clock.set(clock.now().replace(month=12, day=16, hour=8))
    notices = [e for e in daily_job(as_("system"), "scheduler")["deadline_sweep"]["log"]
               if e["kind"] == "ledger_submission" and e["what"] == "noticed"]
    clock.set(clock.now().replace(day=18, hour=9))
    late = submit(districts[-1]) if districts else None
    return (f"{len(on_time)} districts on time; the 12-16 sweep told the bureau about {len(notices)} late "
            f"({', '.join(e['who'] for e in notices)}); " +
            (f"{late.district_name} submitted on 12-18, {late.late_days} days late" if late else ""))


def _status_table(console: Console, status: CampaignStatus) -> None:
    table = Table("区", "选定", "不予评估", "已评估", "逾期评估", "优", "良", "差", "约谈(家次)", "撤销",
                  title=f"{status.campaign} 完成情况")
    rows: list[tuple[str, DistrictStatus | StatusTotal]] = [(d.district_name, d) for d in status.districts]
    for name, d in [*rows, ("合计", status.total)]:
        table.add_row(name, str(d.selected), str(d.excluded), str(d.assessed), str(d.late),
                      *(str(d.results[r]) for r in ("优", "良", "差")), str(d.interviews), str(d.revocations))
    console.print(table)
