"""The lifecycle machine over every (state, event) pair of the real rules.

The tables below are written out as a regulator reads rules/lifecycle.yaml; they are not derived from
the machine, so a change of the rules that moves an enterprise somewhere else fails here by name.
"""

from __future__ import annotations

import gc
import shutil
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from states import EnterpriseSnapshot, EventNotAllowed, FieldError, GuardFailed, Lifecycle, LifecycleSpec

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2023, 7, 1, 9, 0, tzinfo=TZ)


def load_real_rules(directory: Path | None = None) -> Any:
    """The one place where tests/states touches safegrade: loading the real rules directory."""
    from safegrade.rules import load_rules
    from safegrade.settings import PROJECT_ROOT

    return load_rules(directory or PROJECT_ROOT / "rules")


RULES = load_real_rules()
SPEC: LifecycleSpec = RULES.lifecycle
LC: Lifecycle = RULES.machine

STATES = ("graded", "assessing", "interview", "rectifying", "closed", "revocation_pending", "revoked",
          "excluded", "expired")
EVENTS = ("open_assessment", "record_assessment", "summon", "hold_interview", "close", "escalate",
          "propose_revocation", "withdraw_revocation", "revoke", "exclude", "expire", "regrade", "renew")
FINAL = ("excluded",)  # revoked is left only by regrade, after the one-year bar

# Which events a state allows, as rules/lifecycle.yaml lists them (guards may still refuse).
ALLOWED: dict[str, tuple[str, ...]] = {
    "graded": ("open_assessment", "summon", "propose_revocation", "exclude", "expire", "renew"),
    "assessing": ("record_assessment", "propose_revocation", "exclude", "expire", "renew"),
    "interview": ("hold_interview", "escalate", "propose_revocation", "exclude", "expire", "renew"),
    "rectifying": ("summon", "close", "escalate", "propose_revocation", "exclude", "expire", "renew"),
    "closed": ("open_assessment", "summon", "propose_revocation", "exclude", "expire", "renew"),
    "revocation_pending": ("withdraw_revocation", "revoke", "exclude", "expire", "renew"),
    "revoked": ("regrade",),
    "excluded": (),
    "expired": ("propose_revocation", "exclude", "renew"),
}

POOR = {"revocation_reason": "poor_operation", "revocation_source": "assessment"}
HAZARD_OVERDUE = {"revocation_reason": "major_hazard_overdue", "revocation_source": "assessment"}
PROPOSAL = {"revocation_reason": "relocated", "revocation_source": "complaint"}
INTERVIEW = {"attendees": "张三、李四", "record": "约谈记录", "held_on": "2023-06-30"}
RENEWAL = {"valid_until": "2026-06-30", "certificate_no": "津AQBJXⅢ202300001"}
EXPIRED_ON = {"valid_until": date(2023, 6, 30)}
PUBLICITY_OVER = {"publicity_ends_on": date(2023, 6, 30)}
EXPIRY_RECORDED = {"valid_until": date(2023, 6, 30), "validity_ended_on": date(2023, 7, 1)}
CASE_STATES = ("assessing", "interview", "rectifying", "revocation_pending")


def _row(state: str, event: str, snap: dict[str, Any], data: dict[str, str], dest: str,
         sets: dict[str, str] | None = None, why: str = "") -> Any:
    return pytest.param(state, event, snap, data, dest, sets or {},
                        id=f"{state}-{event}->{dest}" + (f"-{why}" if why else ""))


# (state, event, snapshot fields, raw event data, destination, values fixed by the rules' `sets`)
DESTINATIONS = [
    _row("graded", "open_assessment", {}, {}, "assessing"),
    _row("closed", "open_assessment", {}, {}, "assessing"),
    _row("assessing", "record_assessment", {}, {"result": "差", "findings": "3", "major_hazards": "0"},
         "revocation_pending", POOR, "poor"),
    _row("assessing", "record_assessment", {}, {"result": "差", "findings": "3", "major_hazards": "1"},
         "interview", why="major-hazard-before-poor"),
    _row("assessing", "record_assessment", {}, {"result": "良", "findings": "3", "major_hazards": "1"},
         "interview", why="major-hazard"),
    _row("assessing", "record_assessment", {}, {"result": "良", "findings": "2", "major_hazards": "0"},
         "rectifying", why="findings"),
    _row("assessing", "record_assessment", {}, {"result": "优", "findings": "0", "major_hazards": "0"},
         "closed", why="nothing-found"),
    _row("assessing", "record_assessment", {"open_findings": 5, "open_major_hazards": 2},
         {"result": "优", "findings": "0", "major_hazards": "0"}, "closed", why="data-wins-over-snapshot"),
    _row("assessing", "record_assessment", EXPIRY_RECORDED, {"result": "优", "findings": "0", "major_hazards": "0"},
         "expired", why="nothing-found-validity-ended"),
    _row("assessing", "record_assessment", EXPIRED_ON, {"result": "良", "findings": "2", "major_hazards": "0"},
         "rectifying", why="findings-validity-ended"),
    _row("graded", "summon", {}, {}, "interview"),
    _row("rectifying", "summon", {}, {}, "interview"),
    _row("closed", "summon", {}, {}, "interview"),
    _row("interview", "hold_interview", {}, INTERVIEW, "rectifying"),
    _row("rectifying", "close", {}, {}, "closed", why="all-verified"),
    _row("rectifying", "close", EXPIRY_RECORDED, {}, "expired", why="all-verified-validity-ended"),
    _row("rectifying", "close", EXPIRED_ON, {}, "expired", why="all-verified-validity-ended-not-yet-recorded"),
    _row("rectifying", "escalate", {"open_major_hazards": 1, "open_findings": 1}, {}, "revocation_pending",
         HAZARD_OVERDUE, "major-hazard"),
    _row("rectifying", "escalate", {"open_findings": 2}, {}, "interview", why="findings-only"),
    _row("interview", "escalate", {}, {}, "revocation_pending", POOR),
    *(_row(s, "propose_revocation", {}, PROPOSAL, "revocation_pending")
      for s in ("graded", "assessing", "interview", "rectifying", "closed", "expired")),
    _row("revocation_pending", "withdraw_revocation", {"open_findings": 2}, {"objection": "异议成立"},
         "rectifying", why="findings-open"),
    _row("revocation_pending", "withdraw_revocation", {}, {"objection": "异议成立"}, "graded",
         why="nothing-open"),
    _row("revocation_pending", "withdraw_revocation", EXPIRY_RECORDED, {"objection": "异议成立"}, "expired",
         why="nothing-open-validity-ended"),
    _row("revocation_pending", "withdraw_revocation", {**EXPIRY_RECORDED, "open_findings": 1},
         {"objection": "异议成立"}, "rectifying", why="findings-open-validity-ended"),
    _row("revocation_pending", "revoke", PUBLICITY_OVER, {}, "revoked", why="publicity-over"),
    *(_row(s, "exclude", {}, {}, "excluded")
      for s in ("graded", "assessing", "interview", "rectifying", "closed", "revocation_pending", "expired")),
    _row("graded", "expire", EXPIRED_ON, {}, "expired"),
    _row("closed", "expire", EXPIRED_ON, {}, "expired"),
    *(_row(s, "expire", EXPIRED_ON, {}, s, why="internal") for s in CASE_STATES),
    *(_row(s, "renew", {"valid_until": date(2023, 6, 30)}, RENEWAL, "graded")
      for s in ("expired", "graded", "closed")),
    *(_row(s, "renew", EXPIRY_RECORDED, RENEWAL, s, why="internal") for s in CASE_STATES),
    _row("revoked", "regrade", {"regrade_from": date(2023, 7, 1)}, RENEWAL, "graded", why="bar-over"),
]

NOT_ALLOWED = [
    pytest.param(s, e, id=f"{s}-{e}") for s in STATES for e in EVENTS if e not in ALLOWED[s]
]


def snap(state: str, **fields: Any) -> EnterpriseSnapshot:
    return EnterpriseSnapshot(credit_code="91120114MA05JJ7B3T", state=state, district="120114",
                              sector="machinery", level="三级", graded_on=date(2022, 3, 1),
                              valid_until=fields.pop("valid_until", date(2025, 2, 28)), **fields)


def _allowed_in_message(message: str) -> list[str]:
    tail = message.split("allowed here: ", 1)[1]
    return [] if tail.startswith("none") else tail.split(", ")


# --- the tables describe the real rules, completely -------------------------------------------------

def test_the_tables_cover_every_state_and_event_of_the_rules() -> None:
    assert tuple(SPEC.states) == STATES
    assert tuple(SPEC.events) == EVENTS
    assert SPEC.initial == "graded"
    assert SPEC.final_states == FINAL


def test_every_allowed_pair_has_a_destination_row() -> None:
    rows = {(p.values[0], p.values[1]) for p in DESTINATIONS}
    allowed = {(s, e) for s, events in ALLOWED.items() for e in events}
    assert rows == allowed


@pytest.mark.parametrize("state", STATES)
def test_allowed_events_match_the_table(state: str) -> None:
    assert set(LC.allowed_events(state)) == set(ALLOWED[state])


# --- allowed pairs move where the rules say ---------------------------------------------------------

@pytest.mark.parametrize(("state", "event", "snap_fields", "raw", "dest", "sets"), DESTINATIONS)
def test_allowed_pair_moves_to_its_destination(state: str, event: str, snap_fields: dict[str, Any],
                                                raw: dict[str, str], dest: str, sets: dict[str, str]) -> None:
    data = LC.coerce(event, raw)
    before = snap(state, **snap_fields)
    outcome = LC.fire(before, event, NOW, data)
    assert (outcome.event, outcome.source, outcome.dest) == (event, state, dest)
    assert dict(outcome.sets) == sets
    assert dict(outcome.data) == data
    assert before.state == state  # the snapshot is never mutated: the caller persists


# --- not-allowed pairs are refused, naming event, state and what is allowed --------------------------

@pytest.mark.parametrize(("state", "event"), NOT_ALLOWED)
def test_not_allowed_pair_is_refused(state: str, event: str) -> None:
    with pytest.raises(EventNotAllowed) as info:
        LC.fire(snap(state, **PUBLICITY_OVER), event, NOW, {})
    message = str(info.value)
    assert f"event '{event}'" in message
    assert f"state '{state}'" in message
    assert _allowed_in_message(message) == list(ALLOWED[state])
    assert (info.value.event, info.value.state, info.value.allowed) == (event, state, list(ALLOWED[state]))


@pytest.mark.parametrize("state", FINAL)
@pytest.mark.parametrize("event", EVENTS)
def test_final_states_allow_nothing(state: str, event: str) -> None:
    assert LC.allowed_events(state) == ()
    with pytest.raises(EventNotAllowed, match=r"allowed here: none \(final state\)"):
        LC.fire(snap(state), event, NOW, {})


@pytest.mark.parametrize("name", ["approve", "Revoke", "revoke ", "", "record-assessment"])
def test_unknown_event_is_refused_with_the_events_allowed_here(name: str) -> None:
    with pytest.raises(EventNotAllowed) as info:
        LC.fire(snap("rectifying"), name, NOW, {})
    message = str(info.value)
    assert f"unknown event '{name}'" in message
    assert _allowed_in_message(message) == list(ALLOWED["rectifying"])


def test_unknown_event_in_coerce_lists_every_event() -> None:
    with pytest.raises(EventNotAllowed) as info:
        LC.coerce("approve", {})
    assert "unknown event 'approve'" in str(info.value)
    assert _allowed_in_message(str(info.value)) == list(EVENTS)


def test_unknown_state_is_not_called_final() -> None:
    with pytest.raises(EventNotAllowed) as info:
        LC.fire(snap("archived"), "summon", NOW, {})
    assert "final state" not in str(info.value)


# --- internal transitions: the state is kept -----------------------------------------------------------

@pytest.mark.parametrize("state", CASE_STATES)
def test_expire_and_renew_during_a_case_keep_the_state(state: str) -> None:
    assert SPEC.keeps_state("expire", state)
    assert SPEC.keeps_state("renew", state)
    assert LC.fire(snap(state, **EXPIRED_ON), "expire", NOW, {}).dest == state
    with pytest.raises(GuardFailed, match="already ended on 2023-07-01"):  # recorded once
        LC.fire(snap(state, **EXPIRY_RECORDED), "expire", NOW, {})


@pytest.mark.parametrize("state", ["graded", "closed", "expired"])
def test_outside_a_case_expire_and_renew_move(state: str) -> None:
    assert not SPEC.keeps_state("renew", state)
    assert not SPEC.keeps_state("expire", state)


# --- judge: could an event be fired here now, once its fields are given ---------------------------------

@pytest.mark.parametrize(("state", "event", "fields", "failures"), [
    pytest.param("rectifying", "close", {"open_findings": 1}, ["all_findings_verified"], id="close-open-findings"),
    pytest.param("rectifying", "close", {"open_findings": 1, **EXPIRY_RECORDED}, ["all_findings_verified"],
                 id="close-open-findings-validity-ended-said-once"),
    pytest.param("rectifying", "close", {}, [], id="close-all-verified"),
    pytest.param("graded", "renew", {}, [], id="renew-waits-for-valid-until"),
    pytest.param("rectifying", "renew", {}, [], id="internal-renew-waits-for-valid-until"),
    pytest.param("graded", "expire", {}, ["validity_ended"], id="expire-too-early"),
    pytest.param("rectifying", "expire", EXPIRY_RECORDED, ["validity_ended"], id="expire-twice"),
    pytest.param("revocation_pending", "revoke", {}, ["publicity_over"], id="revoke-no-publicity"),
    pytest.param("revocation_pending", "withdraw_revocation", {}, [], id="withdraw-always-somewhere"),
    pytest.param("assessing", "record_assessment", {}, [], id="record-assessment-routes-wait-for-the-data"),
    pytest.param("rectifying", "escalate", {"open_findings": 2}, [], id="escalate-unguarded-route"),
])
def test_judge_says_what_would_refuse_without_the_data(state: str, event: str, fields: dict[str, Any],
                                                       failures: list[str]) -> None:
    found = LC.judge(snap(state, **fields), event, NOW)
    assert [g for g, _ in found] == failures
    assert all(message for _, message in found)


def test_judge_refuses_an_event_the_state_does_not_have() -> None:
    with pytest.raises(EventNotAllowed):
        LC.judge(snap("closed"), "revoke", NOW)
    with pytest.raises(EventNotAllowed, match="unknown event"):
        LC.judge(snap("closed"), "approve", NOW)


# --- record_assessment: the rules choose the destination, in priority order -------------------------

@pytest.mark.parametrize(("result", "findings", "hazards", "dest"), [
    pytest.param("差", "0", "0", "revocation_pending", id="poor"),
    pytest.param("差", "4", "0", "revocation_pending", id="poor-with-findings"),
    pytest.param("差", "0", "2", "interview", id="poor-with-hazard"),
    pytest.param("差", "4", "2", "interview", id="poor-with-everything"),
    pytest.param("良", "0", "1", "interview", id="good-hazard"),
    pytest.param("良", "4", "1", "interview", id="good-hazard-and-findings"),
    pytest.param("优", "0", "1", "interview", id="excellent-hazard"),
    pytest.param("良", "1", "0", "rectifying", id="good-findings"),
    pytest.param("优", "7", "0", "rectifying", id="excellent-findings"),
    pytest.param("良", "0", "0", "closed", id="good-nothing"),
    pytest.param("优", "0", "0", "closed", id="excellent-nothing"),
])
def test_record_assessment_priority(result: str, findings: str, hazards: str, dest: str) -> None:
    data = LC.coerce("record_assessment", {"result": result, "findings": findings, "major_hazards": hazards})
    outcome = LC.fire(snap("assessing"), "record_assessment", NOW, data)
    assert outcome.dest == dest
    assert dict(outcome.sets) == (POOR if dest == "revocation_pending" else {})


def test_record_assessment_reads_the_snapshot_when_data_has_no_counts() -> None:
    outcome = LC.fire(snap("assessing", open_major_hazards=1), "record_assessment", NOW, {"result": "良"})
    assert outcome.dest == "interview"


def test_sets_of_poor_result_are_valid_choices_of_the_rules() -> None:
    outcome = LC.fire(snap("assessing"), "record_assessment", NOW,
                      LC.coerce("record_assessment", {"result": "差", "findings": "0", "major_hazards": "0"}))
    assert outcome.sets["revocation_reason"] in RULES.revocation_reasons
    assert outcome.sets["revocation_source"] in RULES.revocation_sources
    assert RULES.revocation_reasons[outcome.sets["revocation_reason"]] == "运行质量差（情节严重）"


# --- time: `now` must be aware ------------------------------------------------------------------------

def test_naive_now_is_refused() -> None:
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        LC.fire(snap("graded"), "summon", naive, {})


# --- field coercion ----------------------------------------------------------------------------------

ASSESSMENT = {"result": "良", "findings": "2", "major_hazards": "0"}


@pytest.mark.parametrize("missing", ["result", "findings", "major_hazards"])
def test_missing_required_field(missing: str) -> None:
    raw = {k: v for k, v in ASSESSMENT.items() if k != missing}
    with pytest.raises(FieldError) as info:
        LC.coerce("record_assessment", raw)
    assert info.value.field == missing
    assert f"field '{missing}': required" in str(info.value)
    assert SPEC.fields[missing].label in str(info.value)


@pytest.mark.parametrize("blank", ["", "   ", "\u3000"])
def test_blank_required_text_counts_as_missing(blank: str) -> None:
    with pytest.raises(FieldError, match="field 'attendees': required"):
        LC.coerce("hold_interview", {"attendees": blank, "record": "记录"})


def test_none_required_text_counts_as_missing() -> None:
    with pytest.raises(FieldError, match="field 'attendees': required"):
        LC.coerce("hold_interview", {"attendees": None, "record": "记录"})


@pytest.mark.parametrize(("event", "raw", "allowed"), [
    pytest.param("record_assessment", {**ASSESSMENT, "grade": "A"},
                 "result, findings, major_hazards, campaign, score, assessment", id="record_assessment"),
    pytest.param("hold_interview", {**INTERVIEW, "place": "区局"}, "attendees, record, held_on", id="hold_interview"),
    pytest.param("summon", {"reason": "x"}, "interview_on", id="summon"),
    pytest.param("close", {"reason": "x"}, "none", id="event-without-fields"),
])
def test_unknown_field_lists_the_allowed_ones(event: str, raw: dict[str, str], allowed: str) -> None:
    unknown = next(k for k in raw if k not in SPEC.fields or k not in (*SPEC.events[event].requires,
                                                                         *SPEC.events[event].allows))
    with pytest.raises(FieldError) as info:
        LC.coerce(event, raw)
    assert info.value.field == unknown
    assert str(info.value).endswith(f"not a field of this event; allowed: {allowed}")


@pytest.mark.parametrize("value", ["two", "2.5", "2,0", "", True, 1.5, "+5", "１２", "1_000"])
def test_bad_int_is_refused(value: Any) -> None:
    with pytest.raises(FieldError, match=r"field 'findings': .* is not a whole number"):
        LC.coerce("record_assessment", {**ASSESSMENT, "findings": value})


@pytest.mark.parametrize("value", ["-1", -3, " -10 "])
def test_negative_int_is_refused(value: Any) -> None:
    with pytest.raises(FieldError, match=r"field 'major_hazards': -\d+ is negative; must be 0 or more"):
        LC.coerce("record_assessment", {**ASSESSMENT, "major_hazards": value})


@pytest.mark.parametrize(("value", "number"), [("0", 0), (" 3 ", 3), (7, 7), ("12", 12)])
def test_ints_accepted(value: Any, number: int) -> None:
    assert LC.coerce("record_assessment", {**ASSESSMENT, "findings": value})["findings"] == number


@pytest.mark.parametrize("text", ["2023-07-01", "2023/7/1", "2023年7月1日", "2023.07.01", " 2023-7-1 ",
                                  "2023年07月01日"])
def test_date_formats_accepted(text: str) -> None:
    data = LC.coerce("hold_interview", {**INTERVIEW, "held_on": text})
    assert data["held_on"] == date(2023, 7, 1)


def test_date_object_is_kept() -> None:
    assert LC.coerce("hold_interview", {**INTERVIEW, "held_on": date(2023, 7, 1)})["held_on"] == date(2023, 7, 1)


@pytest.mark.parametrize("value", ["2023-02-30", "01/07/2023", "2023-13-01", "yesterday", "20230701", "2023年7月1号",
                                   "", datetime(2023, 7, 1, 9, 0, tzinfo=TZ)])
def test_bad_date_is_refused(value: Any) -> None:
    with pytest.raises(FieldError, match=r"field 'held_on': .*(is not a date; use YYYY-MM-DD|give a date)"):
        LC.coerce("hold_interview", {**INTERVIEW, "held_on": value})


@pytest.mark.parametrize(("field", "value", "choices"), [
    pytest.param("result", "中", "优, 良, 差", id="result"),
    pytest.param("result", "poor", "优, 良, 差", id="result-in-english"),
])
def test_choice_not_in_list(field: str, value: str, choices: str) -> None:
    with pytest.raises(FieldError) as info:
        LC.coerce("record_assessment", {**ASSESSMENT, field: value})
    assert str(info.value).endswith(f"'{value}' is not allowed; choose one of {choices}")


def test_revocation_reason_choices_come_from_triggers_yaml() -> None:
    assert SPEC.fields["revocation_reason"].choices == tuple(RULES.revocation_reasons)
    assert SPEC.fields["revocation_source"].choices == tuple(RULES.revocation_sources)
    for reason in RULES.revocation_reasons:
        assert LC.coerce("propose_revocation", {**PROPOSAL, "revocation_reason": reason})["revocation_reason"] == reason
    with pytest.raises(FieldError) as info:
        LC.coerce("propose_revocation", {**PROPOSAL, "revocation_reason": "arson"})
    assert f"choose one of {', '.join(RULES.revocation_reasons)}" in str(info.value)


def test_a_reason_added_to_triggers_yaml_becomes_a_choice(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(load_real_rules().path, rules_dir)
    text = (rules_dir / "triggers.yaml").read_text(encoding="utf-8")
    text = text.replace("revocation_reasons:\n", "revocation_reasons:\n  arson: 纵火\n", 1)
    (rules_dir / "triggers.yaml").write_text(text, encoding="utf-8")
    lc = load_real_rules(rules_dir).machine
    assert lc.coerce("propose_revocation", {**PROPOSAL, "revocation_reason": "arson"})["revocation_reason"] == "arson"
    with pytest.raises(FieldError):
        LC.coerce("propose_revocation", {**PROPOSAL, "revocation_reason": "arson"})


# --- one machine, many enterprises -------------------------------------------------------------------

def test_machine_is_built_once_and_reused_without_growth() -> None:
    assert RULES.machine is LC  # cached on the rules: one machine per process
    machine = LC._machine
    events_before = {name: sum(len(ts) for ts in ev.transitions.values()) for name, ev in machine.events.items()}
    base = [snap("assessing"), snap("rectifying", open_findings=1), snap("closed"), snap("graded"),
            snap("revocation_pending", **PUBLICITY_OVER)]
    plan = [("record_assessment", {"result": "良", "findings": 1, "major_hazards": 0}, "rectifying"),
            ("escalate", {}, "interview"), ("open_assessment", {}, "assessing"), ("summon", {}, "interview"),
            ("revoke", {}, "revoked")]

    def run(n: int) -> None:
        for i in range(n):
            k = i % len(base)
            enterprise = replace(base[k], credit_code=f"E{i:08d}", version=i)
            event, data, dest = plan[k]
            assert LC.fire(enterprise, event, NOW, data).dest == dest

    run(500)  # warm caches before measuring
    gc.collect()
    objects_before = len(gc.get_objects())
    run(10_000)
    gc.collect()
    assert len(gc.get_objects()) - objects_before < 200
    assert machine.models == []
    assert len(machine._transition_queue) == 0
    assert {name: sum(len(ts) for ts in ev.transitions.values()) for name, ev in machine.events.items()} \
        == events_before
    assert all(s.state == state for s, state in zip(base, ("assessing", "rectifying", "closed", "graded",
                                                            "revocation_pending"), strict=True))
