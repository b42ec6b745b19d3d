"""The deadline commands as a district officer or a bureau meets them: check at a simulated time, plan,
list, runs; and `serve` (listed with --dry-run; refused without a Prefect server to talk to)."""

from __future__ import annotations

import json

import yaml

CAMPAIGN = "2023年运行质量评估"


def _campaign_with_a_finding(cli, tmp_path, wuqing):
    assert cli("--actor", "boss", "--as-of", "2023-06-01", "campaign", "open", CAMPAIGN, "--start", "2023-06-01",
               "--end", "2023-08-31", "--all", "--ledger-due", "2023-12-15")[0] == 0
    doc = [{"credit_code": wuqing, "campaign": CAMPAIGN, "assessed_on": "2023-07-10", "assessors": ["王工"],
            "methods": ["现场检查"], "deductions": [{"item": "ZN01", "points": 4, "content": "未建设信息化平台"}]}]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert cli("--actor", "wq", "--as-of", "2023-07-10 16:00", "assess", "import", str(tmp_path / "a.yaml"))[0] == 0


def test_plan_then_check_at_a_simulated_time(ready, tmp_path):
    cli, wuqing, _ = ready
    _campaign_with_a_finding(cli, tmp_path, wuqing)
    code, out, err = cli("--as-of", "2023-07-11", "deadlines", "plan", "--from", "2023-08-10", "--to", "2023-08-15")
    assert code == 0, err
    assert "2023-08-14" in out
    assert "升级" in out
    assert "约谈" in out
    code, out, _ = cli("--json", "--as-of", "2023-07-11", "deadlines", "plan", "--from", "2023-08-14",
                       "--to", "2023-08-14")
    plan = json.loads(out)
    assert plan["escalations"] == 1
    assert plan["days"][0]["date"] == "2023-08-14"
    code, out, err = cli("--as-of", "2023-08-14 08:00", "deadlines", "check")
    assert code == 0, err
    assert "1 escalation(s) fired" in out
    assert "escalate → interview" in out
    code, out, _ = cli("--as-of", "2023-08-14 09:00", "deadlines", "check")
    assert "0 reminder(s) queued, 0 escalation(s) fired" in out
    code, out, _ = cli("--json", "--as-of", "2023-08-14", "deadlines", "list", "--kind", "finding")
    (row,) = json.loads(out)
    assert row["escalation"] is None  # as of 2023-08-14 00:00 the 08:00 run had not yet escalated it
    code, out, _ = cli("--json", "--as-of", "2023-08-14 09:00", "deadlines", "list", "--kind", "finding")
    (row,) = json.loads(out)
    assert row["escalation"] == "fired"
    assert row["due_on"] == "2023-08-07"
    code, out, _ = cli("--as-of", "2023-08-14", "deadlines", "runs")
    assert code == 0
    assert "deadline_sweep" not in out  # the runs covered 08:00 and 09:00
    code, out, _ = cli("--as-of", "2023-08-14 09:00", "deadlines", "runs")
    assert code == 0
    assert "deadline_sweep" in out
    assert "cli" in out


def test_bad_input_is_refused_with_what_is_allowed(ready):
    cli, _, _ = ready
    code, _, err = cli("deadlines", "plan", "--from", "2023-09-01", "--to", "2023-08-01")
    assert code == 1
    assert "before --from" in err
    code, _, err = cli("deadlines", "plan", "--from", "2023-9-1x", "--to", "2023-08-01")
    assert code == 1
    assert "is not a date" in err
    code, _, err = cli("deadlines", "list", "--kind", "nonsense")
    assert code == 1
    assert "major_finding" in err


def test_serve_lists_its_deployments_and_needs_a_server(cli, monkeypatch):
    code, out, _ = cli("--json", "serve", "--dry-run")
    rows = json.loads(out)
    assert {r["deployment"]: r["cron"] for r in rows}["safegrade-daily/daily"] == "0 8 * * *"
    assert {r["timezone"] for r in rows} == {"Asia/Shanghai"}
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    code, _, err = cli("serve")
    assert code == 1
    assert "PREFECT_API_URL" in err


def test_serve_hands_the_process_over_to_the_flows_entry_point(cli, monkeypatch, tmp_path):
    """The CLI never imports flows/: it checks the set-up, then execs `python -m flows.serve`."""
    import os
    import sys

    from safegrade.settings import PROJECT_ROOT

    handed: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(os, "execv", lambda path, args: handed.append((path, list(args))))
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    db = f"sqlite:///{tmp_path / 'other.db'}"
    code, out, err = cli("--db", db, "serve")
    assert code == 0, err
    assert "serving 5 deployments on http://127.0.0.1:4200/api" in out
    assert "SQLite" in out
    assert handed == [(sys.executable, [sys.executable, "-m", "flows.serve", "--config",
                                        str(PROJECT_ROOT / "config.yaml")])]
    assert os.environ["SAFEGRADE_DB_URL"] == db  # what the flow runs will read
