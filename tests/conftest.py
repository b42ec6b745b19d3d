"""Shared fixtures: rules, a test clock, a fresh database (SQLite file, or a PostgreSQL schema when
SAFEGRADE_TEST_PG_URL is set), and contexts acting as a given actor. Time is moved, never slept."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

pytest.register_assert_rewrite("tests.factories")  # its helpers assert (problems): say why they fail

os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

from safegrade.cli.errors import CLI  # noqa: E402
from safegrade.clock import TestClock  # noqa: E402
from safegrade.errors import speaking  # noqa: E402
from safegrade.rules import Rules, load_rules  # noqa: E402
from safegrade.services.context import Context, open_context  # noqa: E402
from safegrade.settings import PROJECT_ROOT, Settings, load_settings  # noqa: E402
from safegrade.store import Store, make_engine  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
RULES_DIR = PROJECT_ROOT / "rules"
PG_URL = os.environ.get("SAFEGRADE_TEST_PG_URL")
PG_SKIP = "SAFEGRADE_TEST_PG_URL is not set: PostgreSQL tests skipped (.ci/run sets it)"


def at(text_: str) -> datetime:
    """An aware instant in Asia/Shanghai from 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM'."""
    fmt = "%Y-%m-%d %H:%M" if " " in text_ else "%Y-%m-%d"
    return datetime.strptime(text_, fmt).replace(tzinfo=TZ)


@pytest.fixture(scope="session", autouse=True)
def cli_words() -> Iterator[None]:
    """The tests were written when the command line was the only front door, and their messages name its
    options and commands (`--end`, `safegrade enterprise list`): they run as the CLI's process speaks.
    tests/safegrade/test_errors.py checks the parts and the plain words apart from it."""
    with speaking(CLI):
        yield


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules(RULES_DIR)


@pytest.fixture
def clock() -> TestClock:
    return TestClock(at("2023-06-01 09:00"))


@contextmanager
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for it and dropped after (skips without PG)."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"sg_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for this test and dropped after it."""
    with pg_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'safegrade.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'safegrade.db'}"
    return request.getfixturevalue("pg_url")


def settings_for(url: str, tmp_path: Path) -> Settings:
    return load_settings(env={}, database_url=url, base_dir=str(tmp_path), rules_dir=str(RULES_DIR))


@pytest.fixture
def make_ctx(rules: Rules, clock: TestClock, tmp_path: Path, sqlite_url: str
             ) -> Iterator[Callable[..., Context]]:
    """make_ctx(actor=None, url=None): a context on one shared, migrated database and the test clock."""
    stores: dict[str, Store] = {}

    def make(actor: str | None = None, url: str | None = None, source: str = "cli") -> Context:
        url = url or sqlite_url
        settings = settings_for(url, tmp_path)
        if url not in stores:
            stores[url] = Store(make_engine(url))
            stores[url].migrate()
        return open_context(settings, actor=actor, source=source, clock=clock, store=stores[url], rules=rules)

    yield make
    for store in stores.values():
        store.engine.dispose()
