"""Issue 11, "one policy for reads and writes" (services/scope.py): every read the command line exposes × every
role × objects in and out of scope.

The town: two enterprises in 武清区 (district A: E1 = wuqing[0], wuqing[1]) and two in 河西区 (district B: E2 =
hexi[0], hexi[1]), all in a campaign; E1 and E2 assessed with findings, the deadlines swept and the reminders
sent. The readers: the bureau (boss), the officers of A (wq) and of B (hx), the accounts of E1 (e1) and E2 (e2),
the reviewer (rev), the system actor, and the operator's console (no actor).

The oracle: what the console reads is everything; an allowed read by a role returns exactly the console's rows
that the role's scope covers (compared as sets of credit codes, districts and ids); a role the rules do not list
for the read's action is refused (Forbidden, role_forbidden) and nothing changes. An object out of scope answers
NotFound with the code and the message of a missing one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from safegrade.clock import FixedClock, TestClock
from safegrade.errors import Forbidden, NotFound, SafegradeError
from safegrade.io import ledger_export
from safegrade.models import AuditEvent, Enterprise, Finding, Reminder, table
from safegrade.rules import Rules
from safegrade.services.actors import add_actor, list_actors
from safegrade.services.auditing import export_audit, verify_audit
from safegrade.services.campaign import campaign_status, exclude_member, list_campaigns
from safegrade.services.context import Context, open_context
from safegrade.services.deadlines import list_deadlines
from safegrade.services.enterprise import list_enterprises, show_enterprise, timeline
from safegrade.services.finding import list_findings, submit_finding, verify_finding
from safegrade.services.jobs import send_job, sweep_job
from safegrade.services.ledger import export_ledger, reconcile_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.services.plan import plan_deadlines
from safegrade.services.reminders import list_reminders, retry_reminder
from safegrade.services.reporting.circular import circular_figures
from safegrade.services.reporting.districts import district_report
from safegrade.services.reporting.loop import loop_report
from safegrade.services.reporting.oversight import oversight_flags
from safegrade.services.runs import list_runs
from safegrade.services.scope import EVERYTHING, Scope, read_scope
from safegrade.settings import load_settings
from safegrade.store import Store, make_engine
from tests.conftest import RULES_DIR, at, pg_schema
from tests.factories import CAMPAIGN, DEDUCTIONS, MAJOR, World, assess, campaign_world, plain, row, write_ledger

ENTERPRISE_T, FINDING_T, REMINDER_T, AUDIT_T = table(Enterprise), table(Finding), table(Reminder), table(AuditEvent)
WUQING, HEXI = "120114", "120103"
NOW = at("2023-10-20 09:00")
# reader -> (role, district code, enterprise key in the town) ; None: the operator's console
READERS: dict[str | None, tuple[str, str | None, str | None]] = {
    "boss": ("bureau", None, None), "wq": ("district", WUQING, None), "hx": ("district", HEXI, None),
    "e1": ("enterprise", None, "E1"), "e2": ("enterprise", None, "E2"), "rev": ("reviewer", None, None),
    "system": ("system", None, None), None: ("console", None, None),
}


@dataclass
class Town:
    world: World
    store: Store
    rules: Rules
    make: Callable[..., Context]
    codes: dict[str, str]  # E1, E2 -> credit code
    ids: dict[str, int]  # credit code -> enterprise id
    folder: Path

    def ctx(self, actor: str | None) -> Context:
        """A context reading at NOW as `actor` (None: the console)."""
        return self.make(actor, fixed=True)

    def scope(self, reader: str | None) -> Scope:
        role, district, key = READERS[reader]
        if role == "district":
            return Scope("district", district=district, actor=reader)
        if role == "enterprise":
            return Scope("enterprise", enterprise_code=self.codes[key or ""], actor=reader)
        return EVERYTHING

    def district_of(self, code: str) -> str:
        return code[2:8]

    def audit_count(self) -> int:
        with self.store.read() as session:
            return int(session.execute(select(func.count()).select_from(AUDIT_T)).scalar_one())


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def town(request: pytest.FixtureRequest, rules: Rules, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    """The town on SQLite and on PostgreSQL (a schema of its own, dropped after the module)."""
    folder = tmp_path_factory.mktemp("scope")
    with ExitStack() as stack:
        url = (f"sqlite:///{folder / 'safegrade.db'}" if request.param == "sqlite"
               else stack.enter_context(pg_schema()))
        yield from _town(rules, folder, url)


def _town(rules: Rules, folder: Path, url: str) -> Iterator[Town]:
    store = Store(make_engine(url))
    store.migrate()
    clock = TestClock(at("2023-06-01 09:00"))
    settings = load_settings(env={}, database_url=url, base_dir=str(folder), rules_dir=str(RULES_DIR),
                             notifications={"channels": [{"name": "outbox", "url": f"file://{folder}/outbox"}],
                                            "retry": {}})

    def make(actor: str | None = None, url: str | None = None, source: str = "cli",  # noqa: ARG001
             fixed: bool = False) -> Context:
        return open_context(settings, actor=actor, source=source, rules=rules, store=store, check_schema=False,
                            clock=FixedClock(NOW, settings.zone) if fixed else clock)

    w = campaign_world(make, folder)
    boss = make("boss")
    codes = {"E1": w.wuqing[0], "E2": w.hexi[0]}
    add_actor(boss, "e1", "enterprise", enterprise_code=codes["E1"])
    add_actor(boss, "e2", "enterprise", enterprise_code=codes["E2"])
    assess(make, folder, clock, codes["E1"], DEDUCTIONS, on="2023-07-10", actor="wq")
    assess(make, folder, clock, codes["E2"], [*DEDUCTIONS, *MAJOR], on="2023-07-11", actor="hx")
    # the same deductions as E2 at an enterprise of A (copied_deductions in both districts); one on a Saturday
    assess(make, folder, clock, w.wuqing[1], [*DEDUCTIONS, *MAJOR], on="2023-07-12", actor="wq")
    assess(make, folder, clock, w.hexi[1], DEDUCTIONS, on="2023-07-15", actor="hx")
    for day in ("2023-08-20", "2023-09-05", "2023-10-10"):
        clock.set(at(f"{day} 08:00"))
        sweep_job(make("system", source="flow"), "cli")
        send_job(make("system", source="flow"), "cli")
    clock.set(NOW - timedelta(hours=1))
    with store.read() as session:
        ids = {c: i for i, c in session.execute(select(ENTERPRISE_T.c.id, ENTERPRISE_T.c.credit_code))}
    yield Town(w, store, rules, make, codes, ids, folder)
    store.engine.dispose()


# --- the reads: each its action and the rows it answers, as (key, district, credit code or None) ------------

Row = tuple[Any, str | None, str | None]


def _enterprises(ctx: Context) -> set[Row]:
    return {(e.credit_code, e.district, e.credit_code) for e in list_enterprises(ctx)}


def _enterprises_filtered(ctx: Context) -> set[Row]:
    return {(e.credit_code, e.district, e.credit_code) for e in list_enterprises(ctx, district="武清区")}


def _findings(ctx: Context) -> set[Row]:
    return {(f.id, f.district, f.credit_code) for f in list_findings(ctx)}


def _deadlines(ctx: Context) -> set[Row]:
    return {(d.id, d.district, d.enterprise_id) for d in list_deadlines(ctx)}


def _reminders(ctx: Context) -> set[Row]:
    return {(r.id, r.district, (r.credit_code, r.audience)) for r in list_reminders(ctx)}


def _plan(ctx: Context) -> set[Row]:
    plan = plan_deadlines(ctx, NOW.date(), NOW.date() + timedelta(days=60))
    return {((i.on, i.subject, i.step, i.what), _district_code(ctx, i.district_name), None)
            for d in plan.days for i in d.items}


def _district_code(ctx: Context, name: str | None) -> str | None:
    found = ctx.rules.district(name or "")
    return found.code if found else None


def _actors(ctx: Context) -> set[Row]:
    return {(a.name, _district_code(ctx, a.district), a.enterprise_code or None) for a in list_actors(ctx)}


def _campaign_status(ctx: Context) -> set[Row]:
    status = campaign_status(ctx, CAMPAIGN)
    return {((d.district, d.selected, d.assessed, d.outstanding), d.district, None) for d in status.districts}


def _loop_campaign(ctx: Context) -> set[Row]:
    return {(e.credit_code, e.district, e.credit_code) for e in loop_report(ctx, campaign=CAMPAIGN).enterprises}


def _district_report(ctx: Context) -> set[Row]:
    report = district_report(ctx, CAMPAIGN)
    return ({((d.district, d.selected, d.findings, d.flags_total), d.district, None) for d in report.districts}
            | {(("flag", f["kind"], f["detail"]), f["district"], None) for f in report.flags})


def _flags(ctx: Context) -> set[Row]:
    return {((f["kind"], f["detail"]), f["district"], None) for f in oversight_flags(ctx, CAMPAIGN)}


def _ledger_rows(ctx: Context) -> set[Row]:
    written: list[dict[str, Any]] = []

    def capture(path: Path, enterprises: Any, rules: Any, *, title: str | None = None) -> dict[str, int]:  # noqa: ARG001
        written.extend(dict(e) for e in enterprises)
        return {}

    real, ledger_export.write_ledger_xlsx = ledger_export.write_ledger_xlsx, capture
    try:
        done = export_ledger(ctx, Path(ctx.settings.base_dir) / "export.xlsx", include_all=True)
    finally:
        ledger_export.write_ledger_xlsx = real
    assert done.enterprises == len(written)
    return {(r["credit_code"], r["district"], r["credit_code"]) for r in written}


def _reconcile(ctx: Context) -> set[Row]:
    folder = Path(ctx.settings.base_dir)
    # the world's ledger with one enterprise of each district left out and one unknown of each district added
    rows = [row(2, "武清区"), row(102, "河西区"), row(70, "武清区"), row(170, "河西区")]
    done = reconcile_ledger(ctx, [write_ledger(folder / "reconcile.csv", rows)])
    return {(tuple(d.values()), _district_code(ctx, list(d.values())[1]), list(d.values())[2])
            for d in done.discrepancies}


def _audit_export(ctx: Context) -> set[Row]:
    path = Path(ctx.settings.base_dir) / f"audit-{ctx.actor_name}.jsonl"
    done = export_audit(ctx, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    events = [x for x in lines if x["type"] == "event"]
    assert done.events == len(events)
    assert verify_export_ok(path)
    return {(x["hash"], x["enterprise"][2:8], x["enterprise"]) for x in events}


def verify_export_ok(path: Path) -> bool:
    from safegrade.services.auditing import verify_export

    return verify_export(path).ok


def _audit_verify(ctx: Context) -> set[Row]:
    report = verify_audit(ctx)
    assert report.ok, report.breaks
    return {(("chains", report.chains, "events", report.events), None, None)}


@dataclass(frozen=True)
class Read:
    action: str
    rows: Callable[[Context], set[Row]]
    # whether a row is in a scope: by default its district (district officer) or its credit code (enterprise)
    sees: Callable[[Town, Scope, Row], bool] | None = None
    narrowed: bool = True  # every officer and every enterprise sees less than the console


def _by_enterprise_id(town: Town, scope: Scope, row: Row) -> bool:
    if scope.kind == "enterprise":
        return row[2] is not None and row[2] == town.ids[scope.enterprise_code or ""]
    return scope.kind == "all" or row[1] == scope.district


def _actor_seen(town: Town, scope: Scope, row: Row) -> bool:
    if scope.kind == "district":
        return row[1] == scope.district or (row[2] is not None and town.district_of(row[2]) == scope.district)
    return scope.kind == "all"


def _reminder_seen(town: Town, scope: Scope, row: Row) -> bool:  # noqa: ARG001
    code, audience = row[2]
    if scope.kind == "enterprise":
        return code == scope.enterprise_code and audience == "enterprise"
    return scope.kind == "all" or row[1] == scope.district


LISTS: dict[str, Read] = {
    "enterprise list": Read("read_enterprises", _enterprises),
    "enterprise list --district 武清区": Read("read_enterprises", _enterprises_filtered, narrowed=False),
    "finding list": Read("read_enterprises", _findings),
    "deadlines list": Read("read_enterprises", _deadlines, _by_enterprise_id),
    "reminders list": Read("read_enterprises", _reminders, _reminder_seen),
    "deadlines plan": Read("plan_deadlines", _plan),
    "actor list": Read("read_actors", _actors, _actor_seen),
    "campaign status": Read("read_campaigns", _campaign_status),
    "report loop --campaign": Read("read_district_reports", _loop_campaign),
    "report districts": Read("read_district_reports", _district_report),
    "oversight flags": Read("read_district_reports", _flags),
    "ledger export": Read("export_ledger", _ledger_rows),
    "ledger reconcile": Read("reconcile_ledger", _reconcile),
    "audit export": Read("read_audit", _audit_export),
}
# reads of the whole city: a reader the rules allow reads exactly what the console reads
WHOLE: dict[str, tuple[str, Callable[[Context], Any]]] = {
    "campaign list": ("read_campaigns", lambda c: plain(list_campaigns(c))),
    "deadlines runs": ("read_runs", lambda c: plain(list_runs(c))),
    "report circular": ("read_reports", lambda c: plain(circular_figures(c, CAMPAIGN))),
}


def _default_sees(scope: Scope, row: Row) -> bool:
    return scope.sees(row[1], row[2]) if isinstance(row[2], str) else scope.sees_district(row[1])


def expected_rows(town: Town, read: Read, reader: str | None, everything: set[Row]) -> set[Row]:
    scope = town.scope(reader)
    if read.sees is not None:
        return {r for r in everything if read.sees(town, scope, r)}
    return {r for r in everything if _default_sees(scope, r)}


def allowed(town: Town, action: str, reader: str | None) -> bool:
    return reader is None or READERS[reader][0] in town.rules.lifecycle.actions.get(action, ())


@pytest.mark.parametrize("reader", list(READERS), ids=[str(r) for r in READERS])
@pytest.mark.parametrize("name", list(LISTS))
def test_a_list_answers_exactly_the_rows_in_the_readers_scope(town: Town, name: str, reader: str | None) -> None:
    read = LISTS[name]
    everything = read.rows(town.ctx(None))
    assert everything, f"{name}: the town has nothing to read"
    before = town.audit_count()
    if not allowed(town, read.action, reader):
        with pytest.raises(Forbidden) as info:
            read.rows(town.ctx(reader))
        assert info.value.code == "role_forbidden"
    else:
        got = read.rows(town.ctx(reader))
        assert got == expected_rows(town, read, reader, everything)
        if read.narrowed and READERS[reader][0] in ("district", "enterprise"):
            assert got != everything  # the town has rows outside every officer's and enterprise's scope
    assert town.audit_count() == before


@pytest.mark.parametrize("reader", list(READERS), ids=[str(r) for r in READERS])
@pytest.mark.parametrize("name", list(WHOLE))
def test_a_whole_city_read_is_the_consoles_or_refused(town: Town, name: str, reader: str | None) -> None:
    action, read = WHOLE[name]
    everything = read(town.ctx(None))
    if allowed(town, action, reader):
        assert read(town.ctx(reader)) == everything
    else:
        assert refusal(lambda: read(town.ctx(reader))).code == "role_forbidden"


@pytest.mark.parametrize("reader", list(READERS), ids=[str(r) for r in READERS])
def test_audit_verify_checks_the_chains_in_scope(town: Town, reader: str | None) -> None:
    if not allowed(town, "read_audit", reader):
        assert refusal(lambda: verify_audit(town.ctx(reader))).code == "role_forbidden"
        return
    report = verify_audit(town.ctx(reader))
    assert report.ok, report.breaks
    scope = town.scope(reader)
    seen = [c for c in town.world.all if scope.sees(town.district_of(c), c)]
    assert report.chains == len(seen)
    with town.store.read() as session:
        events = session.execute(select(func.count()).select_from(AUDIT_T).where(
            AUDIT_T.c.enterprise_id.in_([town.ids[c] for c in seen]))).scalar_one()
    assert report.events == events


# --- one object: in scope it is shown; out of scope it is refused as a missing one is ------------------------

MISSING = "91120114MA00009999"


def refusal(call: Callable[[], Any]) -> SafegradeError:
    with pytest.raises(SafegradeError) as info:
        call()
    return info.value


def same_refusal(out_of_scope: SafegradeError, missing: SafegradeError, code: str, missing_code: str) -> None:
    assert type(out_of_scope) is type(missing) is NotFound
    assert (out_of_scope.code, out_of_scope.field) == (missing.code, missing.field)
    assert str(out_of_scope).replace(code, "<X>") == str(missing).replace(missing_code, "<X>")


ONE: dict[str, tuple[str, Callable[[Context, str], Any]]] = {
    "enterprise show": ("read_enterprises", lambda c, code: show_enterprise(c, code)),
    "enterprise show --as-of": ("read_enterprises", lambda c, code: show_enterprise(c, code, as_of=NOW)),
    "audit show (timeline)": ("read_enterprises", timeline),
    "finding list --enterprise": ("read_enterprises", lambda c, code: list_findings(c, credit_code=code)),
    "report loop (enterprise)": ("read_district_reports", lambda c, code: loop_report(c, code)),
}


@pytest.mark.parametrize("reader", list(READERS), ids=[str(r) for r in READERS])
@pytest.mark.parametrize("name", list(ONE))
def test_one_enterprise_out_of_scope_is_not_found_as_a_missing_one(town: Town, name: str, reader: str | None
                                                                     ) -> None:
    action, read = ONE[name]
    ctx = town.ctx(reader)
    before = town.audit_count()
    if not allowed(town, action, reader):
        assert refusal(lambda: read(ctx, town.world.all[0])).code == "role_forbidden"
        return
    scope = town.scope(reader)
    for code in town.world.all:
        if scope.sees(town.district_of(code), code):
            assert read(ctx, code) is not None
        elif name.startswith("finding list"):
            assert read(ctx, code) == []  # a filter, not a lookup: nothing, as for an enterprise without findings
        else:
            same_refusal(refusal(lambda code=code: read(ctx, code)), refusal(lambda: read(ctx, MISSING)), code, MISSING)
    assert town.audit_count() == before


def test_the_console_and_the_flows_read_everything_and_the_api_needs_an_actor(town: Town) -> None:
    assert read_scope(town.ctx(None), "read_enterprises") == EVERYTHING
    assert read_scope(town.make(None, source="flow", fixed=True), "read_audit") == EVERYTHING
    with pytest.raises(SafegradeError) as info:
        read_scope(town.make(None, source="api", fixed=True), "read_enterprises")
    assert info.value.code == "not_signed_in"
    assert read_scope(town.ctx("wq"), "read_enterprises") == Scope("district", district=WUQING, actor="wq")
    assert read_scope(town.ctx("e1"), "read_enterprises") == Scope("enterprise", enterprise_code=town.codes["E1"],
                                                                   actor="e1")
    assert read_scope(town.ctx("rev"), "read_audit") == Scope("all", actor="rev")


def test_scope_where_and_sees_agree(town: Town) -> None:
    with town.store.read() as session:
        rows = list(session.execute(select(ENTERPRISE_T.c.district, ENTERPRISE_T.c.credit_code)))
        for reader in READERS:
            scope = town.scope(reader)
            query = scope.filter(select(ENTERPRISE_T.c.credit_code), ENTERPRISE_T)
            assert set(session.execute(query).scalars()) == {c for d, c in rows if scope.sees(d, c)}
    nobody = Scope("district")
    assert not nobody.sees(WUQING, town.codes["E1"])
    assert not Scope("enterprise").sees(None, town.codes["E1"])


# --- writes: out of scope is not found, as a missing object; the reviewer writes nothing ---------------------

def _finding_of(town: Town, code: str) -> int:
    with town.store.read() as session:
        return int(session.execute(select(func.min(FINDING_T.c.id)).where(
            FINDING_T.c.enterprise_id == town.ids[code])).scalar_one())


def _reminder_of(town: Town, district: str) -> int:
    with town.store.read() as session:
        return int(session.execute(select(func.min(REMINDER_T.c.id)).where(REMINDER_T.c.district == district)
                                   ).scalar_one())


def _evidence(town: Town) -> list[Path]:
    path = town.folder / "evidence.pdf"
    path.write_bytes(b"%PDF rectified")
    return [path]


# (actor, write on an object out of their scope, the same write on a missing object)
WRITES: dict[str, tuple[str, Callable[[Town, Context], Any], Callable[[Town, Context], Any]]] = {
    "fire (district officer, another district)": (
        "wq", lambda t, c: fire_event(c, t.world.hexi[0], "summon", reason="x"),
        lambda _, c: fire_event(c, MISSING, "summon", reason="x")),
    "finding submit (enterprise, another enterprise)": (
        "e1", lambda t, c: submit_finding(c, _finding_of(t, t.codes["E2"]), _evidence(t)),
        lambda t, c: submit_finding(c, 999_999, _evidence(t))),
    "finding submit (district officer, another district)": (
        "hx", lambda t, c: submit_finding(c, _finding_of(t, t.codes["E1"]), _evidence(t)),
        lambda t, c: submit_finding(c, 999_999, _evidence(t))),
    "finding verify (district officer, another district)": (
        "wq", lambda t, c: verify_finding(c, _finding_of(t, t.codes["E2"])),
        lambda _, c: verify_finding(c, 999_999)),
    "campaign exclude (district officer, another district)": (
        "wq", lambda t, c: exclude_member(c, CAMPAIGN, t.world.hexi[1], "deregistered"),
        lambda _, c: exclude_member(c, CAMPAIGN, MISSING, "deregistered")),
    "reminders retry (district officer, another district)": (
        "hx", lambda t, c: retry_reminder(c, _reminder_of(t, WUQING)),
        lambda _, c: retry_reminder(c, 999_999)),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_out_of_scope_is_not_found_as_on_a_missing_object_and_writes_nothing(town: Town, name: str) -> None:
    actor, out_of_scope, missing = WRITES[name]
    before = town.audit_count()
    refused = refusal(lambda: out_of_scope(town, town.ctx(actor)))
    absent = refusal(lambda: missing(town, town.ctx(actor)))
    assert type(refused) is type(absent) is NotFound
    assert (refused.code, refused.field) == (absent.code, absent.field)
    assert str(refused).replace(str(refused.value), "<X>") == str(absent).replace(str(absent.value), "<X>")
    assert town.audit_count() == before


@pytest.mark.parametrize(("name", "write"), [
    ("fire", lambda t, c: fire_event(c, t.world.wuqing[0], "summon", reason="x")),
    ("finding submit", lambda t, c: submit_finding(c, _finding_of(t, t.codes["E1"]), _evidence(t))),
    ("finding verify", lambda t, c: verify_finding(c, _finding_of(t, t.codes["E1"]))),
    ("campaign exclude", lambda t, c: exclude_member(c, CAMPAIGN, t.world.wuqing[1], "deregistered")),
    ("reminders retry", lambda t, c: retry_reminder(c, _reminder_of(t, WUQING))),
])
def test_the_reviewer_writes_nothing_and_the_enterprise_only_submits_evidence(town: Town, name: str,
                                                                             write: Callable[[Town, Context], Any]
                                                                             ) -> None:
    before = town.audit_count()
    refused = refusal(lambda: write(town, town.ctx("rev")))
    assert isinstance(refused, Forbidden)
    assert refused.code == "read_only"
    assert str(refused).startswith("rev (reviewer) has read-only access; may not ")
    if name != "finding submit":
        assert refusal(lambda: write(town, town.ctx("e1"))).code == "role_forbidden"
    assert town.audit_count() == before


def test_a_scoped_verify_finds_the_tampering_in_its_chains_and_says_nothing_of_the_others(make_ctx, tmp_path):
    from safegrade.services.auditing import checkpoint_audit
    from tests.factories import build_world

    world = build_world(make_ctx, tmp_path, per_district=1)
    checkpoint_audit(make_ctx("boss"))
    with make_ctx().store.engine.begin() as conn:
        conn.execute(AUDIT_T.delete().where(AUDIT_T.c.enterprise_id == select(ENTERPRISE_T.c.id).where(
            ENTERPRISE_T.c.credit_code == world.hexi[0]).scalar_subquery()))
    found = {who: {(b.enterprise, b.kind) for b in verify_audit(make_ctx(who)).breaks} for who in ("wq", "hx", "boss")}
    assert found["wq"] == set()
    assert (world.hexi[0], "missing") in found["hx"]
    assert (world.hexi[0], "checkpoint") in found["hx"]  # the checkpoint's head of the chain is gone
    assert found["boss"] == found["hx"]
