"""`safegrade report circular`: the 通报 from the command line, in each format, to stdout or a file."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from tests.conftest import RULES_DIR

CAMPAIGN = "2023年运行质量评估"


@pytest.fixture
def assessed(ready, tmp_path):
    """Two enterprises (武清区, 河西区) in a campaign, assessed 优 and 良."""
    cli, wuqing, hexi = ready
    code, _, err = cli("--actor", "boss", "--as-of", "2023-06-01", "campaign", "open", CAMPAIGN,
                       "--start", "2023-06-01", "--end", "2023-08-31", "--all", "--ledger-due", "2023-12-15")
    assert code == 0, err

    def doc(credit_code, deductions, materials):
        return {"credit_code": credit_code, "campaign": CAMPAIGN, "assessed_on": "2023-07-10", "assessors": ["王工"],
                "methods": ["资料审查", "现场检查"], "materials": materials,
                "deductions": [{"item": i, "points": p, "content": f"{i} 现场检查发现"} for i, p in deductions]}

    path = tmp_path / "assessments.yaml"
    path.write_text(yaml.safe_dump([doc(wuqing, [("ZN01", 4)], {"口袋书": 30}),
                                    doc(hexi, [("FX03", 5), ("ZP01", 5), ("ZN01", 4)], {"明白卡": 12})],
                                   allow_unicode=True), encoding="utf-8")
    code, _, err = cli("--actor", "boss", "--as-of", "2023-07-20", "assess", "import", str(path))
    assert code == 0, err
    return cli


def circular(cli, *args):
    return cli("--as-of", "2023-09-15", "report", "circular", CAMPAIGN, *args)


def test_json_to_stdout_has_the_figures(assessed):
    code, out, err = circular(assessed, "--format", "json")
    assert code == 0, err
    figures = json.loads(out)
    assert (figures["selected"], figures["excluded"], figures["assessed"]) == (2, 0, 2)
    assert figures["results"] == {"优": 1, "良": 1, "差": 0}
    assert figures["percent"] == {"优": 50.0, "良": 50.0, "差": 0.0}
    assert (figures["findings"], figures["major_hazards"]) == (4, 0)
    assert (figures["interviews"], figures["revocations"]) == (0, 0)
    assert figures["materials_printed"] == {"by_kind": {"口袋书": 30, "小册子": 0, "明白卡": 12}, "total": 42}
    assert [p["label"] for p in figures["top_problems"]][0] == "智能化建设"
    assert figures["late_districts"] == []
    assert figures["as_of"] == "2023-09-15"


def test_md_to_stdout(assessed):
    code, out, err = circular(assessed, "--format", "md")
    assert code == 0, err
    assert out.startswith("# 市应急管理局关于2023年运行质量评估工作的通报\n")
    assert "评估结果为优的，1家，占比50.0%" in out
    assert "## 四、工作要求" in out
    assert "2023年9月15日" in out


def test_html_without_out_goes_to_var_reports_and_says_where(assessed, tmp_path):
    # var/reports is under the config file's folder: a config here (the working directory), not the project's
    (tmp_path / "config.yaml").write_text(f"rules_dir: {RULES_DIR}\n", encoding="utf-8")
    code, out, err = circular(assessed, "--format", "HTML")
    assert code == 0, err
    path = tmp_path / "var" / "reports" / f"{CAMPAIGN}-通报.html"
    assert path.is_file()
    assert str(path) in out
    assert "评估结果为良的，1家，占比50.0%" in path.read_text(encoding="utf-8")


def test_docx_to_a_named_file_and_json_answer(assessed, tmp_path):
    from docx import Document

    target = tmp_path / "out" / "通报.docx"
    target.parent.mkdir()  # the folder of --out must exist (tests/safegrade/cli/test_paths.py)
    code, out, err = assessed("--json", "--as-of", "2023-09-15", "report", "circular", CAMPAIGN, "--format", "docx",
                              "--out", str(target))
    assert code == 0, err
    done = json.loads(out)
    assert done["written"] == str(target)
    assert done["format"] == "docx"
    assert done["bytes"] == target.stat().st_size
    text = "\n".join(p.text for p in Document(io.BytesIO(target.read_bytes())).paragraphs)
    assert "实际评估2家" in text
    assert "请各区于2023年12月15日前" in text


def test_md_to_a_file(assessed, tmp_path):
    code, out, _ = circular(assessed, "--format", "md", "--out", str(tmp_path / "c.md"))
    assert code == 0
    assert "c.md" in out
    assert "## 一、工作情况" in (tmp_path / "c.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (("report", "circular", "2024年", "--format", "md"), "no campaign named '2024年'"),
    (("report", "circular", CAMPAIGN, "--format", "pdf"), "'pdf' is not a circular format; choose one of docx, "
                                                          "html, md, json"),
])
def test_an_unknown_campaign_or_format_is_refused_in_one_line(assessed, args, message):
    code, out, err = assessed(*args)
    assert code == 1
    assert out == ""
    assert err.startswith("safegrade: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_docx_without_a_cjk_font_is_refused_naming_the_package(assessed, tmp_path, monkeypatch):
    from safegrade.reports import chart

    monkeypatch.setattr(chart, "FONT_FOLDERS", (str(tmp_path / "no-fonts"),))
    code, _, err = circular(assessed, "--format", "docx", "--out", str(tmp_path / "x.docx"))
    assert code == 1
    assert "install Debian's fonts-wqy-microhei" in err
    assert not (tmp_path / "x.docx").exists()
