"""The demo is the README's first promise: it must run on a fresh folder and tell the truth."""

from __future__ import annotations

import io
import json
import sqlite3
from collections import defaultdict
from pathlib import Path

from rich.console import Console

from safegrade.demo.run import run_demo
from tests.conftest import settings_for


def test_demo_runs_and_its_figures_match_the_database(tmp_path):
    console = Console(record=True, width=200)
    settings = settings_for(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    summary = run_demo(settings, tmp_path / "demo", enterprises=60, seed=7, console=console)
    text = console.export_text()
    assert summary["audit_ok"] is True
    assert summary["enterprises"] == 60
    assert summary["assessed"] == summary["selected"] - 1  # one deregistered enterprise is excluded
    assert sum(summary[f"result_{r}"] for r in ("优", "良", "差") if f"result_{r}" in summary) == summary["assessed"]
    assert "refused ledger-with-errors.csv" in text
    assert "nothing was written" in text
    assert "refused assessments-with-errors.yaml" in text
    assert "every deduction must record its item" in text
    assert summary["campaign_assessed"] == summary["assessed"]
    assert summary["campaign_excluded"] == 1
    assert summary["findings_verified"] > 0
    assert summary["closed_loops"] > 0
    assert "refused too early" in text
    assert "publicity_over" in text
    assert "verified without the database: OK" in text
    # the two simulated months: the scheduler's own daily run queues, delivers and escalates
    assert summary["escalations"] > 0
    assert summary["reminders_sent"] > 0
    assert summary["expired"] > 0
    assert "通报:" in text
    assert f"{summary['assessed']} assessed" in text
    assert "08:00 巡检" in text
    assert "escalate→interview" in text
    assert "days late" in text
    _one_time_passwords_sign_in(tmp_path / "demo" / "demo.db", text, summary)
    delivered = [line for f in (tmp_path / "demo" / "outbox").glob("*.jsonl")
                 for line in f.read_text("utf-8").splitlines()]
    assert len(delivered) >= summary["reminders_sent"]
    for name in ("demo.db", "ledger.xlsx", "ledger-with-errors.csv", "audit.jsonl", "台账-2023-12-15.xlsx",
                 "reports/2023年定级企业运行质量评估-通报.docx", "reports/2023年定级企业运行质量评估-通报.html",
                 "reports/整改闭环-全部企业.html", "reports/各区工作情况.html"):
        assert (tmp_path / "demo" / name).is_file()
    assert _resubmissions_bring_new_evidence(tmp_path / "demo" / "demo.db") > 0


def _resubmissions_bring_new_evidence(db: Path) -> int:
    """Each submission after a rejection holds a file (SHA-256) that no earlier submission of its finding
    held; the number of such resubmissions."""
    submitted: dict[int, list[set[str]]] = defaultdict(list)
    with sqlite3.connect(db) as conn:
        for (payload,) in conn.execute("SELECT payload FROM audit_event WHERE event = 'finding_submitted' "
                                       "ORDER BY occurred_at, id"):
            data = json.loads(payload)["data"]
            submitted[data["finding"]].append({e["sha256"] for e in data["evidence"]})
    again = 0
    for shas in submitted.values():
        for i, now in enumerate(shas[1:], start=1):
            assert now - set().union(*shas[:i])
            again += 1
    return again


def test_demo_starts_afresh_each_time(tmp_path):
    settings = settings_for(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    first = run_demo(settings, tmp_path / "demo", enterprises=30, seed=1, console=Console(file=io.StringIO()))
    second = run_demo(settings, tmp_path / "demo", enterprises=30, seed=1, console=Console(file=io.StringIO()))
    assert first == second


def _one_time_passwords_sign_in(db, text, summary):
    """The demo's four accounts (one per role) sign in with the one-time passwords it printed, each then
    asked to change it; the printed command starts the server on the demo's database."""
    import re

    from safegrade.auth import list_accounts, sign_in
    from safegrade.services.context import open_context

    assert summary["accounts"] == 4
    assert f"safegrade --db sqlite:///{db.resolve()} web --port 8000" in text
    ctx = open_context(settings_for(f"sqlite:///{db}", db.parent))
    printed = dict(re.findall(r"│ \S+\s+│ (\S+)\s+│ (\S+)\s+│", text))
    accounts = {a.name: a for a in list_accounts(ctx) if a.has_password}
    assert {accounts[n].role for n in printed if n in accounts} == {"bureau", "district", "enterprise", "reviewer"}
    for name, password in printed.items():
        if name in accounts:
            assert sign_in(ctx, name, password).must_change_password is True
    ctx.store.engine.dispose()
