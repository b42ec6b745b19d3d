"""`safegrade finding …` from the command line: evidence after a rejection must be new."""

from __future__ import annotations

import json


def test_evidence_sent_back_is_refused_in_one_line_naming_the_option(opened, tmp_path):
    cli, code = opened
    _, out, _ = cli("--json", "finding", "list", "--code", code)
    (finding,) = [str(f["id"]) for f in json.loads(out)]
    report = tmp_path / "自评报告.pdf"
    report.write_bytes(b"%PDF self-assessment")
    submitted = cli("--actor", "wq", "--as-of", "2023-07-11", "finding", "submit", finding, "--evidence", str(report))
    assert submitted[0] == 0
    assert cli("--actor", "boss", "--as-of", "2023-07-12", "finding", "reject", finding, "--reason", "未签字")[0] == 0
    status, out, err = cli("--actor", "wq", "--as-of", "2023-07-13", "finding", "submit", finding,
                           "--evidence", str(report))
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("safegrade: error: 整改材料未更新：--evidence 自评报告.pdf 与退回的材料相同（SHA-256 一致），"
                          "2023-07-12 第 1 次整改验收不通过：未签字；")
    status, out, err = cli("--json", "finding", "list", "--code", code)
    assert json.loads(out)[0]["status"] == "open"
    signed = tmp_path / "自评报告-签字.pdf"
    signed.write_bytes(b"%PDF self-assessment, signed")
    status, out, err = cli("--actor", "wq", "--as-of", "2023-07-13", "finding", "submit", finding,
                           "--evidence", str(report), "--evidence", str(signed))
    assert status == 0, err
    assert "自评报告-签字.pdf" in out
