"""Deadlines over the API: the list as each role may see it, and the plan (the rules' plan_deadlines: the bureau
and reviewers the whole city's, a district officer its district's, an enterprise none) — as the CLI's."""

from __future__ import annotations

from tests.safegrade.api.conftest import DISTRICT_A, DISTRICT_B, PREFIX
from tests.safegrade.api.factories import DOOR_OF, ROLE_NAMES, with_findings

SEES = {"bureau": {DISTRICT_A, DISTRICT_B}, "district_a": {DISTRICT_A}, "district_b": {DISTRICT_B},
        "enterprise_e1": {DISTRICT_A}, "enterprise_e2": {DISTRICT_B}, "reviewer": {DISTRICT_A, DISTRICT_B}}
PLANS = {"bureau": 200, "district_a": 200, "district_b": 200, "enterprise_e1": 403, "enterprise_e2": 403,
         "reviewer": 200}


def test_each_role_lists_the_deadlines_of_its_scope_and_only_some_plan(api, tmp_path):
    found = with_findings(api, tmp_path)
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        rows = client.get(f"{PREFIX}/deadlines").json()
        assert {r["district"] for r in rows} == SEES[role], role
        if role.startswith("enterprise"):
            mine = found["e1"] if role == "enterprise_e1" else found["e2"]
            assert all(r["finding_id"] in (mine, mine + 1, None) for r in rows)
            assert all(r["kind"] != "campaign_window" for r in rows)
        plan = client.get(f"{PREFIX}/deadlines/plan", params={"start": "2023-07-12", "end": "2023-09-30"})
        assert plan.status_code == PLANS[role], (role, plan.text)
        if plan.status_code == 200:
            body = plan.json()
            assert (body["from"], body["to"]) == ("2023-07-12", "2023-09-30")
            assert body["days"]


def test_the_list_takes_the_clis_filters_and_refuses_unknown_choices(api, tmp_path):
    with_findings(api, tmp_path)
    client = api.bearer("bureau")
    windows = client.get(f"{PREFIX}/deadlines", params={"kind": "campaign_window"}).json()
    assert {r["kind"] for r in windows} == {"campaign_window"}
    assert len(client.get(f"{PREFIX}/deadlines", params={"limit": 1}).json()) == 1
    bad = client.get(f"{PREFIX}/deadlines", params={"kind": "nonsense"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["location"]["field"] == "kind"
    backwards = client.get(f"{PREFIX}/deadlines/plan", params={"start": "2023-09-30", "end": "2023-07-01"})
    assert backwards.status_code == 422
    assert api.anonymous().get(f"{PREFIX}/deadlines").status_code == 401
