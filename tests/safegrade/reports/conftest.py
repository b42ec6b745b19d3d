"""The circular's campaign, built once per module and backend, for test_circular.py and test_circular_tools.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from safegrade.clock import TestClock
from safegrade.services.context import open_context
from safegrade.services.reporting.circular import circular_figures
from safegrade.store import Store, make_engine
from tests.conftest import at, pg_schema, settings_for
from tests.safegrade.reports.circular_world import CAMPAIGN, build_campaign


@pytest.fixture(scope="module")
def built(rules, tmp_path_factory) -> Iterator[Any]:
    """build(backend) -> (figures, contexts): each backend's campaign built once for the module."""
    made: dict[str, Any] = {}
    cleanup = ExitStack()

    def build(backend: str) -> tuple[dict[str, Any], Any, dict[str, str]]:
        if backend not in made:
            tmp = tmp_path_factory.mktemp(f"circular-{backend}")
            url = (f"sqlite:///{tmp / 'circular.db'}" if backend == "sqlite"
                   else cleanup.enter_context(pg_schema()))
            store = Store(make_engine(url))
            store.migrate()
            cleanup.callback(store.engine.dispose)
            clock = TestClock(at("2023-06-01 09:00"))
            settings = settings_for(url, tmp)

            # make_ctx's signature (build_world passes url=); this campaign has the one database
            def make(actor: str | None = None, url: str | None = None, source: str = "cli") -> Any:  # noqa: ARG001
                return open_context(settings, actor=actor, source=source, clock=clock, store=store, rules=rules)

            codes = build_campaign(make, clock, tmp)
            made[backend] = (circular_figures(make("rev"), CAMPAIGN), make, codes)
        return made[backend]

    with cleanup:
        yield build
