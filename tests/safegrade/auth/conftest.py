"""Fixtures for the accounts tests: one migrated database per test (SQLite, and PostgreSQL with the `pg`
mark), contexts on it as the console, an actor, or a client of the web front door, and a bureau, a district
officer and a reviewer with passwords."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from safegrade import auth
from safegrade.auth import passwords
from safegrade.clock import TestClock
from safegrade.rules import Rules
from safegrade.services.actors import ensure_system_actor
from safegrade.services.context import Context, open_context
from safegrade.settings import load_settings
from safegrade.store import Store, make_engine
from tests.conftest import RULES_DIR

PASSWORD = "Str0ng-Passw0rd!"  # what each test account's password is changed to (see `people`)


PRODUCTION_HASHER = passwords.HASHER


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with small costs: the tests hash and verify hundreds of times (the production parameters are
    checked in test_passwords.py)."""
    quick = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(passwords, "HASHER", quick)
    monkeypatch.setattr(passwords, "_DUMMY", quick.hash("dummy"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(make_engine(db_url))
    s.migrate()
    yield s
    s.engine.dispose()


@pytest.fixture
def web_settings() -> dict[str, Any]:
    """Overrides of the `web:` settings for a test (e.g. a lower per-client limit)."""
    return {}


@pytest.fixture
def mk(rules: Rules, clock: TestClock, tmp_path: Path, db_url: str, store: Store,
       web_settings: dict[str, Any]) -> Callable[..., Context]:
    """mk(actor=None, source="cli", client=None, via=None): a context on the test's database and clock."""
    settings = load_settings(env={}, database_url=db_url, base_dir=str(tmp_path), rules_dir=str(RULES_DIR),
                             web=web_settings or None)

    def make(actor: str | None = None, *, source: str = "cli", client: str | None = None, via: str | None = None,
             os_user: str | None = "operator") -> Context:
        return open_context(settings, actor=actor, source=source, clock=clock, store=store, rules=rules,
                            client=client, via=via, os_user=os_user if source == "cli" else None)

    return make


@pytest.fixture
def console(mk: Callable[..., Context]) -> Context:
    ctx = mk()
    ensure_system_actor(ctx)
    return ctx


@pytest.fixture
def web(mk: Callable[..., Context]) -> Callable[..., Context]:
    """web(client="10.0.0.1"): a context of the web front door before anyone is signed in."""
    return lambda client="10.0.0.1": mk(source="web", client=client)


@pytest.fixture
def boss(console: Context, mk: Callable[..., Context]) -> Context:
    """The bureau's actor boss (added at the console, the first who may add actors), acting at the CLI."""
    auth.add_account(console, "boss", "bureau", email="boss@example.org")
    return mk("boss")


@pytest.fixture
def people(boss: Context, console: Context, web: Callable[..., Context]) -> dict[str, str]:
    """boss (bureau), wq (district 武清), rev (reviewer), each with the password PASSWORD (changed from a
    one-time one), and the one-time passwords as they were."""
    auth.add_account(boss, "wq", "district", district="武清", phone="13800000000")
    auth.add_account(boss, "rev", "reviewer")
    once = {}
    for name in ("boss", "wq", "rev"):
        once[name] = auth.set_one_time_password(console, name).password
        auth.change_password(web(), name, once[name], PASSWORD)
    return once
