"""The audit trail over the API: verification and the JSON Lines export, for those who read the whole trail."""

from __future__ import annotations

import json

from tests.safegrade.api.conftest import PREFIX
from tests.safegrade.api.factories import DOOR_OF, ROLE_NAMES

READERS = {"bureau": 200, "district_a": 403, "district_b": 403, "enterprise_e1": 403, "enterprise_e2": 403,
           "reviewer": 200}


def test_who_verifies_and_exports_the_trail_and_what_they_get(api):
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        verified = client.get(f"{PREFIX}/audit/verify")
        assert verified.status_code == READERS[role], (role, verified.text)
        exported = client.get(f"{PREFIX}/audit/export")
        assert exported.status_code == READERS[role], (role, exported.text)
        if READERS[role] != 200:
            continue
        body = verified.json()
        assert body["ok"] is True
        assert body["breaks"] == []
        assert body["chains"] == len(api.a) + len(api.b)
        assert exported.headers["content-type"] == "application/x-ndjson"
        assert exported.headers["content-disposition"].startswith("attachment;")
        lines = [json.loads(line) for line in exported.text.splitlines()]
        assert lines[0]["type"] == "header"
        assert sum(1 for x in lines if x["type"] == "event") == body["events"]
    assert api.anonymous().get(f"{PREFIX}/audit/verify").status_code == 401
