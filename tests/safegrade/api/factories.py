"""What the tests of findings, campaigns, imports, deadlines, reminders, reports and audit share: a campaign over
the API world with one assessed enterprise a district (findings to rectify), the audit events of an enterprise,
and the caller's session or token id."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from safegrade.models import AuditEvent, Enterprise, table
from safegrade.services.assessment import import_assessments
from safegrade.services.campaign import open_campaign
from safegrade.services.finding import list_findings
from tests.conftest import at
from tests.safegrade.api.conftest import PREFIX, ApiWorld

CAMPAIGN = "2023年运行质量评估"
DEDUCTIONS = [{"item": "ZP01", "points": 5, "content": "2022年度未开展标准化自评，无自评报告"},
              {"item": "ZD02", "points": 5, "content": "粉尘涉爆除尘系统未按规定采用防爆设计"}]
EVENT, ENTERPRISE = table(AuditEvent), table(Enterprise)
ROLE_NAMES = ("bureau", "district_a", "district_b", "enterprise_e1", "enterprise_e2", "reviewer")
# the door each role's client uses where a test goes through the roles in one world (both doors are covered)
DOOR_OF = {"bureau": "session", "district_a": "bearer", "district_b": "session", "enterprise_e1": "session",
           "enterprise_e2": "bearer", "reviewer": "bearer"}


def with_findings(api: ApiWorld, tmp_path: Path) -> dict[str, int]:
    """CAMPAIGN opened for everyone; e1 (district A) and e2 (district B) assessed with two deductions each on
    2023-07-10: two open findings each. {'e1': the first one's id, 'e2': …, 'e1+': the second one's, 'e2+': …}."""
    open_campaign(api.ctx("boss"), CAMPAIGN, date(2023, 6, 1), date(2023, 8, 31), all_=True,
                  ledger_due_on=date(2023, 12, 15))
    api.clock.set(at("2023-07-10 16:00"))
    for code, officer in ((api.e1, "wq"), (api.e2, "hx")):
        path = tmp_path / f"assess-{code}.yaml"
        path.write_text(yaml.safe_dump([{
            "credit_code": code, "campaign": CAMPAIGN, "assessed_on": "2023-07-10", "assessors": ["王工"],
            "methods": ["资料审查"], "deductions": DEDUCTIONS}], allow_unicode=True), encoding="utf-8")
        import_assessments(api.ctx(officer), [path])
    api.clock.set(at("2023-07-12 10:00"))
    rows = sorted(list_findings(api.ctx()), key=lambda r: r.id)
    e1, e2 = ([r.id for r in rows if r.credit_code == c] for c in (api.e1, api.e2))
    return {"e1": e1[0], "e2": e2[0], "e1+": e1[1], "e2+": e2[1]}


def events_of(api: ApiWorld, code: str) -> list[dict[str, Any]]:
    with api.ctx().store.read() as session:
        rows = session.execute(select(EVENT).join(ENTERPRISE, ENTERPRISE.c.id == EVENT.c.enterprise_id)
                               .where(ENTERPRISE.c.credit_code == code).order_by(EVENT.c.seq)).mappings()
        return [dict(r) for r in rows]


def via_of(client: Any) -> str:
    return str(client.get(f"{PREFIX}/me").json()["via"])


def assert_audited(api: ApiWorld, client: Any, code: str, event: str, actor: str, door: str) -> None:
    """The newest audit event of `code` is `event` by `actor`, through the door, with the session or token id."""
    last = events_of(api, code)[-1]
    assert (last["event"], last["actor"]) == (event, actor)
    assert last["source"] == ("web" if door == "session" else "api")
    assert json.loads(last["payload"])["by"] == {"via": via_of(client)}
