"""The campaign, assessment, finding and ledger commands as a user meets them."""

from __future__ import annotations

import json

import yaml

CAMPAIGN = "2023年运行质量评估"


def test_a_campaign_from_the_command_line(ready, tmp_path):
    cli, wuqing, hexi = ready
    assert cli("--actor", "wq", "campaign", "open", CAMPAIGN, "--start", "2023-06-01", "--end", "2023-08-31",
               "--all")[0] == 1  # a district officer may not open one
    code, out, err = cli("--actor", "boss", "--as-of", "2023-06-01", "campaign", "open", CAMPAIGN,
                         "--start", "2023-06-01", "--end", "2023-08-31", "--all")
    assert code == 0
    assert "2 enterprises now 评估中" in out
    assert cli("--actor", "boss", "campaign", "open", "x", "--start", "2023-13-01", "--end", "2023-08-31",
               "--all")[2].startswith("safegrade: error: --start: '2023-13-01' is not a date")
    doc = [{"credit_code": wuqing, "campaign": CAMPAIGN, "assessed_on": "2023-07-03", "assessors": ["王工"],
            "methods": ["现场检查"], "deductions": [{"item": "ZP01", "points": 5, "content": "未开展年度自评"}]}]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    code, out, err = cli("--actor", "wq", "--as-of", "2023-07-04", "assess", "import", str(tmp_path / "a.yaml"))
    assert code == 0
    assert "recorded 1 assessment(s): 优 1, 良 0, 差 0; 1 deductions, 1 findings" in out
    code, out, err = cli("--actor", "wq", "--as-of", "2023-07-04", "assess", "import", str(tmp_path / "a.yaml"))
    assert code == 1
    assert "already assessed on 2023-07-03" in err
    code, out, _ = cli("--json", "--as-of", "2023-09-01", "campaign", "status", CAMPAIGN)
    status = json.loads(out)
    assert status["total"]["assessed"] == 1
    assert status["late_districts"] == ["河西区"]
    code, out, _ = cli("--as-of", "2023-09-01", "campaign", "status", CAMPAIGN)
    assert code == 0
    assert "合计" in out
    assert "武清区" in out


def test_status_and_list_as_of_a_past_date(opened):
    """`--as-of` before the assessment was recorded (2023-07-10 16:00): 截至 that day, nothing assessed;
    before the campaign was opened: no such campaign, and an empty list."""
    cli, _ = opened
    code, out, err = cli("--as-of", "2023-07-05", "campaign", "status", CAMPAIGN)
    assert code == 0, err
    assert "截至 2023-07-05" in out
    code, out, _ = cli("--json", "--as-of", "2023-07-05", "campaign", "status", CAMPAIGN)
    assert (json.loads(out)["total"]["assessed"], json.loads(out)["total"]["outstanding"]) == (0, 2)
    code, out, _ = cli("--json", "--as-of", "2023-07-11", "campaign", "status", CAMPAIGN)
    assert json.loads(out)["total"]["assessed"] == 1
    code, out, err = cli("--as-of", "2023-05-31", "campaign", "status", CAMPAIGN)
    assert code == 1
    assert f"no campaign named '{CAMPAIGN}'" in err
    code, out, _ = cli("--json", "--as-of", "2023-05-31", "campaign", "list")
    assert json.loads(out) == []
    code, out, _ = cli("--json", "--as-of", "2023-06-02", "campaign", "list")
    assert [c["name"] for c in json.loads(out)] == [CAMPAIGN]


def test_the_finding_loop_from_the_command_line(ready, tmp_path):
    cli, wuqing, _ = ready
    cli("--actor", "boss", "--as-of", "2023-06-01", "campaign", "open", CAMPAIGN, "--start", "2023-06-01",
        "--end", "2023-08-31", "--all")
    doc = [{"credit_code": wuqing, "campaign": CAMPAIGN, "assessed_on": "2023-07-03", "assessors": ["王工"],
            "methods": ["现场检查"], "deductions": [{"item": "ZN01", "points": 4, "content": "未建设信息化平台"}]}]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    cli("--actor", "wq", "--as-of", "2023-07-04", "assess", "import", str(tmp_path / "a.yaml"))
    code, out, _ = cli("--json", "--as-of", "2023-09-01", "finding", "list", "--overdue")
    [finding] = json.loads(out)
    assert finding["overdue_days"] > 0
    assert finding["status_label"] == "待整改"
    assert cli("--as-of", "2023-09-01", "--json", "enterprise", "list", "--overdue")[1].count(wuqing) == 1
    proof = tmp_path / "平台上线截图.png"
    proof.write_bytes(b"\x89PNG screenshot")
    fid = str(finding["id"])
    code, out, err = cli("--actor", "boss", "--as-of", "2023-09-02", "finding", "submit", fid,
                         "--evidence", str(proof))
    assert code == 0
    assert "sha256" in out
    code, out, err = cli("--actor", "boss", "--as-of", "2023-09-03", "finding", "verify", fid)
    assert code == 1
    assert "must be verified by another regulator" in err
    code, out, err = cli("--actor", "wq", "--as-of", "2023-09-03", "finding", "verify", fid)
    assert code == 0
    assert "verified" in out
    code, out, err = cli("--actor", "wq", "--as-of", "2023-09-04", "fire", wuqing, "close", "--reason", "闭环")
    assert code == 0
    assert "整改中 → 已闭环" in out


def test_ledger_export_and_reconcile_from_the_command_line(ready, tmp_path):
    cli, *_ = ready
    code, out, _ = cli("--actor", "boss", "--as-of", "2023-12-01", "ledger", "export", str(tmp_path / "t.xlsx"))
    assert code == 0
    assert "汇总 2" in out
    code, out, err = cli("--actor", "boss", "--as-of", "2023-12-01", "ledger", "reconcile", str(tmp_path / "t.xlsx"))
    assert code == 0
    assert "2 ledger rows, 0 discrepancies" in out
