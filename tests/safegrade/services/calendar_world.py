"""Helpers of the holiday-schedule tests: a rules folder with a 2027 schedule, and contexts on chosen rules and
settings over one database and the test clock.

THE 2027 SCHEDULE BELOW IS A TEST FIXTURE, MADE UP FOR THE TESTS: it is not the State Council's 2027 schedule
(not yet published when it was written) and must never be copied into rules/holidays.yaml.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from safegrade.clock import TestClock
from safegrade.rules import Rules, load_rules
from safegrade.services.context import Context, open_context
from safegrade.settings import load_settings
from safegrade.store import Store, make_engine
from tests.conftest import RULES_DIR

MADE_UP_2027 = """\
  2027:   # TEST FIXTURE — a made-up schedule for the tests, not the State Council's
    source: TEST FIXTURE (made up for safegrade's tests; not an official notice)
    holidays:
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
      - {name: 春节, from: 2027-02-06, to: 2027-02-14}
    workdays:
      - {name: 春节, date: 2027-02-20}
"""


def rules_with_2027(tmp_path: Path) -> Path:
    """A copy of the project's rules whose holidays.yaml also gives the made-up 2027 schedule."""
    target = tmp_path / "rules-2027"
    shutil.copytree(RULES_DIR, target)
    holidays = target / "holidays.yaml"
    holidays.write_text(holidays.read_text(encoding="utf-8").rstrip("\n") + "\n" + MADE_UP_2027, encoding="utf-8")
    return target


class Contexts:
    """make(actor, rules=…, fallback=…): a context on one migrated database and the test clock, with the given
    rules and calendar.weekday_fallback."""

    def __init__(self, url: str, tmp_path: Path, clock: TestClock, rules: Rules) -> None:
        self.url, self.tmp_path, self.clock, self.rules = url, tmp_path, clock, rules
        self.store = Store(make_engine(url))
        self.store.migrate()

    def make(self, actor: str | None = None, *, rules: Rules | None = None, fallback: bool = False,
             source: str = "cli") -> Context:
        settings = load_settings(env={}, database_url=self.url, base_dir=str(self.tmp_path),
                                 rules_dir=str(RULES_DIR), calendar={"weekday_fallback": fallback})
        return open_context(settings, actor=actor, source=source, clock=self.clock, store=self.store,
                            rules=rules or self.rules)

    def maker(self, **fixed: object) -> Callable[..., Context]:
        """make with some keywords fixed: the shape tests.factories' helpers take (make_ctx(actor, url=None))."""

        def make(actor: str | None = None, url: str | None = None, source: str = "cli") -> Context:
            assert url is None or url == self.url
            return self.make(actor, source=source, **fixed)  # type: ignore[arg-type]

        return make

    def close(self) -> None:
        self.store.engine.dispose()


def load_2027(tmp_path: Path) -> Rules:
    return load_rules(rules_with_2027(tmp_path))
