"""The finding routes, every role × in and out of its scope, through both doors: the list and one finding,
evidence uploaded (size, type and file-name limits), verification, rejection and the evidence download. What is
allowed has its effect and its audit event (actor, source, session or token id); what is refused answers
401/403/404/413/415 and writes nothing (the evidence folder included)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from safegrade.services.finding import reject_finding, submit_finding
from tests.safegrade.api.conftest import PREFIX, ROLES
from tests.safegrade.api.factories import DOOR_OF, ROLE_NAMES, assert_audited, events_of, with_findings

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# role → status of reading (and of each write) on e1's finding and on e2's
READS = {"bureau": (200, 200), "district_a": (200, 404), "district_b": (404, 200), "enterprise_e1": (200, 404),
         "enterprise_e2": (404, 200), "reviewer": (200, 200)}
SUBMITS = {"bureau": (200, 200), "district_a": (200, 404), "district_b": (404, 200), "enterprise_e1": (200, 404),
           "enterprise_e2": (404, 200), "reviewer": (403, 403)}
VERIFIES = {"bureau": (200, 200), "district_a": (200, 404), "district_b": (404, 200), "enterprise_e1": (403, 403),
            "enterprise_e2": (403, 403), "reviewer": (403, 403)}
DOORS = ("session", "bearer")


@pytest.fixture
def found(api, tmp_path):
    return with_findings(api, tmp_path)


@pytest.fixture
def found_any(api_any, tmp_path):
    """`found` on SQLite and on PostgreSQL."""
    return api_any, with_findings(api_any, tmp_path)


def evidence_files(api) -> list[Path]:
    folder = api.ctx().settings.evidence_path
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def code(api, which: str) -> str:
    return api.e1 if which == "e1" else api.e2


def submitted_by_enterprise(api, found, tmp_path) -> None:
    """Every finding submitted by its enterprise's account (so that a regulator may verify or reject them)."""
    for which, account in (("e1", "ent1"), ("e2", "ent2"), ("e1+", "ent1"), ("e2+", "ent2")):
        path = tmp_path / f"rectified-{which.rstrip('+')}.pdf"
        path.write_bytes(PDF + which.encode())
        submit_finding(api.ctx(account), found[which], [path], "已整改")


def test_each_role_lists_and_reads_the_findings_of_its_scope(api, found):
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        listed = {r["credit_code"] for r in client.get(f"{PREFIX}/findings").json()}
        assert listed == {code(api, w) for w, status in zip(("e1", "e2"), READS[role], strict=True) if status == 200}
        for which, status in zip(("e1", "e2"), READS[role], strict=True):
            answer = client.get(f"{PREFIX}/findings/{found[which]}")
            assert answer.status_code == status, (role, answer.text)
            if status == 200:
                assert answer.json()["credit_code"] == code(api, which)
            else:
                missing = client.get(f"{PREFIX}/findings/999999")
                assert answer.json()["code"] == missing.json()["code"] == "unknown_finding"
                assert answer.json()["title"] == missing.json()["title"]


def test_the_list_takes_the_clis_filters(api, found):
    client = api.bearer("bureau")
    assert {r["id"] for r in client.get(f"{PREFIX}/findings", params={"code": api.e2}).json()} == {
        found["e2"], found["e2+"]}
    assert client.get(f"{PREFIX}/findings", params={"status": "verified"}).json() == []
    assert len(client.get(f"{PREFIX}/findings", params={"district": "武清区"}).json()) == 2
    bad = client.get(f"{PREFIX}/findings", params={"status": "nonsense"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["location"] == {
        "field": "status", "file": None, "row": None, "column": None}


def test_without_credentials_every_finding_route_is_401(api, found):
    client = api.anonymous()
    fid = found["e1"]
    for method, url in (("get", "/findings"), ("get", f"/findings/{fid}"), ("post", f"/findings/{fid}/verify"),
                        ("post", f"/findings/{fid}/reject"), ("get", f"/findings/{fid}/evidence/{'0' * 64}")):
        assert getattr(client, method)(f"{PREFIX}{url}").status_code == 401
    answer = client.post(f"{PREFIX}/findings/{fid}/evidence", files={"files": ("a.pdf", PDF, "application/pdf")})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_submitting_evidence_by_each_role_through_each_door_in_and_out_of_scope(api, found):
    boss = api.ctx("boss")
    for role, door in ((r, d) for r in ROLE_NAMES for d in DOORS):
        client = api.client(role, door)
        for which, status in zip(("e1", "e2"), SUBMITS[role], strict=True):
            before, kept = api.counts(), evidence_files(api)
            report = PDF + f"{role}-{door}-{which}".encode()
            answer = client.post(f"{PREFIX}/findings/{found[which]}/evidence", data={"note": "已整改"},
                                 files=[("files", ("整改报告.pdf", report, "application/pdf")),
                                        ("files", ("现场照片.png", PNG, "image/png"))])
            assert answer.status_code == status, (role, door, answer.text)
            if status == 200:
                body = answer.json()
                assert body["status"] == "submitted"
                assert [(e["file"], e["sha256"], e["size"]) for e in body["evidence"]] == [
                    ("整改报告.pdf", hashlib.sha256(report).hexdigest(), len(report)),
                    ("现场照片.png", hashlib.sha256(PNG).hexdigest(), len(PNG))]
                assert_audited(api, client, code(api, which), "finding_submitted", ROLES[role], door)
                assert hashlib.sha256(report).hexdigest() in {p.name for p in evidence_files(api)}
                reject_finding(boss, found[which], "再次提交")  # open again for the next caller
            else:
                assert api.counts() == before
                assert evidence_files(api) == kept


def test_a_file_over_the_size_limit_is_413_and_nothing_is_kept(found_any):
    api, found = found_any
    client = api.bearer("enterprise_e1")
    limit = api.ctx().settings.web.uploads.max_bytes
    before, events = api.counts(), events_of(api, api.e1)
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/evidence",
                         files=[("files", ("ok.pdf", PDF, "application/pdf")),
                                ("files", ("big.pdf", b"%PDF-" + b"0" * limit, "application/pdf"))])
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "too_large"
    assert api.counts() == before
    assert events_of(api, api.e1) == events
    assert evidence_files(api) == []


def test_a_request_declaring_a_length_beyond_any_upload_is_413_before_it_is_read(api, found):
    client = api.bearer("enterprise_e1")
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/evidence", content=b"x",
                         headers={"Content-Length": str(10**12), "Content-Type": "multipart/form-data; boundary=x"})
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"


@pytest.mark.parametrize(("name", "content", "declared"), [
    ("script.sh", b"#!/bin/sh\nrm -rf /\n", "application/x-sh"),  # a type not allowed
    ("page.html", b"<script>alert(1)</script>", "text/html"),
    ("fake.pdf", b"MZ\x90\x00 an executable", "application/pdf"),  # declared pdf, not a pdf
    ("photo.png", PDF, "image/png"),  # declared png, a pdf inside
    ("report.docx", b"not a zip at all", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("data.csv", PNG, "text/csv"),  # a png declared as csv
    ("unknown.bin", b"\x00\x01", "application/octet-stream"),  # no type declared, none from the name
])
def test_a_type_outside_the_allowed_or_not_matching_its_bytes_is_415(api, found, name, content, declared):
    client = api.bearer("enterprise_e1")
    before = api.counts()
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/evidence", files={"files": (name, content, declared)})
    assert answer.status_code == 415, answer.text
    assert answer.json()["code"] == "unsupported_type"
    assert answer.json()["errors"][0]["location"]["field"] == "files"
    assert api.counts() == before
    assert evidence_files(api) == []


def test_office_files_images_and_csv_are_accepted_by_their_bytes(api, found):
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    client = api.bearer("enterprise_e1")
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/evidence", files=[
        ("files", ("说明.docx", docx.getvalue(), "application/octet-stream")),  # typed by its name, then its bytes
        ("files", ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg")),
        ("files", ("清单.csv", "序号,问题\n1,已整改\n".encode(), "text/csv"))])
    assert answer.status_code == 200, answer.text
    assert [e["file"] for e in answer.json()["evidence"]] == ["说明.docx", "photo.jpg", "清单.csv"]


@pytest.mark.parametrize(("sent", "kept"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\windows\\system32\\x.pdf", "x.pdf"),
    ("/abs/path/report.pdf", "report.pdf"),
    ("..", "upload-1"),
    ("C:\\Users\\me\\整改 报告.pdf", "整改 报告.pdf"),
    ("...hidden.pdf", "hidden.pdf"),
])
def test_a_path_in_the_file_name_is_reduced_to_its_base_name_and_never_used_as_a_path(api, found, tmp_path,
                                                                                      sent, kept):
    client = api.bearer("enterprise_e1")
    outside = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/evidence",
                         files={"files": (sent, PDF, "application/pdf")})
    assert answer.status_code == 200, answer.text
    assert [e["file"] for e in answer.json()["evidence"]] == [kept]
    folder = api.ctx().settings.evidence_path
    new = sorted(set(p for p in tmp_path.rglob("*") if p.is_file()) - set(outside))
    assert new
    assert all(p.is_relative_to(folder) for p in new if not p.name.endswith((".db", "-wal", "-shm")))
    assert [p.name for p in evidence_files(api)] == [hashlib.sha256(PDF).hexdigest()]
    listed = client.get(f"{PREFIX}/findings/{found['e1']}").json()["evidence"]
    assert [e["file"] for e in listed] == [kept]


def test_evidence_sent_back_before_is_refused_and_nothing_changes(api, found, tmp_path):
    submitted_by_enterprise(api, found, tmp_path)
    api.bearer("district_a").post(f"{PREFIX}/findings/{found['e1']}/reject", json={"reason": "照片不清楚"})
    client = api.bearer("enterprise_e1")
    before = api.counts()
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/evidence",
                         files={"files": ("again.pdf", PDF + b"e1", "application/pdf")})
    assert answer.status_code == 422
    assert answer.json()["code"] == "evidence_not_new"
    assert api.counts() == before


# the refused first, then the allowed: each enterprise has two submitted findings, one for each allowed role
ORDER = ("enterprise_e1", "enterprise_e2", "reviewer", "district_b", "district_a", "bureau")


@pytest.mark.parametrize(("action", "body", "status_after", "event"), [
    ("verify", {"note": "现场复核"}, "verified", "finding_verified"),
    ("reject", {"reason": "仍未整改到位"}, "open", "finding_rejected"),
])
def test_verifying_and_rejecting_by_each_role_in_and_out_of_scope(api, found, tmp_path, action, body,
                                                                 status_after, event):
    submitted_by_enterprise(api, found, tmp_path)
    used = {"e1": ["e1", "e1+"], "e2": ["e2", "e2+"]}
    for role in ORDER:
        client = api.client(role, DOOR_OF[role])
        for which, status in zip(("e1", "e2"), VERIFIES[role], strict=True):
            before = api.counts()
            target = found[used[which][0]]
            answer = client.post(f"{PREFIX}/findings/{target}/{action}", json=body)
            assert answer.status_code == status, (role, answer.text)
            if status == 200:
                assert answer.json()["status"] == status_after
                assert_audited(api, client, code(api, which), event, ROLES[role], DOOR_OF[role])
                used[which].pop(0)
            else:
                assert api.counts() == before


def test_a_rejection_needs_a_reason_and_a_session_its_csrf_token(api, found, tmp_path):
    submitted_by_enterprise(api, found, tmp_path)
    client = api.session("district_a")
    assert client.post(f"{PREFIX}/findings/{found['e1']}/reject", json={"reason": ""}).status_code == 422
    del client.headers["X-CSRF-Token"]
    before, kept = api.counts(), evidence_files(api)
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/reject", json={"reason": "x"})
    assert answer.status_code == 403
    assert answer.json()["code"] == "csrf_failed"
    answer = client.post(f"{PREFIX}/findings/{found['e1']}/evidence",
                         files={"files": ("a.pdf", PDF, "application/pdf")})
    assert answer.status_code == 403
    assert api.counts() == before
    assert evidence_files(api) == kept


def test_evidence_downloads_as_an_attachment_in_the_scope_of_its_finding(api, found, tmp_path):
    submitted_by_enterprise(api, found, tmp_path)
    for role in ROLE_NAMES:
        check_download(found, api.client(role, DOOR_OF[role]), role)


def check_download(found, client, role) -> None:
    for which, status in zip(("e1", "e2"), READS[role], strict=True):
        sha = hashlib.sha256(PDF + which.encode()).hexdigest()
        answer = client.get(f"{PREFIX}/findings/{found[which]}/evidence/{sha}")
        assert answer.status_code == status, answer.text
        if status == 200:
            assert answer.content == PDF + which.encode()
            assert answer.headers["content-type"] == "application/pdf"
            assert answer.headers["content-disposition"].startswith("attachment;")
            assert f"rectified-{which}.pdf" in answer.headers["content-disposition"]
        other = client.get(f"{PREFIX}/findings/{found[which]}/evidence/{'ab' * 32}")
        assert other.status_code == 404
