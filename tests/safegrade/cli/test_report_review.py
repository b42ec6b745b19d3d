"""`safegrade report loop` and `safegrade report districts` from the command line: files in each
format, the default folder, --json on stdout, refusals as one line on stderr, a broken chain said."""

from __future__ import annotations

import json
import sqlite3

import pytest
import yaml
from openpyxl import load_workbook

CAMPAIGN = "2023年运行质量评估"


@pytest.fixture
def looped(ready, tmp_path):
    """The `ready` ledger, a campaign, one assessment with two findings, one loop closed by wq2."""
    cli, wuqing, _ = ready
    assert cli("--actor", "boss", "--as-of", "2023-06-01", "campaign", "open", CAMPAIGN, "--start", "2023-06-01",
               "--end", "2023-08-31", "--all")[0] == 0
    assert cli("--actor", "boss", "actor", "add", "wq2", "--role", "district", "--district", "武清")[0] == 0
    sheet = tmp_path / "assess.yaml"
    sheet.write_text(yaml.safe_dump([{
        "credit_code": wuqing, "campaign": CAMPAIGN, "assessed_on": "2023-07-10", "assessors": ["王工"],
        "methods": ["资料审查"], "materials": {"口袋书": 10},
        "deductions": [{"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评"},
                       {"item": "ZN01", "points": 4, "content": "未建立安全生产信息化管理平台"}]}],
        allow_unicode=True), encoding="utf-8")
    code, _, err = cli("--actor", "wq", "--as-of", "2023-07-10T16:00", "assess", "import", str(sheet))
    assert code == 0, err
    code, out, _ = cli("--json", "finding", "list", "--code", wuqing)
    first = json.loads(out)[0]["id"]
    proof = tmp_path / "自评报告.pdf"
    proof.write_bytes(b"%PDF self-assessment")
    assert cli("--actor", "wq", "--as-of", "2023-07-11", "finding", "submit", str(first),
               "--evidence", str(proof))[0] == 0
    assert cli("--actor", "wq2", "--as-of", "2023-07-12", "finding", "verify", str(first))[0] == 0
    return cli, wuqing


def test_loop_report_in_each_format(looped, tmp_path):
    cli, code = looped
    status, out, err = cli("--as-of", "2023-09-01", "report", "loop", code, "--out", str(tmp_path / "loop.html"))
    assert status == 0, err
    assert "2 finding(s), 1 verified, 1 overdue" in out
    assert err == ""
    page = (tmp_path / "loop.html").read_text(encoding="utf-8")
    assert "审计链校验：通过" in page
    assert "自评报告.pdf" in page
    assert "wq2" in page
    status, out, err = cli("--as-of", "2023-09-01", "report", "loop", "--campaign", CAMPAIGN, "--out",
                           str(tmp_path / "campaign.xlsx"))
    assert status == 0, err
    book = load_workbook(tmp_path / "campaign.xlsx", read_only=True)
    assert book.sheetnames == ["汇总", "企业", "问题", "整改材料", "提醒与升级"]
    assert len(list(book["企业"].iter_rows(min_row=2))) == 2
    assert len(list(book["问题"].iter_rows(min_row=2))) == 2
    status, out, err = cli("--as-of", "2023-09-01", "report", "loop", code, "--format", "json")
    assert status == 0, err
    written = tmp_path / "var" / "reports" / f"loop-{code}-2023-09-01.json"  # the default, under the working dir
    assert json.loads(written.read_text(encoding="utf-8"))["totals"]["verified"] == 1
    status, out, _ = cli("--json", "--as-of", "2023-09-01", "report", "loop", code)
    shown = json.loads(out)
    assert shown["chain_ok"] is True
    assert shown["enterprises"][0]["findings"][1]["overdue_days"] == 25


def test_a_broken_chain_is_said_on_stderr_and_in_the_report(looped, tmp_path):
    cli, code = looped
    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute("update audit_event set reason = '篡改' where event = 'finding_verified'")
    status, _, err = cli("report", "loop", code, "--out", str(tmp_path / "broken.html"))
    assert status == 0
    assert err.startswith(f"BROKEN audit chain of {code} at seq ")
    assert ": changed:" in err
    assert "审计链校验：断裂" in (tmp_path / "broken.html").read_text(encoding="utf-8")


def test_districts_report_in_each_format(looped, tmp_path):
    cli, _ = looped
    status, out, err = cli("--as-of", "2023-09-01", "report", "districts", CAMPAIGN, "--out", str(tmp_path / "d.html"))
    assert status == 0, err
    assert "2 district(s), 0 data-quality flag(s)" in out
    assert "各区运行质量评估工作监督报告" in (tmp_path / "d.html").read_text(encoding="utf-8")
    assert cli("report", "districts", CAMPAIGN, "--out", str(tmp_path / "d.xlsx"))[0] == 0
    assert load_workbook(tmp_path / "d.xlsx", read_only=True).sheetnames == ["各区汇总", "数据质量问题", "审计事件"]
    status, out, _ = cli("--json", "--as-of", "2023-09-01", "report", "districts", CAMPAIGN)
    shown = json.loads(out)
    assert [d["district_name"] for d in shown["districts"]] == ["河西区", "武清区"]
    assert shown["flags"] == []


def test_reports_as_of_a_past_date_show_the_loop_as_it_stood_then(looped):
    """--as-of between the submission (07-11) and the verification (07-12): submitted, not verified."""
    cli, code = looped
    status, out, err = cli("--json", "--as-of", "2023-07-11T12:00", "report", "loop", code)
    assert status == 0, err
    shown = json.loads(out)
    assert shown["as_of"] == "2023-07-11"
    assert [f["status"] for f in shown["enterprises"][0]["findings"]] == ["submitted", "open"]
    assert (shown["totals"]["verified"], shown["totals"]["submitted"]) == (0, 1)
    status, out, err = cli("--json", "--as-of", "2023-07-11T12:00", "report", "districts", CAMPAIGN)
    assert status == 0, err
    wuqing = next(d for d in json.loads(out)["districts"] if d["district_name"] == "武清区")
    assert (wuqing["findings"], wuqing["verified"]) == (2, 0)
    status, _, err = cli("--as-of", "2023-05-31", "report", "loop", "--campaign", CAMPAIGN)
    assert status == 1
    assert f"no campaign named '{CAMPAIGN}'" in err  # as a database that recorded nothing later would say


@pytest.mark.parametrize(("args", "message"), [
    (["report", "loop", "--out", "x.html"], "give either one enterprise's credit code or --campaign NAME"),
    (["report", "loop", "91350100M000100Y43"], "no enterprise with credit code 91350100M000100Y43"),
    (["report", "loop", "--campaign", "2099年"], "no campaign named '2099年'"),
    (["report", "districts", CAMPAIGN, "--out", "x.pdf"], "cannot tell the format from .pdf"),
    (["report", "districts", CAMPAIGN, "--out", "x.html", "--format", "xlsx"], "make them agree"),
    (["report", "districts", CAMPAIGN, "--format", "docx"], "--format: 'docx'; choose one of html, xlsx, json"),
    (["report", "districts", CAMPAIGN, "--out", "no/such/folder/x.html"], "folder no/such/folder does not exist"),
])
def test_refusals_are_one_line_on_stderr(looped, args, message):
    cli, _ = looped
    status, out, err = cli(*args)
    assert status == 1
    assert out == ""
    assert err.startswith("safegrade: error: ")
    assert message in err
    assert err.count("\n") == 1
