"""Issue 10, "what it must show": for random histories and random instants D, every read as of D equals the
same read on a copy of the database where only the events up to D were ever recorded.

A history is a list of operations through the services (ledger import, campaigns, assessments with deductions,
some major, lifecycle events, findings submitted / verified / rejected, the deadline sweep, reminder delivery to a
file channel, the nightly audit's checkpoint, campaign exclusion), each at a time that moves forward by a random
number of hours or days (a TestClock; never a sleep), after a world of 4 enterprises and its actors. Refused
operations write nothing; whether each succeeded is recorded and shown with a failing example.

Database A runs the whole history. For the instants D (before the first operation, exactly at one, between two,
after the last), database B runs only the operations at or before D, in the same order at the same times (B
grows from one D to the next: at each D it holds exactly the operations up to D). Every read the command line
exposes is then compared, as plain data, between A as of D and B as of D (a context whose clock is fixed at D).
Each enterprise's version at D (the asof table) must also be the replay of its audit trail up to D, and every
table services/asof.py reads must hold at D on A what the table holds on B.

One history serves every read: the histories are drawn and run once (per backend), every read compared on each,
and the reads are the entries of READS, one test each, so that each read passes or fails on its own (with the
shortest history that showed it wrong). A new read the command line (or the API) exposes gets an entry here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, is_dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from safegrade.audit import trail
from safegrade.clock import FixedClock, TestClock
from safegrade.errors import DOMAIN_ERRORS, SafegradeError
from safegrade.io import ledger_export
from safegrade.models import VERSIONED, Campaign, CampaignMember, Enterprise, Finding, metadata, table
from safegrade.rules import load_rules
from safegrade.services.actors import list_actors
from safegrade.services.asof import DATED, OWNED, as_of
from safegrade.services.assessment import import_assessments
from safegrade.services.auditing import verify_audit
from safegrade.services.campaign import campaign_status, exclude_member, list_campaigns, open_campaign
from safegrade.services.context import Context, open_context
from safegrade.services.deadlines import list_deadlines
from safegrade.services.enterprise import list_enterprises, show_enterprise, timeline
from safegrade.services.finding import list_findings, reject_finding, submit_finding, verify_finding
from safegrade.services.jobs import audit_job, progress_job, send_job, sweep_job
from safegrade.services.ledger import export_ledger, import_ledger, reconcile_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.plan import plan_deadlines
from safegrade.services.reminders import list_reminders
from safegrade.services.reporting.circular import circular_figures
from safegrade.services.reporting.districts import district_report
from safegrade.services.reporting.loop import loop_report
from safegrade.services.reporting.oversight import oversight_flags
from safegrade.services.runs import list_runs
from safegrade.settings import Settings, load_settings
from safegrade.store import Store, make_engine
from tests.conftest import PG_SKIP, PG_URL, RULES_DIR, at, pg_schema
from tests.factories import DEDUCTIONS, MAJOR, build_world, plain, row, write_ledger

# histories run past the end of the working-day calendar; its fallback and warning are tested in test_workday
pytestmark = pytest.mark.filterwarnings("ignore::safegrade.domain.workday.WorkdayCalendarWarning")

RULES = load_rules(RULES_DIR)
START = at("2023-06-01 09:00")
CAMPAIGNS = ("2023年运行质量评估", "2024年运行质量评估")
ENTERPRISE_T, FINDING_T = table(Enterprise), table(Finding)
CAMPAIGN_T, MEMBER_T = table(Campaign), table(CampaignMember)
# the world has 2 enterprises a district (build_world); the ledger imports bring at most 2 more: 6 at most
NEW_ROWS = ((row(50, "武清区"),), (row(60, "河西区", valid_until="2023-09-30"),),
            (row(50, "武清区"), row(60, "河西区", valid_until="2023-09-30")))


# --- the operations --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One operation of a history: `hours` after the previous one, `kind` with its arguments."""

    hours: int
    kind: str
    args: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"+{self.hours}h {self.kind}{self.args}"


DEDUCTION_SETS = ((), tuple(DEDUCTIONS), tuple(MAJOR), (*DEDUCTIONS, *MAJOR))
EVENTS = ("summon", "hold_interview", "propose_revocation", "withdraw_revocation", "revoke", "exclude", "renew",
          "close")

hours = st.one_of(st.integers(0, 48), st.integers(0, 48), st.integers(2, 30).map(lambda d: d * 24),
                  st.sampled_from([0, 24 * 200]))
who = st.integers(0, 5)
finding = st.integers(0, 7)
campaign = st.sampled_from([0, 0, 0, 1])
assess = st.tuples(st.just("assess"), who, st.integers(0, len(DEDUCTION_SETS) - 1))
# an event the enterprise's state allows (most of the time), or any event (mostly refused)
fire = st.tuples(st.just("fire"), who, st.integers(0, 20), st.sampled_from(["allowed", "allowed", "any"]),
                 st.booleans())
operations = st.one_of(
    st.tuples(st.just("sweep")), assess, assess, fire, fire, fire,
    st.tuples(st.just("submit"), finding, st.booleans()), st.tuples(st.just("submit"), finding, st.just(False)),
    st.tuples(st.just("verify"), finding), st.tuples(st.just("reject"), finding), st.tuples(st.just("sweep")),
    st.tuples(st.just("send")), st.tuples(st.just("checkpoint")),
    st.tuples(st.just("ledger_import"), st.integers(0, len(NEW_ROWS) - 1)),
    st.tuples(st.just("open_campaign"), campaign, st.integers(7, 90), st.booleans()),
    st.tuples(st.just("exclude_member"), campaign, who, st.sampled_from(["deregistered", "relocated"])),
)
step = st.tuples(hours, operations).map(lambda t: Op(t[0], t[1][0], t[1][1:]))
# most histories open the first campaign early, so that assessments, findings and deadlines follow
opening = st.tuples(st.integers(0, 48), st.integers(20, 90), st.booleans()).map(
    lambda t: [Op(t[0], "open_campaign", (0, t[1], t[2]))])
histories = st.tuples(st.one_of(opening, opening, opening, st.just([])), st.lists(step, min_size=6, max_size=23)
                      ).map(lambda t: [*t[0], *t[1]])
# where D falls: before the first operation, exactly at operation i, between i and i+1, after the last
instants = st.lists(st.one_of(st.tuples(st.just("before")), st.tuples(st.just("at"), st.integers(0, 24)),
                              st.tuples(st.just("between"), st.integers(0, 24), st.floats(0.05, 0.95)),
                              st.tuples(st.just("after"), st.integers(1, 24 * 400))),
                    min_size=1, max_size=4)


class Db:
    """One database with its own folder (evidence store, outbox, exports) and clock."""

    def __init__(self, url: str, folder: Path, store: Store) -> None:
        self.url, self.folder, self.store = url, folder, store
        self.clock = TestClock(START)
        self.settings: Settings = load_settings(
            env={}, database_url=url, base_dir=str(folder), rules_dir=str(RULES_DIR),
            notifications={"channels": [{"name": "outbox", "url": f"file://{folder}/outbox"}], "retry": {}})

    def ctx(self, actor: str | None = None, url: str | None = None, source: str = "cli") -> Context:  # noqa: ARG002
        """make_ctx's signature (build_world passes url=): the database's one store, the history's clock."""
        return open_context(self.settings, actor=actor, source=source, clock=self.clock, store=self.store,
                            rules=RULES, check_schema=False)

    def at(self, instant: datetime, actor: str | None = None) -> Context:
        """A context reading as of `instant` (its clock fixed there)."""
        return open_context(self.settings, actor=actor, clock=FixedClock(instant, self.settings.zone),
                            store=self.store, rules=RULES, check_schema=False)


class Runner:
    """Runs the operations of a history on one database, in order."""

    def __init__(self, db: Db, inputs: Path) -> None:
        self.db, self.inputs = db, inputs

    def run(self, i: int, op: Op) -> str:
        """Run operation i; 'ok', or the refusal's code (refusals write nothing)."""
        if i == 0 and op.kind == "world":
            folder = self.db.folder / "world"
            folder.mkdir()
            build_world(self.db.ctx, folder, per_district=2)
            return "ok"
        try:
            getattr(self, op.kind)(i, *op.args)
        except DOMAIN_ERRORS as exc:
            return f"refused {exc.code}" if isinstance(exc, SafegradeError) else f"refused {type(exc).__name__}"
        return "ok"

    def _code(self, k: int) -> str:
        return self._codes()[k % len(self._codes())]

    def _codes(self) -> list[str]:
        with self.db.store.read() as session:
            return list(session.execute(select(ENTERPRISE_T.c.credit_code).order_by(ENTERPRISE_T.c.id)).scalars())

    def _officer(self, code: str) -> str:
        return "wq" if code[2:8] == "120114" else "hx"

    def _finding(self, k: int, status: str) -> int:
        """The k-th finding in `status` (any finding, if none is: then the service refuses)."""
        with self.db.store.read() as session:
            ids = list(session.execute(select(FINDING_T.c.id).order_by(FINDING_T.c.status != status, FINDING_T.c.id)
                                       ).scalars())
            wanted = session.execute(select(func.count()).where(FINDING_T.c.status == status)).scalar_one()
        if not ids:
            raise SafegradeError("no finding yet", code="no_finding")
        return ids[k % (wanted or len(ids))]

    def _state(self, code: str) -> str:
        with self.db.store.read() as session:
            return str(session.execute(select(ENTERPRISE_T.c.state).where(ENTERPRISE_T.c.credit_code == code)
                                       ).scalar_one())

    def ledger_import(self, i: int, which: int) -> None:
        import_ledger(self.db.ctx("boss"), [write_ledger(self.inputs / f"ledger-{i}.csv", NEW_ROWS[which])])

    def open_campaign(self, i: int, name: int, days: int, ledger_due: bool) -> None:  # noqa: ARG002
        today = self.db.clock.now().date()
        open_campaign(self.db.ctx("boss"), CAMPAIGNS[name], today, today + timedelta(days=days), all_=True,
                      ledger_due_on=today + timedelta(days=days + 30) if ledger_due else None)

    def assess(self, i: int, k: int, deductions: int) -> None:
        """An assessment of the k-th member awaiting one (of any campaign), recorded today by its officer."""
        with self.db.store.read() as session:
            waiting = list(session.execute(
                select(CAMPAIGN_T.c.name, ENTERPRISE_T.c.credit_code)
                .join(MEMBER_T, MEMBER_T.c.campaign_id == CAMPAIGN_T.c.id)
                .join(ENTERPRISE_T, ENTERPRISE_T.c.id == MEMBER_T.c.enterprise_id)
                .where(MEMBER_T.c.excluded_reason.is_(None), MEMBER_T.c.assessed_on.is_(None),
                       ENTERPRISE_T.c.state == "assessing").order_by(MEMBER_T.c.id)).all())
        name, code = waiting[k % len(waiting)] if waiting else (CAMPAIGNS[0], self._code(k))
        path = self.inputs / f"assess-{i}.yaml"
        path.write_text(yaml.safe_dump([{
            "credit_code": code, "campaign": name, "assessed_on": str(self.db.clock.now().date()),
            "assessors": ["王工"], "methods": ["资料审查"], "deductions": list(DEDUCTION_SETS[deductions])}],
            allow_unicode=True), encoding="utf-8")
        import_assessments(self.db.ctx(self._officer(code)), [path])

    def fire(self, i: int, k: int, pick: int, which: str, by_bureau: bool) -> None:  # noqa: ARG002
        """An event on the k-th enterprise: one its state allows (`allowed`), or any of EVENTS."""
        code = self._code(k)
        allowed = [e for e in RULES.machine.allowed_events(self._state(code)) if e in EVENTS]
        if pick % 6 and "exclude" in allowed[1:]:  # ending the record is allowed almost everywhere: keep it rare
            allowed.remove("exclude")
        event = allowed[pick % len(allowed)] if which == "allowed" and allowed else EVENTS[pick % len(EVENTS)]
        today = self.db.clock.now().date()
        data: dict[str, Any] = {
            "hold_interview": {"attendees": "法定代表人", "record": "约谈记录"},
            "propose_revocation": {"revocation_reason": "poor_operation", "revocation_source": "assessment"},
            "withdraw_revocation": {"objection": "异议成立"},
            "renew": {"valid_until": today + timedelta(days=3 * 365), "certificate_no": f"津AQBJXⅢ{today:%Y%m%d}"},
        }.get(event, {})
        fire_event(self.db.ctx("boss" if by_bureau else self._officer(code)), code, event, reason=f"性质测试 {event}",
                   data=data)

    def submit(self, i: int, k: int, reuse: bool) -> None:
        """Evidence by the district officer; `reuse` sends the same file as every earlier `reuse` submission
        (refused after a rejection of it), else a file new to this operation."""
        f = self._finding(k, "open")
        path = self.inputs / ("same-evidence.pdf" if reuse else f"evidence-{i}.pdf")
        path.write_bytes(b"%PDF the same photo" if reuse else f"%PDF rectified at operation {i}".encode())
        with self.db.store.read() as session:
            code = session.execute(select(ENTERPRISE_T.c.credit_code).join(
                FINDING_T, FINDING_T.c.enterprise_id == ENTERPRISE_T.c.id).where(FINDING_T.c.id == f)).scalar_one()
        submit_finding(self.db.ctx(self._officer(code)), f, [path], note=f"第{i}步")

    def verify(self, i: int, k: int) -> None:  # noqa: ARG002
        verify_finding(self.db.ctx("boss"), self._finding(k, "submitted"))

    def reject(self, i: int, k: int) -> None:
        reject_finding(self.db.ctx("boss"), self._finding(k, "submitted"), f"材料不全（第{i}步）")

    def sweep(self, i: int) -> None:  # noqa: ARG002
        """`deadlines check`: the sweep and the campaign progress notes, as the system actor."""
        ctx = self.db.ctx("system", source="flow")
        sweep_job(ctx, "cli")
        progress_job(ctx, "cli")

    def send(self, i: int) -> None:  # noqa: ARG002
        send_job(self.db.ctx("system", source="flow"), "cli")

    def checkpoint(self, i: int) -> None:  # noqa: ARG002
        """The nightly audit job: a checkpoint of the chains that moved, then the whole trail verified."""
        audit_job(self.db.ctx("system", source="flow"), "cli")

    def exclude_member(self, i: int, name: int, k: int, reason: str) -> None:  # noqa: ARG002
        exclude_member(self.db.ctx("boss"), CAMPAIGNS[name], self._code(k), reason, note=f"第{i}步")


# --- the reads -------------------------------------------------------------------------------------------

def data(value: Any) -> Any:
    """A read's result as plain data (plain() for contracts; lists and dicts of them element by element)."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(value)
    if isinstance(value, list):
        return [data(v) for v in value]
    if isinstance(value, dict):
        return {k: data(v) for k, v in value.items()}
    return value


def outcome(read: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """What a read answers: its data, or the refusal (class, code, field, message)."""
    try:
        return data(read(*args, **options))
    except DOMAIN_ERRORS as exc:
        return ("refused", type(exc).__name__, getattr(exc, "code", None), getattr(exc, "field", None), str(exc))


def _export_rows(ctx: Context, db: Db, **options: Any) -> Any:
    """The ledger export: its contract (less the file's name and the sheets' counts) and the rows and title it
    hands to the workbook writer (the same for the same rows; the workbook's bytes carry the time of writing)."""
    written: dict[str, Any] = {}

    def capture(path: Path, enterprises: Sequence[Any], rules: Any, *, title: str | None = None) -> dict[str, int]:  # noqa: ARG001
        written.update(rows=[dict(e) for e in enterprises], title=title)
        return {}

    real, ledger_export.write_ledger_xlsx = ledger_export.write_ledger_xlsx, capture
    try:
        done = data(export_ledger(ctx, db.folder / "export.xlsx", **options))
    finally:
        ledger_export.write_ledger_xlsx = real
    return {**{k: v for k, v in done.items() if k not in ("file", "sheets")}, **written}


def _reconcile(ctx: Context, db: Db) -> Any:
    """`ledger reconcile` of the world's own ledger (a read: no --propose, no --campaign)."""
    path = write_ledger(db.folder.parent / "inputs" / "reconcile.csv", [row(i, "武清区") for i in (1, 2)]
                        + [row(100 + i, "河西区") for i in (1, 2)] + [row(50, "武清区")])
    return data(reconcile_ledger(ctx, [path]))


def _per_code(read: Callable[[Context, str], Any]) -> Callable[[Context, Db, Sequence[str]], Any]:
    def each(ctx: Context, db: Db, codes: Sequence[str]) -> Any:  # noqa: ARG001
        return {code: outcome(read, ctx, code) for code in codes}
    return each


def _per_campaign(read: Callable[[Context, str], Any]) -> Callable[[Context, Db, Sequence[str]], Any]:
    def each(ctx: Context, db: Db, codes: Sequence[str]) -> Any:  # noqa: ARG001
        return {name: outcome(read, ctx, name) for name in CAMPAIGNS}
    return each


def _plain_read(read: Callable[[Context], Any]) -> Callable[[Context, Db, Sequence[str]], Any]:
    def one(ctx: Context, db: Db, codes: Sequence[str]) -> Any:  # noqa: ARG001
        return outcome(read, ctx)
    return one


Read = Callable[[Context, Db, Sequence[str]], Any]
# every read use case the command line exposes (safegrade/cli/*.py), each with the options worth varying
READS: dict[str, Read] = {
    "enterprise list": _plain_read(lambda c: list_enterprises(c)),
    "enterprise list --state/--district/--flag/--overdue/--limit": _plain_read(lambda c: [
        outcome(list_enterprises, c, state=s) for s in ("assessing", "rectifying", "revocation_pending")
    ] + [outcome(list_enterprises, c, district="武清区"), outcome(list_enterprises, c, flag="not_gongmao"),
         outcome(list_enterprises, c, overdue=True), outcome(list_enterprises, c, limit=2)]),
    "enterprise show": _per_code(lambda c, code: show_enterprise(c, code)),
    "enterprise show --as-of": _per_code(lambda c, code: show_enterprise(c, code, as_of=c.now())),
    "audit show (timeline)": _per_code(timeline),
    "finding list": _plain_read(lambda c: [
        outcome(list_findings, c), outcome(list_findings, c, status="submitted"),
        outcome(list_findings, c, overdue=True), outcome(list_findings, c, district="河西区")]),
    "deadlines list": _plain_read(lambda c: [
        outcome(list_deadlines, c), outcome(list_deadlines, c, kind="finding"),
        outcome(list_deadlines, c, status="open", due_by=c.now().date() + timedelta(days=30))]),
    "deadlines plan": _plain_read(lambda c: plan_deadlines(c, c.now().date(), c.now().date() + timedelta(days=20))),
    "deadlines runs": _plain_read(lambda c: list_runs(c)),
    "reminders list": _plain_read(lambda c: [outcome(list_reminders, c),
                                             outcome(list_reminders, c, failed=True)]),
    "actor list": _plain_read(list_actors),
    "audit verify": _plain_read(verify_audit),
    "campaign list": _plain_read(list_campaigns),
    "campaign status": _per_campaign(campaign_status),
    "report circular (figures)": _per_campaign(circular_figures),
    "report loop (enterprise)": _per_code(lambda c, code: loop_report(c, code)),
    "report loop (campaign)": _per_campaign(lambda c, name: loop_report(c, campaign=name)),
    "report districts (figures)": _per_campaign(district_report),
    "oversight flags": _per_campaign(oversight_flags),
    "ledger export (rows)": lambda c, db, codes: [outcome(_export_rows, c, db),  # noqa: ARG005
                                                  outcome(_export_rows, c, db, include_all=True)],
    "ledger reconcile": lambda c, db, codes: outcome(_reconcile, c, db),  # noqa: ARG005
}
VERSIONS = "each enterprise's version at D is the replay of its audit trail up to D"
TABLES = "every table read through asof at D on A holds the rows of the table on B"


def tables_at(db: Db, instant: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every table services/asof.py reads as of an instant (the versioned, the dated, the rows they own), as it reads
    them at `instant`, rows in key order (evidence's stored paths relative to the database's folder)."""
    ctx = db.at(instant)
    with db.store.read() as session:
        then = as_of(ctx, session)
        out = {}
        for name in (*VERSIONED, *DATED, *OWNED):
            base = metadata.tables[name]
            t = then.table(base)
            key = [t.c[c.name] for c in base.primary_key.columns]
            rows = [dict(r) for r in session.execute(select(t).order_by(*key)).mappings()]
            for r in rows:
                if r.get("stored_path"):
                    r["stored_path"] = str(Path(r["stored_path"]).relative_to(db.folder))
            out[name] = rows
    return out


def versions_at(db: Db, instant: datetime) -> dict[str, Any]:
    """Each enterprise as the asof table reads it at `instant` (projected), and the replay of its trail to then."""
    ctx = db.at(instant)
    out: dict[str, Any] = {}
    with db.store.read() as session:
        then = as_of(ctx, session)
        e = then.table(ENTERPRISE_T)
        for r in session.execute(select(e).order_by(e.c.id)).mappings():
            version = trail.projection(r)
            replayed = trail.replay(trail.chain(session, r["id"], r["credit_code"], until=instant)) or {}
            out[r["credit_code"]] = (version, {k: replayed.get(k) for k in version})  # as `audit verify` compares
        registered = {c for c, in session.execute(select(ENTERPRISE_T.c.credit_code))}
        for code in sorted(registered - set(out)):  # not in the asof table: its trail must not start before then
            eid = session.execute(select(ENTERPRISE_T.c.id).where(ENTERPRISE_T.c.credit_code == code)).scalar_one()
            out[code] = (None, trail.replay(trail.chain(session, eid, code, until=instant)))
    return out


# --- running a history -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One history's run: what each operation did, and for each instant D every read of A and of B."""

    story: list[str] = field(default_factory=list)
    reads: dict[str, list[tuple[datetime, Any, Any]]] = field(default_factory=dict)
    versions: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    tables: list[tuple[datetime, Any, Any]] = field(default_factory=list)


def instants_of(times: Sequence[datetime], picks: Sequence[tuple[Any, ...]]) -> list[datetime]:
    out = set()
    for pick in picks:
        if pick[0] == "before":
            out.add(times[0] - timedelta(hours=1))
        elif pick[0] == "at":
            out.add(times[min(pick[1], len(times) - 1)])
        elif pick[0] == "between":
            i = min(pick[1], len(times) - 1)
            after = times[i + 1] if i + 1 < len(times) else times[i] + timedelta(days=3)
            out.add(times[i] + (after - times[i]) * pick[2])
        else:
            out.add(times[-1] + timedelta(hours=pick[1]))
    return sorted(out)


class Backend:
    """Fresh migrated databases: SQLite files copied from one migrated template; on PostgreSQL two schemas (A and
    B), migrated once, emptied (every table but alembic's, identities restarted) for each history."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root
        self._template: Path | None = None
        self._schemas: dict[str, tuple[Any, Store]] = {}

    def fresh(self, folder: Path) -> Db:
        folder.mkdir(parents=True)
        if self.name == "sqlite":
            if self._template is None:
                self._template = self.root / "template.db"
                store = Store(make_engine(f"sqlite:///{self._template}"))
                store.migrate()
                store.engine.dispose()
            shutil.copyfile(self._template, folder / "safegrade.db")
            url = f"sqlite:///{folder / 'safegrade.db'}"
            return Db(url, folder, Store(make_engine(url, sqlite_synchronous="normal")))
        if folder.name not in self._schemas:
            schema = pg_schema()
            store = Store(make_engine(schema.__enter__()))
            store.migrate()
            self._schemas[folder.name] = (schema, store)
        store = self._schemas[folder.name][1]
        with store.engine.begin() as conn:
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                       "AND tablename <> 'alembic_version'")).scalars().all()
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return Db(store.engine.url.render_as_string(hide_password=False), folder, store)

    def close(self, db: Db) -> None:
        if self.name == "sqlite":
            db.store.engine.dispose()

    def shutdown(self) -> None:
        for schema, store in self._schemas.values():
            store.engine.dispose()
            schema.__exit__(None, None, None)
        shutil.rmtree(self.root, ignore_errors=True)


def run_history(backend: Backend, ops: Sequence[Op], picks: Sequence[tuple[Any, ...]]) -> Outcome:
    ops = [Op(0, "world"), *ops]
    work = Path(tempfile.mkdtemp(prefix="sg-asof-"))
    inputs = work / "inputs"
    inputs.mkdir()
    out = Outcome()
    a = backend.fresh(work / "A")
    try:
        runner, times = Runner(a, inputs), []
        for i, op in enumerate(ops):
            a.clock.advance(hours=op.hours)
            times.append(a.clock.now())
            out.story.append(f"{i:2d} {a.clock.now():%Y-%m-%d %H:%M} {op}: {runner.run(i, op)}")
        codes = sorted(runner._codes())
        b = backend.fresh(work / "B")
        try:
            b_runner, done = Runner(b, inputs), 0
            for d in instants_of(times, picks):
                while done < len(ops) and times[done] <= d:
                    b.clock.set(times[done])
                    b_runner.run(done, ops[done])
                    done += 1
                for name, read in READS.items():
                    out.reads.setdefault(name, []).append((d, read(a.at(d), a, codes), read(b.at(d), b, codes)))
                out.versions.append((d, versions_at(a, d)))
                out.tables.append((d, tables_at(a, d), tables_at(b, d)))
        finally:
            backend.close(b)
    finally:
        backend.close(a)
        shutil.rmtree(work, ignore_errors=True)
    return out


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two plain values first differ, and how."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            if k not in a or k not in b:
                return f"{path}[{k!r}]: only in {'B' if k not in a else 'A'}: {a.get(k, b.get(k))!r:.300}"
            found = first_difference(a[k], b[k], f"{path}[{k!r}]")
            if found:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path}: A has {len(a)} items, B {len(b)}; extra: {(a[len(b):] or b[len(a):])[0]!r:.300}"
        return None
    return None if a == b else f"{path}: A {a!r:.300} != B {b!r:.300}"


def difference(read: str, result: Outcome) -> str | None:
    """How `read` (or the versions' check) went wrong in this history, if it did: the first instant and place."""
    if read == VERSIONS:
        for d, by_code in result.versions:
            for code, (version, replayed) in by_code.items():
                if version != replayed:
                    return f"{code} at {d}: the asof version != the replay of its trail: " + str(
                        first_difference(version, replayed))
        return None
    for d, a, b in result.tables if read == TABLES else result.reads[read]:
        if a != b:
            return (f"as of {d:%Y-%m-%d %H:%M:%S.%f}: A (everything recorded) differs from B (only what was "
                    f"recorded up to D): {first_difference(a, b)}")
    return None


# two histories written out, always run first: the whole rectification loop (a rejection, evidence refused as
# not new, then new evidence and verification), an interview, escalations, a revocation proposed, withdrawn and
# carried out after its publicity, a renewal years on; and exclusions from a campaign, enterprises imported
# while it runs, a second campaign and late assessments
LOOP = [Op(0, "open_campaign", (0, 60, True)), Op(24, "assess", (0, 1)), Op(2, "assess", (0, 2)),
        Op(5, "assess", (0, 3)), Op(1, "assess", (0, 0)), Op(24, "submit", (0, True)), Op(3, "reject", (0,)),
        Op(1, "submit", (0, True)), Op(1, "submit", (0, False)), Op(26, "verify", (0,)),
        Op(0, "fire", (2, 7, "any", False)), Op(48, "sweep"), Op(1, "send"), Op(0, "fire", (0, 1, "any", False)),
        Op(24 * 20, "sweep"), Op(1, "checkpoint"), Op(2, "fire", (3, 3, "any", True)),
        Op(24 * 30, "fire", (0, 4, "any", False)), Op(1, "fire", (1, 0, "any", False)),
        Op(24, "exclude_member", (0, 1, "deregistered")), Op(3, "fire", (3, 5, "any", False)),
        Op(24 * 200, "sweep"), Op(24 * 200, "fire", (2, 6, "any", False)), Op(0, "sweep")]
LOOP_AT = [("before",), ("at", 7), ("at", 11), ("between", 15, 0.5), ("at", 18), ("after", 100)]
EXCLUSIONS = [Op(3, "open_campaign", (0, 30, False)), Op(5, "exclude_member", (0, 1, "deregistered")),
              Op(5, "exclude_member", (0, 2, "relocated")), Op(24, "ledger_import", (2,)), Op(0, "send"),
              Op(24 * 10, "open_campaign", (1, 20, True)), Op(1, "assess", (0, 2)), Op(24 * 40, "sweep"),
              Op(1, "assess", (1, 3)), Op(0, "assess", (1, 1)), Op(2, "send"), Op(24, "fire", (4, 0, "any", True)),
              Op(24 * 30, "sweep"), Op(0, "send")]
EXCLUSIONS_AT = [("at", 3), ("at", 6), ("between", 8, 0.3), ("after", 24 * 30)]


# --- the tests: one entry per read -----------------------------------------------------------------------

NAMES = [*READS, VERSIONS, TABLES]
ENTRIES = [pytest.param(name, id=name) for name in NAMES]
# Hypothesis draws the histories once for all the entries (its generation is not the same from one test to the
# next, even derandomized); without shrinking, which re-runs whole histories many times: the shortest failing
# history of each read is reported instead. SAFEGRADE_ASOF_SHRINK="<read>" shrinks the failures of that read
# (when hunting a minimal example by hand).
SHRINK = os.environ.get("SAFEGRADE_ASOF_SHRINK")
COMMON = {"deadline": None, "derandomize": True, "database": None,
          "phases": (Phase.explicit, Phase.generate, *((Phase.shrink,) if SHRINK else ())),
          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@dataclass
class Exploration:
    """What the histories showed: how many were run, and for each read that went wrong its shortest failure."""

    histories: int = 0
    failures: dict[str, tuple[int, str]] = field(default_factory=dict)

    def check(self, read: str) -> None:
        assert self.histories >= 3, f"only {self.histories} histories were run"
        if read in self.failures:
            pytest.fail(f"{read}: {self.failures[read][1]}", pytrace=False)


def explore(backend: Backend, max_examples: int) -> Exploration:
    found = Exploration()

    @settings(max_examples=max_examples, **COMMON)
    @given(ops=histories, picks=instants)
    @example(ops=LOOP, picks=LOOP_AT)
    @example(ops=EXCLUSIONS, picks=EXCLUSIONS_AT)
    def run(ops: list[Op], picks: list[tuple[Any, ...]]) -> None:
        result = run_history(backend, ops, picks)
        found.histories += 1
        for read in NAMES:
            problem = difference(read, result)
            if problem is not None and (read not in found.failures or len(ops) < found.failures[read][0]):
                found.failures[read] = (len(ops), f"{problem}\nhistory:\n" + "\n".join(result.story))
            assert read != SHRINK or problem is None, problem

    run()
    return found


@pytest.fixture(scope="module")
def on_sqlite() -> Iterator[Exploration]:
    backend = Backend("sqlite", Path(tempfile.mkdtemp(prefix="sg-asof-sqlite-")))
    try:
        yield explore(backend, 15)
    finally:
        backend.shutdown()


@pytest.mark.parametrize("read", ENTRIES)
def test_every_read_as_of_d_equals_the_read_of_a_database_holding_only_the_history_up_to_d(
        on_sqlite: Exploration, read: str) -> None:
    on_sqlite.check(read)


@pytest.fixture(scope="module")
def on_postgresql() -> Iterator[Exploration]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    backend = Backend("postgresql", Path(tempfile.mkdtemp(prefix="sg-asof-pg-")))
    try:
        yield explore(backend, 3)
    finally:
        backend.shutdown()


@pytest.mark.pg
@pytest.mark.slow
@pytest.mark.parametrize("read", ENTRIES)
def test_on_postgresql_too(on_postgresql: Exploration, read: str) -> None:
    on_postgresql.check(read)
