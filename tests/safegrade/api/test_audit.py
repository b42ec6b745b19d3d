"""The audit trail over the API: verification and the JSON Lines export, the whole trail for the bureau and
reviewers, a district officer its district's chains, nothing for an enterprise account."""

from __future__ import annotations

import json

from tests.safegrade.api.conftest import PREFIX
from tests.safegrade.api.factories import DOOR_OF, ROLE_NAMES

READERS = {"bureau": 200, "district_a": 200, "district_b": 200, "enterprise_e1": 403, "enterprise_e2": 403,
           "reviewer": 200}
WHOLE = {"bureau": True, "district_a": False, "district_b": False, "reviewer": True}  # else its district's chains


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
        assert body["chains"] == (len(api.a) + len(api.b) if WHOLE[role] else len(api.a))
        assert (body["security_log"] is not None) == WHOLE[role]
        assert exported.headers["content-type"] == "application/x-ndjson"
        assert exported.headers["content-disposition"].startswith("attachment;")
        lines = [json.loads(line) for line in exported.text.splitlines()]
        assert lines[0]["type"] == "header"
        assert sum(1 for x in lines if x["type"] == "event") == body["events"]
    assert api.anonymous().get(f"{PREFIX}/audit/verify").status_code == 401
