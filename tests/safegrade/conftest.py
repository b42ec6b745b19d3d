"""Fixtures of the rules files, for the tests of the rules loader (test_rules.py) and of the deadline kinds
(domain/test_timetable.py): the project's real rules, and a copy of them to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from safegrade.rules import Rules, load_rules
from tests.conftest import RULES_DIR


@pytest.fixture(scope="module")
def real() -> Rules:
    return load_rules(RULES_DIR)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target
