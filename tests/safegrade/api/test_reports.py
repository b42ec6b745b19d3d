"""Report downloads: the circular in docx/html/md/json, the closed-loop and district reports in html/xlsx/json,
each with its media type and an attachment's name, and each opening as what it says (python-docx reads the
docx, openpyxl the workbook); who may read which."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import openpyxl
from docx import Document

from tests.safegrade.api.conftest import PREFIX
from tests.safegrade.api.factories import CAMPAIGN, DOOR_OF, ROLE_NAMES, with_findings

CIRCULAR = {"bureau": 200, "district_a": 403, "district_b": 403, "enterprise_e1": 403, "enterprise_e2": 403,
            "reviewer": 200}
DISTRICT_REPORTS = {"bureau": 200, "district_a": 200, "district_b": 200, "enterprise_e1": 403,
                    "enterprise_e2": 403, "reviewer": 200}


def test_the_circular_downloads_in_each_format_and_opens(api, tmp_path):
    with_findings(api, tmp_path)
    client = api.bearer("bureau")
    media = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "json": "application/json"}
    for fmt, kind in media.items():
        answer = client.get(f"{PREFIX}/reports/circular/{CAMPAIGN}", params={"format": fmt})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == kind
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert quote(f"{CAMPAIGN}-通报.{fmt}", safe="") in disposition
        if fmt == "docx":
            text = "\n".join(p.text for p in Document(io.BytesIO(answer.content)).paragraphs)
            assert CAMPAIGN in text
        elif fmt == "json":
            assert answer.json()["campaign"]["name"] == CAMPAIGN
        else:
            assert CAMPAIGN in answer.text
    assert client.get(f"{PREFIX}/reports/circular/{CAMPAIGN}", params={"format": "pdf"}).status_code == 422
    assert client.get(f"{PREFIX}/reports/circular/no-such", params={"format": "md"}).status_code == 404


def test_the_loop_and_district_reports_download_and_open(api, tmp_path):
    with_findings(api, tmp_path)
    client = api.session("reviewer")
    for path, params in (("loop", {"campaign": CAMPAIGN}), ("loop", {"code": api.e1}),
                         ("districts", {"campaign": CAMPAIGN})):
        html = client.get(f"{PREFIX}/reports/{path}", params=params)
        assert html.status_code == 200, html.text
        assert html.headers["content-type"] == "text/html; charset=utf-8"
        assert html.headers["content-disposition"].startswith("attachment;")
        xlsx = client.get(f"{PREFIX}/reports/{path}", params={**params, "format": "xlsx"})
        assert xlsx.headers["content-type"] == ("application/vnd.openxmlformats-officedocument"
                                                ".spreadsheetml.sheet")
        assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames
        data = client.get(f"{PREFIX}/reports/{path}", params={**params, "format": "json"})
        assert data.headers["content-type"] == "application/json"
        assert json.loads(data.content)["as_of"]


def test_who_may_download_which_report(api, tmp_path):
    with_findings(api, tmp_path)
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        circular = client.get(f"{PREFIX}/reports/circular/{CAMPAIGN}", params={"format": "md"})
        assert circular.status_code == CIRCULAR[role], (role, circular.text)
        districts = client.get(f"{PREFIX}/reports/districts", params={"campaign": CAMPAIGN, "format": "json"})
        assert districts.status_code == DISTRICT_REPORTS[role], (role, districts.text)
        loop = client.get(f"{PREFIX}/reports/loop", params={"campaign": CAMPAIGN, "format": "json"})
        assert loop.status_code == DISTRICT_REPORTS[role], (role, loop.text)
        if role.startswith("district"):
            own = "120114" if role == "district_a" else "120103"
            assert {d["district"] for d in districts.json()["districts"]} == {own}
            assert {e["district"] for e in loop.json()["enterprises"]} == {own}
            other = api.e2 if role == "district_a" else api.e1
            assert client.get(f"{PREFIX}/reports/loop", params={"code": other}).status_code == 404
