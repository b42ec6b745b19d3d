"""Uploads of ledgers and assessments: a dry run (the default) answers the report or 422 with every problem
located in the user's file (its name, row, column); a commit writes everything in one transaction or nothing;
each role in and out of its scope."""

from __future__ import annotations

from datetime import date

import yaml

from safegrade.services.campaign import open_campaign
from safegrade.services.enterprise import list_enterprises
from safegrade.services.finding import list_findings
from tests.conftest import at
from tests.factories import row, write_ledger
from tests.safegrade.api.conftest import PREFIX
from tests.safegrade.api.factories import CAMPAIGN, DEDUCTIONS, DOOR_OF, ROLE_NAMES, events_of

CSV = "text/csv"


def ledger_bytes(tmp_path, rows, name="ledger.csv") -> bytes:
    return write_ledger(tmp_path / name, rows).read_bytes()


def test_a_ledger_with_errors_is_422_with_each_bad_row_located_then_fixed_it_runs_dry_then_commits(api_any, tmp_path):
    api = api_any
    client = api.bearer("bureau")
    good = [row(i, "武清区") for i in range(11, 14)]
    bad = [*good, row(14, "武清区", 定级日期="2022-13-45"), row(15, "河西区", 统一社会信用代码="91120103MA0000001X")]
    before = api.counts()
    sent = ("../../uploads/各区台账 2023.csv", ledger_bytes(tmp_path, bad), CSV)
    answer = client.post(f"{PREFIX}/imports/ledger", files={"files": sent})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "invalid_rows"
    assert answer.headers["content-type"] == "application/problem+json"
    locations = [(e["location"]["file"], e["location"]["row"], e["location"]["column"]) for e in problem["errors"]]
    assert locations == [("各区台账 2023.csv", 5, "定级日期"), ("各区台账 2023.csv", 6, "统一社会信用代码")]
    assert "/tmp" not in answer.text
    assert "safegrade-upload" not in answer.text
    assert api.counts() == before
    committed = client.post(f"{PREFIX}/imports/ledger", params={"dry_run": "false"}, files={"files": sent})
    assert committed.status_code == 422, committed.text
    assert [e["location"]["row"] for e in committed.json()["errors"]] == [5, 6]
    assert api.counts() == before

    fixed = ("各区台账 2023.csv", ledger_bytes(tmp_path, good), CSV)
    dry = client.post(f"{PREFIX}/imports/ledger", files={"files": fixed})
    assert dry.status_code == 200, dry.text
    assert (dry.json()["files"], dry.json()["created"], dry.json()["dry_run"]) == (["各区台账 2023.csv"], 3, True)
    assert api.counts() == before
    done = client.post(f"{PREFIX}/imports/ledger", params={"dry_run": "false"}, files={"files": fixed})
    assert done.status_code == 200, done.text
    assert (done.json()["created"], done.json()["dry_run"]) == (3, False)
    codes = {e.credit_code for e in list_enterprises(api.ctx())}
    assert {r["统一社会信用代码"] for r in good} <= codes
    registered = events_of(api, good[0]["统一社会信用代码"])
    assert [(e["event"], e["actor"], e["source"]) for e in registered] == [("register", "boss", "api")]


def test_each_role_imports_a_ledger_only_where_it_may(api, tmp_path):
    expected = {"bureau": 200, "district_a": 200, "district_b": 422, "enterprise_e1": 403, "enterprise_e2": 403,
                "reviewer": 403}
    for n, role in enumerate(ROLE_NAMES):
        client = api.client(role, DOOR_OF[role])
        rows = [row(200 + n, "武清区")]
        before = api.counts()
        answer = client.post(f"{PREFIX}/imports/ledger", params={"dry_run": "false"},
                             files={"files": (f"{role}.csv", ledger_bytes(tmp_path, rows, f"{role}.csv"), CSV)})
        assert answer.status_code == expected[role], (role, answer.text)
        if answer.status_code == 200:
            assert answer.json()["created"] == 1
            assert events_of(api, rows[0]["统一社会信用代码"])[-1]["source"] == (
                "web" if DOOR_OF[role] == "session" else "api")
        else:
            assert api.counts() == before
        if answer.status_code == 422:
            assert answer.json()["errors"][0]["location"] == {"field": None, "file": f"{role}.csv", "row": 2,
                                                              "column": "区"}


def test_a_ledger_upload_that_is_not_xlsx_or_csv_or_lies_about_it_is_415(api):
    client = api.bearer("bureau")
    for name, content in (("ledger.pdf", b"%PDF-1.4"), ("ledger.xlsx", b"plain text, not a workbook"),
                          ("ledger.csv", b"PK\x03\x04zip inside")):
        answer = client.post(f"{PREFIX}/imports/ledger", files={"files": (name, content, "application/octet-stream")})
        assert answer.status_code == 415, (name, answer.text)
        assert answer.json()["code"] == "unsupported_type"


def assessment(code: str) -> bytes:
    return yaml.safe_dump([{"credit_code": code, "campaign": CAMPAIGN, "assessed_on": "2023-07-10",
                            "assessors": ["王工"], "methods": ["资料审查"], "deductions": DEDUCTIONS}],
                          allow_unicode=True).encode()


def test_assessments_are_checked_dry_then_committed_by_the_district_of_the_enterprise(api):
    open_campaign(api.ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True)
    api.clock.set(at("2023-07-10 16:00"))
    expected = {"enterprise_e1": 403, "reviewer": 403, "district_b": 422, "district_a": 200}
    for role, status in expected.items():
        client = api.client(role, DOOR_OF[role])
        before = api.counts()
        sent = {"files": ("评估-武清.yaml", assessment(api.e1), "application/yaml")}
        answer = client.post(f"{PREFIX}/imports/assessments", files=sent)
        assert answer.status_code == status, (role, answer.text)
        if status == 422:
            assert answer.json()["errors"][0]["location"]["file"] == "评估-武清.yaml"
        assert api.counts() == before
        if status == 200:
            assert (answer.json()["assessments"], answer.json()["dry_run"]) == (1, True)
            done = client.post(f"{PREFIX}/imports/assessments", params={"dry_run": "false"}, files=sent)
            assert done.status_code == 200, done.text
            assert done.json()["results"]
            assert done.json()["dry_run"] is False
            assert {f.credit_code for f in list_findings(api.ctx())} == {api.e1}
