"""A campaign of 90 enterprises from ledger to closure and revocation (the demo's run), with every count
recomputed from the audit trail and the tables, independently of the code that produced it."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text

from safegrade.demo.run import CAMPAIGN, run_demo
from safegrade.services.auditing import verify_export
from tests.conftest import settings_for


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    tmp = tmp_path_factory.mktemp("e2e")
    settings = settings_for(f"sqlite:///{tmp / 'unused.db'}", tmp)
    summary = run_demo(settings, tmp / "demo", enterprises=100, seed=2023, console=Console(file=io.StringIO()))
    return summary, tmp / "demo"


def query(workdir: Path, sql: str) -> list[tuple]:
    engine = create_engine(f"sqlite:///{workdir / 'demo.db'}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def events(workdir: Path) -> list[dict]:
    lines = (workdir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [rec for rec in map(json.loads, lines) if rec["type"] == "event"]


def test_selection_exclusion_and_assessment_counts(cycle):
    summary, workdir = cycle
    trail = events(workdir)
    opened = [e for e in trail if e["event"] == "open_assessment"]
    recorded = [e for e in trail if e["event"] == "record_assessment"]
    excluded = [e for e in trail if e["event"] == "exclude"]
    assert len(opened) == summary["selected"] == 90
    assert len(excluded) == summary["campaign_excluded"] == 1
    assert len(recorded) == summary["assessed"] == 89
    by_result = Counter(json.loads(e["payload"])["data"]["result"] for e in recorded)
    assert by_result == Counter({k[len("result_"):]: v for k, v in summary.items() if k.startswith("result_")})
    table = Counter(r for (r,) in query(workdir, "select result from assessment"))
    assert table == by_result
    members = query(workdir, "select count(*), sum(excluded_reason is not null), sum(assessed_on is not null) "
                             "from campaign_member")
    assert members == [(90, 1, 89)]


def test_every_assessment_has_its_deductions_with_content_and_its_findings(cycle):
    _, workdir = cycle
    assert query(workdir, "select count(*) from deduction where length(trim(content)) < 4") == [(0,)]
    rectify = query(workdir, "select count(*) from deduction where rectify")[0][0]
    assert query(workdir, "select count(*) from finding")[0][0] == rectify


def test_the_finding_loop_matches_the_trail(cycle):
    summary, workdir = cycle
    trail = events(workdir)
    kinds = Counter(e["event"] for e in trail)
    verified = query(workdir, "select count(*) from finding where status = 'verified'")[0][0]
    assert kinds["finding_verified"] == verified == summary["findings_verified"]
    assert kinds["finding_submitted"] == kinds["finding_verified"] + kinds["finding_rejected"] + \
        query(workdir, "select count(*) from finding where status = 'submitted'")[0][0]
    assert kinds["close"] == summary["closed_loops"]
    evidence = query(workdir, "select count(*), count(distinct sha256) from evidence")[0]
    submitted = [json.loads(e["payload"])["data"] for e in trail if e["event"] == "finding_submitted"]
    assert evidence[0] == sum(len(d["evidence"]) for d in submitted)  # one row per file submitted
    assert evidence[1] > 0
    # after a rejection the same report comes back with the missing photo: new evidence, the report named reused
    again = [d for d in submitted if "reused" in d]
    assert len(again) == kinds["finding_rejected"] > 0
    assert all(len(d["evidence"]) == 2 and len(d["reused"]) == 1 for d in again)
    for (code, open_findings) in query(workdir, "select credit_code, open_findings from enterprise"):
        still_open = query(workdir, "select count(*) from finding f join enterprise e on e.id = f.enterprise_id "
                                    f"where e.credit_code = '{code}' and f.status != 'verified' and not f.major")
        assert still_open[0][0] == open_findings, code


def test_interviews_and_revocations_match_the_trail(cycle):
    summary, workdir = cycle
    kinds = Counter(e["event"] for e in events(workdir))
    assert kinds["hold_interview"] == summary["interviews"]
    assert kinds["revoke"] == summary["revoked"] == query(workdir, "select count(*) from enterprise "
                                                                   "where state = 'revoked'")[0][0]
    assert query(workdir, "select count(*) from enterprise where state = 'revoked' and revoked_on is null") == [(0,)]
    assert summary["campaign_interviews"] == summary["interviews"]  # every interview was of a campaign member


def test_the_exported_trail_verifies_without_the_database_and_ends_where_the_rows_are(cycle):
    summary, workdir = cycle
    report = verify_export(workdir / "audit.jsonl")
    assert report.ok
    assert report.events == summary["events"]
    assert report.chains == summary["enterprises"]
    heads = {json.loads(line)["enterprise"]: json.loads(line)["state"]
             for line in (workdir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
             if json.loads(line)["type"] == "head"}
    assert heads == dict(query(workdir, "select credit_code, state from enterprise"))
    assert CAMPAIGN in (workdir / "audit.jsonl").read_text(encoding="utf-8")
