"""Fixtures for the HTTP API's tests: the app over a fresh database (SQLite, or PostgreSQL with `api_any` /
`make_api(pg_url)`) and the test clock, the rules' districts, one signed-in account per role, and clients.

The world (tests.factories.build_world, plus two enterprise accounts):
- district A = 武清区 (120114), district B = 河西区 (120103);
- enterprises: `e1` in A, `e2` in B (and more of each: `world.a`, `world.b`);
- accounts, by role key (ROLES): bureau `boss`, district_a `wq`, district_b `hx`, enterprise_e1 `ent1` (of e1),
  enterprise_e2 `ent2` (of e2), reviewer `rev`; each has had its one-time password set and changed, so none
  must change it (`world.fresh_account(...)` makes one that must).

Clients: `world.session(role)` is a TestClient signed in through POST /api/v1/auth/sign-in, holding the
cookie and sending the session's CSRF token as X-CSRF-Token on every request; `world.bearer(role)` sends a
personal access token. `world.anonymous()` is neither. Move time with `world.clock.advance(...)`, never sleep.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import SQLModel

from safegrade.api.app import create_app
from safegrade.auth import change_password, issue_token, set_one_time_password
from safegrade.clock import TestClock
from safegrade.models import AuditEvent, Enterprise, table
from safegrade.services.actors import add_actor
from safegrade.services.context import Context, open_context
from safegrade.store import Store, make_engine
from tests.conftest import at, settings_for
from tests.factories import build_world

PREFIX = "/api/v1"
START = "2023-06-01 09:00"  # where the test clock (tests/conftest.py) starts
PASSWORD = "Tjsg-2023!safe"  # meets the policy: length, four classes, not an account's name
DISTRICT_A, DISTRICT_B = "120114", "120103"  # 武清区, 河西区

# role key → account name
ROLES: dict[str, str] = {"bureau": "boss", "district_a": "wq", "district_b": "hx", "enterprise_e1": "ent1",
                         "enterprise_e2": "ent2", "reviewer": "rev"}

# tables that a refused request may still write (the security log, sessions and tokens: a sign-in attempt, a
# session's idle expiry, a token's last use); every other table must keep its row count
AUTH_TABLE_MARKS = ("security", "session", "token", "account", "credential", "lockout", "login", "sign_in")


@dataclass
class ApiWorld:
    app: FastAPI
    make_ctx: Callable[..., Context]
    clock: TestClock
    url: str
    a: list[str]  # credit codes in district A (e1 first)
    b: list[str]  # credit codes in district B (e2 first)
    passwords: dict[str, str] = field(default_factory=dict)
    _clients: list[TestClient] = field(default_factory=list)

    @property
    def e1(self) -> str:
        return self.a[0]

    @property
    def e2(self) -> str:
        return self.b[0]

    def ctx(self, actor: str | None = None) -> Context:
        """A console context on the same database and clock (as `actor`, or the operator with none)."""
        return self.make_ctx(actor, url=self.url)

    def anonymous(self, **kwargs: Any) -> TestClient:
        client = TestClient(self.app, **kwargs)
        self._clients.append(client)
        return client

    def sign_in(self, client: TestClient, name: str, password: str | None = None) -> Any:
        return client.post(f"{PREFIX}/auth/sign-in", json={"name": name, "password": password or
                                                           self.passwords[name]})

    def session(self, role: str, **kwargs: Any) -> TestClient:
        """A client signed in as the role's account (cookie), sending its CSRF token on every request."""
        client = self.anonymous(**kwargs)
        name = ROLES.get(role, role)
        answer = self.sign_in(client, name)
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def token(self, role: str, expires_in: timedelta = timedelta(days=90)) -> str:
        issued = issue_token(self.ctx("boss"), ROLES.get(role, role), expires_in=expires_in, label="test")
        return issued.token

    def bearer(self, role: str, **kwargs: Any) -> TestClient:
        """A client sending a personal access token of the role's account."""
        client = self.anonymous(**kwargs)
        client.headers["Authorization"] = f"Bearer {self.token(role)}"
        return client

    def client(self, role: str, door: str = "session", **kwargs: Any) -> TestClient:
        return self.session(role, **kwargs) if door == "session" else self.bearer(role, **kwargs)

    def fresh_account(self, name: str, role: str = "district", **where: str | None) -> str:
        """An account whose one-time password is set and not yet changed; returns that password."""
        add_actor(self.ctx("boss"), name, role, **where)
        return set_one_time_password(self.ctx("boss"), name).password

    def events(self, code: str) -> list[dict[str, Any]]:
        """The audit events of an enterprise, oldest first, as stored."""
        event, enterprise = table(AuditEvent), table(Enterprise)
        with self.ctx().store.read() as session:
            rows = session.execute(select(event).join(enterprise, enterprise.c.id == event.c.enterprise_id)
                                   .where(enterprise.c.credit_code == code).order_by(event.c.seq)).mappings()
            return [dict(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Rows per table, except the tables of sign-in (which a refused request may still write)."""
        ctx = self.ctx()
        with ctx.store.read() as session:
            return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in SQLModel.metadata.sorted_tables
                    if not any(mark in t.name for mark in AUTH_TABLE_MARKS)}

    def close(self) -> None:
        for client in self._clients:
            client.close()


def give_password(ctx: Context, name: str) -> str:
    """Set a one-time password for `name` and change it, as the account would at first sign-in."""
    once = set_one_time_password(ctx, name).password
    change_password(ctx, name, once, PASSWORD)
    return PASSWORD


def populate(make_ctx: Callable[..., Context], tmp_path: Path, url: str) -> tuple[list[str], list[str]]:
    """The world's actors, enterprises and passwords on the database at `url`; the credit codes of A and B."""
    world = build_world(make_ctx, tmp_path, per_district=3, url=url)
    boss = make_ctx("boss", url=url)
    add_actor(boss, "ent1", "enterprise", enterprise_code=world.wuqing[0])
    add_actor(boss, "ent2", "enterprise", enterprise_code=world.hexi[0])
    for name in ROLES.values():
        give_password(boss, name)
    return list(world.wuqing), list(world.hexi)


def api_world(make_ctx: Callable[..., Context], clock: TestClock, url: str, a: list[str], b: list[str]) -> ApiWorld:
    app = create_app(context=make_ctx(url=url).acting(actor=None, source="api"))
    return ApiWorld(app, make_ctx, clock, url, a, b, dict.fromkeys(ROLES.values(), PASSWORD))


@pytest.fixture(scope="session", autouse=True)
def quick_hashes() -> Iterator[None]:
    """Argon2id with the lightest parameters for these tests (each sign-in hashes): the API's tests are about
    the doors, tests/safegrade/auth about the hashing and its parameters."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from safegrade.auth import passwords

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "HASHER", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)))
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, rules) -> tuple[Path, list[str], list[str]]:
    """The world built once on a SQLite file (with a clock at the time each test's clock starts), copied for each
    test that asks for `api`: the passwords' hashing is paid once."""
    folder = tmp_path_factory.mktemp("api-template")
    url = f"sqlite:///{folder / 'safegrade.db'}"
    clock = TestClock(at(START))
    store = Store(make_engine(url))
    store.migrate()

    def make(actor: str | None = None, url: str | None = None, source: str = "cli") -> Context:
        return open_context(settings_for(url or f"sqlite:///{folder / 'safegrade.db'}", folder), actor=actor,
                            source=source, clock=clock, store=store, rules=rules)

    a, b = populate(make, folder, url)
    store.engine.dispose()
    return folder / "safegrade.db", a, b


@pytest.fixture
def make_api(make_ctx, tmp_path, clock) -> Iterator[Callable[[str], ApiWorld]]:
    """make_api(url): the API's world built on the database at `url` (sqlite_url, pg_url or db_url)."""
    made: list[ApiWorld] = []

    def make(url: str) -> ApiWorld:
        a, b = populate(make_ctx, tmp_path, url)
        made.append(api_world(make_ctx, clock, url, a, b))
        return made[-1]

    yield make
    for world in made:
        world.close()


@pytest.fixture
def api(make_ctx, sqlite_url, clock, sqlite_template) -> Iterator[ApiWorld]:
    """The API's world on a fresh SQLite database (a copy of the template)."""
    path, a, b = sqlite_template
    assert clock.now() == at(START)
    target = Path(sqlite_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            shutil.copyfile(f"{path}{suffix}", f"{target}{suffix}")
    world = api_world(make_ctx, clock, sqlite_url, a, b)
    yield world
    world.close()


@pytest.fixture
def api_pg(make_api, pg_url) -> ApiWorld:
    """The API's world on a fresh PostgreSQL schema (skipped without SAFEGRADE_TEST_PG_URL)."""
    return make_api(pg_url)


@pytest.fixture
def api_any(make_api, db_url) -> ApiWorld:
    """The API's world on both backends (the PostgreSQL run is marked `pg`)."""
    return make_api(db_url)
