"""Reminders over the API: the outbox as each role may see it, requeueing a failed message in and out of
scope, and each account's own reminders (an enterprise account's are its enterprise's)."""

from __future__ import annotations

from sqlalchemy import update

from safegrade.models import Reminder, table
from safegrade.services.finding import list_findings
from safegrade.services.reminders import list_reminders, send_reminders
from safegrade.services.sweep import sweep_deadlines
from tests.conftest import at
from tests.safegrade.api.conftest import DISTRICT_A, DISTRICT_B, PREFIX
from tests.safegrade.api.factories import DOOR_OF, ROLE_NAMES, with_findings

REMINDER = table(Reminder)
RETRIES = {"bureau": (200, 200), "district_a": (200, 404), "district_b": (404, 200), "enterprise_e1": (403, 403),
           "enterprise_e2": (403, 403), "reviewer": (403, 403)}


def outbox(api, tmp_path) -> None:
    """Findings due, the sweep run on their day, the messages sent (to the test channels)."""
    with_findings(api, tmp_path)
    due = min(f.due_on for f in list_findings(api.ctx()))
    api.clock.set(at(f"{due} 09:00"))
    sweep_deadlines(api.ctx("system"))
    send_reminders(api.ctx("system"))


def failed(api, reminder_id: int) -> None:
    with api.ctx().store.write() as session:
        session.execute(update(REMINDER).where(REMINDER.c.id == reminder_id).values(
            status="failed", attempts=3, last_error="channel down"))


def test_each_role_sees_the_outbox_of_its_scope_and_its_own_reminders(api, tmp_path):
    outbox(api, tmp_path)
    every = list_reminders(api.ctx())
    accounts = {"district_a": ("district", DISTRICT_A), "district_b": ("district", DISTRICT_B)}
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        seen = client.get(f"{PREFIX}/reminders").json()
        mine = client.get(f"{PREFIX}/me/reminders").json()
        if role in ("bureau", "reviewer"):
            assert len(seen) == len(every)
        elif role in accounts:
            assert {r["district"] for r in seen} == {accounts[role][1]}
            assert {(r["audience"], r["district"]) for r in mine} == {accounts[role]}
        else:
            code = api.e1 if role == "enterprise_e1" else api.e2
            assert {(r["audience"], r["credit_code"]) for r in seen} == {("enterprise", code)}
            assert [r["id"] for r in mine] == [r["id"] for r in seen]
        if role == "bureau":
            assert mine
            assert {r["audience"] for r in mine} == {"bureau"}
        if role == "reviewer":
            assert mine == []


def test_each_role_requeues_a_failed_message_only_in_its_scope(api, tmp_path):
    outbox(api, tmp_path)
    rows = list_reminders(api.ctx())
    target = {"A": next(r.id for r in rows if r.district == DISTRICT_A and r.audience == "district"),
              "B": next(r.id for r in rows if r.district == DISTRICT_B and r.audience == "district")}
    for role in ROLE_NAMES:
        client = api.client(role, DOOR_OF[role])
        for which, status in zip(("A", "B"), RETRIES[role], strict=True):
            failed(api, target[which])
            before = api.counts()
            answer = client.post(f"{PREFIX}/reminders/{target[which]}/retry")
            assert answer.status_code == status, (role, which, answer.text)
            if status == 200:
                assert (answer.json()["was"], answer.json()["status"]) == ("failed", "pending")
            else:
                assert api.counts() == before
                assert next(r for r in list_reminders(api.ctx()) if r.id == target[which]).status == "failed"
    missing = api.bearer("bureau").post(f"{PREFIX}/reminders/999999/retry")
    assert missing.status_code == 404
