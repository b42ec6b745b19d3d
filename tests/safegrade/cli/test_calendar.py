"""`safegrade calendar show|check`, `rules check`'s coverage and `deadlines plan|recount` as the bureau meets
them the day the next year's holiday schedule is published (a made-up 2027 test fixture here)."""

from __future__ import annotations

import json

import yaml

from tests.factories import row, write_ledger
from tests.safegrade.services.calendar_world import rules_with_2027

CAMPAIGN = "2026年运行质量评估"


def test_rules_check_says_which_years_each_source_covers(cli):
    code, out, err = cli("rules", "check")
    assert code == 0, err
    assert "holiday schedule (节假日安排) from rules/holidays.yaml: 2025, 2026" in out
    assert "from chinesecalendar 1.11.0: 2004–2024" in out
    assert "calendar.weekday_fallback" in out
    code, out, _ = cli("--json", "rules", "check")
    assert json.loads(out)["holidays"]["rules/holidays.yaml"] == [2025, 2026]


def test_calendar_show_marks_holidays_and_make_up_days_with_the_source(cli):
    assert cli("init")[0] == 0
    code, out, err = cli("calendar", "show", "2026", "--month", "2")
    assert code == 0, err
    assert "14班" in out
    assert "28班" in out
    assert "16休" in out
    assert "2026-02-28 周六 调休上班 春节" in out
    assert "依据 rules/holidays.yaml" in out
    code, out, _ = cli("calendar", "show", "2027", "--month", "1")
    assert code == 0
    assert "无国务院节假日安排" in out
    code, out, _ = cli("--json", "calendar", "show", "2027")
    assert json.loads(out)["weekday_fallback"] is True


def test_from_fallback_to_the_published_schedule(cli, tmp_path, monkeypatch):
    assert cli("init")[0] == 0
    assert cli("actor", "add", "boss", "--role", "bureau")[0] == 0
    assert cli("--actor", "boss", "actor", "add", "wq", "--role", "district", "--district", "武清")[0] == 0
    first = row(1, graded_on="2025-12-31", valid_until="2028-12-31")
    code, _, err = cli("--actor", "boss", "--as-of", "2026-11-02", "ledger", "import",
                       str(write_ledger(tmp_path / "ledger.csv", [first])))
    assert code == 0, err
    code, _, err = cli("--actor", "boss", "--as-of", "2026-11-02", "campaign", "open", CAMPAIGN, "--start",
                       "2026-11-02", "--end", "2026-12-31", "--all")
    assert code == 0, err
    sheet = tmp_path / "assess.yaml"
    sheet.write_text(yaml.safe_dump([{
        "credit_code": first["统一社会信用代码"], "campaign": CAMPAIGN, "assessed_on": "2026-12-21",
        "assessors": ["王工"], "methods": ["资料审查"],
        "deductions": [{"item": "ZP01", "points": 5, "content": "未开展标准化自评"}]}], allow_unicode=True),
        encoding="utf-8")
    code, _, err = cli("--actor", "wq", "--as-of", "2026-12-21T16:00", "assess", "import", str(sheet))
    assert code == 1
    assert "2027" in err
    assert "rules/holidays.yaml" in err

    monkeypatch.setenv("SAFEGRADE_CALENDAR__WEEKDAY_FALLBACK", "true")
    code, _, err = cli("--actor", "wq", "--as-of", "2026-12-21T16:00", "assess", "import", str(sheet))
    assert code == 0, err
    code, out, err = cli("--as-of", "2026-12-22", "calendar", "check")
    assert code == 0, err
    assert "按周一至周五计算（2027年）" in out
    assert "2026-12-21 起 20 个工作日" in out

    monkeypatch.setenv("SAFEGRADE_RULES_DIR", str(rules_with_2027(tmp_path)))
    code, out, err = cli("--as-of", "2026-12-22", "deadlines", "plan", "--from", "2027-01-11", "--to", "2027-01-20")
    assert code == 0, err
    assert "按新的节假日安排重算" in out
    assert "2027-01-18 → 2027-01-19" in out
    code, out, err = cli("--actor", "boss", "--as-of", "2026-12-22", "deadlines", "recount", "--dry-run")
    assert code == 0, err
    assert "将重算 1 项" in out
    code, out, err = cli("--actor", "boss", "--as-of", "2026-12-22T10:00", "deadlines", "recount")
    assert code == 0, err
    assert "已重算 1 项" in out
    code, out, err = cli("--json", "--actor", "boss", "--as-of", "2026-12-22T10:05", "deadlines", "recount")
    assert json.loads(out)["changed"] == 0
    code, out, _ = cli("--as-of", "2026-12-23", "audit", "show", first["统一社会信用代码"])
    assert "期限按节假日安排重算" in out
    assert cli("--as-of", "2026-12-23", "audit", "verify")[0] == 0
