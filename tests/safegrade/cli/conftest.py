"""Fixtures for the command-line tests: a fresh database per test, and one with actors and a ledger."""

from __future__ import annotations

import pytest
import yaml

from safegrade.cli import main
from tests.factories import row, write_ledger

CAMPAIGN = "2023年运行质量评估"


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


@pytest.fixture
def opened(ready, tmp_path):
    """The `ready` ledger in a campaign with one assessed enterprise (a finding to report on)."""
    cli, wuqing, _ = ready
    code, _, err = cli("--actor", "boss", "--as-of", "2023-06-01", "campaign", "open", CAMPAIGN,
                       "--start", "2023-06-01", "--end", "2023-08-31", "--all")
    assert code == 0, err
    sheet = tmp_path / "assess.yaml"
    sheet.write_text(yaml.safe_dump([{
        "credit_code": wuqing, "campaign": CAMPAIGN, "assessed_on": "2023-07-10", "assessors": ["王工"],
        "methods": ["资料审查"], "materials": {"口袋书": 10},
        "deductions": [{"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评"}]}],
        allow_unicode=True), encoding="utf-8")
    code, _, err = cli("--actor", "wq", "--as-of", "2023-07-10T16:00", "assess", "import", str(sheet))
    assert code == 0, err
    return cli, wuqing
