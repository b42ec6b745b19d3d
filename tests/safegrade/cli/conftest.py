"""Fixtures for the command-line tests: a fresh database per test, and one with actors and a ledger."""

from __future__ import annotations

import pytest

from safegrade.cli import main
from tests.factories import row, write_ledger


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run `safegrade …` against a fresh database in tmp_path; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("SAFEGRADE_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    # reminders go to the test's folder, never to the project's var/outbox
    monkeypatch.setenv("SAFEGRADE_NOTIFICATIONS__CHANNELS", f'["file://{tmp_path / "outbox"}"]')
    monkeypatch.delenv("SAFEGRADE_ACTOR", raising=False)
    monkeypatch.chdir(tmp_path)  # no config.yaml here: the project's own is used, the env wins

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def ready(cli, tmp_path):
    assert cli("init")[0] == 0
    assert cli("actor", "add", "boss", "--role", "bureau")[0] == 0
    assert cli("--actor", "boss", "actor", "add", "wq", "--role", "district", "--district", "武清")[0] == 0
    ledger = write_ledger(tmp_path / "ledger.csv", [row(1), row(2, "河西区")])
    code, out, err = cli("--actor", "boss", "--as-of", "2023-05-20", "ledger", "import", str(ledger))
    assert code == 0, err
    return cli, row(1)["统一社会信用代码"], row(2, "河西区")["统一社会信用代码"]
