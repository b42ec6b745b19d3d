"""The lifecycle names the code depends on, declared once.

lifecycle.yaml is policy and may be edited, but some of its names are wired into the engine: the deadline
sweep cancels an enterprise's deadlines once it is revoked, the ledger import records `register`, the
campaign opens assessments with `open_assessment`, and so on. Each name is declared here with the part of
the engine that needs it; `missing_names` lists those a lifecycle.yaml lacks, so the rules loader refuses
such a file at start-up instead of an import or a sweep failing on it later.

The members are StrEnums: they compare and hash equal to the plain strings stored in the database and read
from the rules, so `row["state"] == State.INTERVIEW` and `spec.events[Event.REVOKE]` work unchanged.
Pure: no imports beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class State(StrEnum):
    """Lifecycle states (lifecycle.yaml `states:`) the engine acts on by name."""

    ASSESSING = "assessing"
    INTERVIEW = "interview"
    RECTIFYING = "rectifying"
    REVOCATION_PENDING = "revocation_pending"
    REVOKED = "revoked"
    EXCLUDED = "excluded"
    EXPIRED = "expired"


class Event(StrEnum):
    """Lifecycle events (lifecycle.yaml `events:`) the engine fires or reads by name."""

    OPEN_ASSESSMENT = "open_assessment"
    RECORD_ASSESSMENT = "record_assessment"
    SUMMON = "summon"
    HOLD_INTERVIEW = "hold_interview"
    CLOSE = "close"
    ESCALATE = "escalate"
    PROPOSE_REVOCATION = "propose_revocation"
    WITHDRAW_REVOCATION = "withdraw_revocation"
    REVOKE = "revoke"
    EXPIRE = "expire"
    REGRADE = "regrade"
    RENEW = "renew"


class Grade(StrEnum):
    """The grade beside the state: states/grade.py decides which, lifecycle.yaml `grades:` labels each (all four,
    checked by missing_names; three share their spelling with a state, so they are kept out of NEEDED_BY)."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    EXCLUDED = "excluded"


class RecordEvent(StrEnum):
    """Audit-only record events (lifecycle.yaml `record_events:`) the engine records by name."""

    REGISTER = "register"
    AMEND = "amend"
    FINDING_SUBMITTED = "finding_submitted"
    FINDING_VERIFIED = "finding_verified"
    FINDING_REJECTED = "finding_rejected"
    DEADLINE_RECOUNTED = "deadline_recounted"


# which part of the engine needs each name: said in the problem when lifecycle.yaml lacks it
NEEDED_BY: Mapping[str, str] = {
    State.ASSESSING: "assessment import",
    State.INTERVIEW: "deadline sweep, deadlines plan, lifecycle deadlines, demo",
    State.RECTIFYING: "lifecycle deadlines (rectification follow-up), demo",
    State.REVOCATION_PENDING: "deadline sweep, deadlines plan, lifecycle deadlines, lifecycle effects, demo",
    State.REVOKED: "lifecycle deadlines, lifecycle effects, ledger reconcile, grade, demo",
    State.EXCLUDED: "ledger reconcile, grade",
    State.EXPIRED: "ledger export, lifecycle effects, grade",
    Event.OPEN_ASSESSMENT: "campaign",
    Event.RECORD_ASSESSMENT: "assessment import, lifecycle effects, oversight",
    Event.SUMMON: "demo",
    Event.HOLD_INTERVIEW: "lifecycle deadlines, campaign status, demo",
    Event.CLOSE: "demo",
    Event.ESCALATE: "loop report",
    Event.PROPOSE_REVOCATION: "ledger reconcile, loop report, demo",
    Event.WITHDRAW_REVOCATION: "lifecycle effects, demo",
    Event.REVOKE: "deadline sweep, campaign status, demo",  # where it leads ends the deadlines (Rules.ended_states)
    Event.EXPIRE: "loop report, lifecycle effects",
    Event.REGRADE: "lifecycle effects",
    Event.RENEW: "lifecycle effects",
    RecordEvent.REGISTER: "ledger import",
    RecordEvent.AMEND: "ledger import",
    RecordEvent.FINDING_SUBMITTED: "findings, oversight, loop report",
    RecordEvent.FINDING_VERIFIED: "findings, oversight, loop report",
    RecordEvent.FINDING_REJECTED: "findings, loop report",
    RecordEvent.DEADLINE_RECOUNTED: "deadline recount (a new holiday schedule)",
}

# (lifecycle.yaml section, the names the engine needs there)
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("states", tuple(State)),
    ("events", tuple(Event)),
    ("record_events", tuple(RecordEvent)),
)


def missing_names(sections: Mapping[str, Iterable[str] | None]) -> list[str]:
    """One problem per needed name a section lacks, as 'section: the engine needs 'name' (who)'.

    `sections` maps a section of lifecycle.yaml to the names it declares; a section given as None
    (absent or malformed, and reported as such elsewhere) or not given is not checked. The `grades`
    section needs a label for every Grade."""
    problems: list[str] = []
    for section, needed in SECTIONS:
        declared = sections.get(section)
        if declared is None:
            continue
        have = set(declared)
        problems.extend(f"{section}: the engine needs '{name}' ({NEEDED_BY[name]})"
                        for name in needed if name not in have)
    grades = sections.get("grades")
    if grades is not None:
        have = set(grades)
        problems.extend(f"grades: the engine needs '{name}' (its label: every read shows the grade beside the state)"
                        for name in Grade if name not in have)
    return problems
