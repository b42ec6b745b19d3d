"""What the sweep writes back to a deadline it claimed, and the moves the deadlines follow: small dataclasses
instead of the claimed rows mutated in place and 6-tuples."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date
from types import SimpleNamespace

import pytest

from safegrade.domain import timetable
from safegrade.services.deadlines import LAPSED, OPEN, Move
from safegrade.services.sweep import _Escalation, _runs_on, _Update

DUE = date(2023, 7, 11)
LATE = date(2023, 9, 30)  # after every reminder and the escalation day of a finding due on DUE


def _deadline(**changed) -> dict:
    return {"id": 7, "kind": "finding", "subject": "finding:3", "status": "open", "due_on": DUE,
            "done_through": date(2023, 7, 4), "escalation": None, "escalated_on": None, "escalation_note": None,
            "closed_note": None, **changed}


def test_a_deadline_not_escalated_stays_open_for_its_escalation_however_late(rules):
    kind = rules.deadlines.kind("finding")
    update = _runs_on(SimpleNamespace(rules=rules), _deadline(), None, LATE)
    escalation_day = next(a.on for a in timetable.actions(kind, DUE) if a.escalation)
    assert (update.status, update.next_on, update.done_through) == (OPEN, escalation_day, LATE)
    assert (update.escalation, update.escalated_on, update.escalation_note) == (None, None, None)


def test_todays_escalation_is_written_and_a_deadline_with_nothing_left_lapses(rules):
    fired = _Escalation("fired", LATE, "已逾期81天，系统已约谈（审计 0123456789abcdef）")
    update = _runs_on(SimpleNamespace(rules=rules), _deadline(closed_note="保留"), fired, LATE)
    assert update.params() == {
        "_id": 7, "_seen": "open", "status": LAPSED, "next_on": None, "done_through": LATE, "escalation": "fired",
        "escalated_on": LATE, "escalation_note": fired.note, "closed_note": "保留"}


def test_an_escalation_recorded_before_is_kept(rules):
    before = _deadline(escalation="skipped", escalated_on=date(2023, 8, 1), escalation_note="企业处于「已撤销」")
    update = _runs_on(SimpleNamespace(rules=rules), before, None, LATE)
    assert (update.escalation, update.escalated_on, update.escalation_note) == \
        ("skipped", date(2023, 8, 1), "企业处于「已撤销」")
    # its escalation was taken: nothing left
    assert update.next_on is None
    assert update.status == LAPSED


def test_the_write_back_and_the_move_are_frozen():
    update = _Update(id=1, seen="open", status=OPEN, next_on=None, done_through=DUE, escalation=None,
                     escalated_on=None, escalation_note=None, closed_note=None)
    move = Move({"id": 1, "district": "120114"}, "summon", "rectifying", "interview", {}, {})
    with pytest.raises(FrozenInstanceError):
        update.status = LAPSED  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        move.dest = "closed"  # type: ignore[misc]
    assert (move.event, move.source, move.dest) == ("summon", "rectifying", "interview")
