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

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from safegrade.clock import FixedClock, TestClock
from safegrade.errors import Forbidden, NotFound, SafegradeError
from safegrade.models import AuditEvent, Enterprise, Finding, Reminder, table
from safegrade.rules import Rules
from safegrade.services.actors import add_actor
from safegrade.services.context import Context, open_context
from safegrade.services.deadlines import list_deadlines
from safegrade.services.enterprise import list_enterprises, show_enterprise, timeline
from safegrade.services.finding import list_findings
from safegrade.services.jobs import send_job, sweep_job
from safegrade.services.reminders import list_reminders
from safegrade.services.scope import EVERYTHING, Scope, read_scope
from safegrade.settings import load_settings
from safegrade.store import Store, make_engine
from tests.conftest import RULES_DIR, at
from tests.factories import DEDUCTIONS, MAJOR, World, assess, campaign_world

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


@pytest.fixture(scope="module")
def town(rules: Rules, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    folder = tmp_path_factory.mktemp("scope")
    url = f"sqlite:///{folder / 'safegrade.db'}"
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
    for day in ("2023-08-20", "2023-09-05", "2023-10-10"):
        clock.set(at(f"{day} 08:00"))
        sweep_job(make("system", source="flow"), "cli")
        send_job(make("system", source="flow"), "cli")
    clock.set(NOW - timedelta(hours=1))
    with store.read() as session:
        ids = {c: i for i, c in session.execute(select(ENTERPRISE_T.c.id, ENTERPRISE_T.c.credit_code))}
    yield Town(w, store, rules, make, codes, ids)
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
