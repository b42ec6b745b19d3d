"""states.names: the lifecycle names the engine depends on, each declared once with who needs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from states.names import NEEDED_BY, SECTIONS, Event, Grade, RecordEvent, State, missing_names

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
EVERY_NAME = [*State, *Event, *RecordEvent]


def test_every_name_says_which_part_of_the_engine_needs_it() -> None:
    assert set(NEEDED_BY) == set(EVERY_NAME)
    assert all(NEEDED_BY[name].strip() for name in EVERY_NAME)


def test_each_kind_of_name_is_checked_in_its_own_section() -> None:
    assert (("states", tuple(State)), ("events", tuple(Event)), ("record_events", tuple(RecordEvent))) == SECTIONS
    assert len({*State} | {*Event} | {*RecordEvent}) == len(EVERY_NAME)  # no name in two sections


def test_the_real_lifecycle_declares_every_name_in_its_section() -> None:
    doc = yaml.safe_load((RULES_DIR / "lifecycle.yaml").read_text(encoding="utf-8"))
    assert missing_names({section: doc[section] for section, _ in SECTIONS}) == []
    assert set(State) <= set(doc["states"])
    assert set(Event) <= set(doc["events"])
    assert set(RecordEvent) <= set(doc["record_events"])


@pytest.mark.parametrize("name", EVERY_NAME, ids=str)
def test_a_name_is_the_plain_string_stored_in_the_database(name: str) -> None:
    """StrEnum members compare, hash, format and serialise as their value: swapping a literal for its name
    changes nothing the database, the audit chain's hashes or a json report sees."""
    plain = str.__str__(name)
    assert name == plain
    assert hash(name) == hash(plain)
    assert {plain: 1}[name] == 1
    assert f"{name}" == plain
    assert json.dumps([name]) == json.dumps([plain])


def test_missing_names_one_problem_per_name_in_declaration_order() -> None:
    found = missing_names({
        "states": [s for s in State if s not in (State.INTERVIEW, State.EXPIRED)],
        "events": [e for e in Event if e != Event.REVOKE],
        "record_events": ["register", "amend", "finding_submitted", "finding_verified", "deadline_recounted"],
    })
    assert found == [
        "states: the engine needs 'interview' (deadline sweep, deadlines plan, lifecycle deadlines, demo)",
        "states: the engine needs 'expired' (ledger export, lifecycle effects, grade)",
        "events: the engine needs 'revoke' (deadline sweep, campaign status, demo)",
        "record_events: the engine needs 'finding_rejected' (findings, loop report)",
    ]


def test_an_empty_section_lacks_every_name_and_an_unchecked_one_none() -> None:
    """() is a section that declares nothing (e.g. no record_events at all); None is one not checked here
    because it is malformed, which the parser reports on its own."""
    found = missing_names({"states": None, "events": None, "record_events": ()})
    assert found == [f"record_events: the engine needs '{r}' ({NEEDED_BY[r]})" for r in RecordEvent]
    assert missing_names({}) == []


def test_every_grade_needs_its_label() -> None:
    """The grades share three spellings with states, so they are checked apart: all four, in their order."""
    assert [g.value for g in Grade] == ["valid", "expired", "revoked", "excluded"]
    assert missing_names({"grades": ["valid", "revoked"]}) == [
        "grades: the engine needs 'expired' (its label: every read shows the grade beside the state)",
        "grades: the engine needs 'excluded' (its label: every read shows the grade beside the state)"]
    assert missing_names({"grades": None}) == []
    doc = yaml.safe_load((RULES_DIR / "lifecycle.yaml").read_text(encoding="utf-8"))
    assert missing_names({"grades": doc["grades"]}) == []
