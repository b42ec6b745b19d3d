"""Guards: pure named predicates over (snapshot, now, data).

`now` is an aware datetime already in the deployment's time zone, so `now.date()` is the local date
that deadlines are counted in. Each guard carries the message shown when it refuses, and the event
fields it `reads` from the data: judged before the data is given (what could an actor fire now?), such
a guard waits for the data instead of refusing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from states.snapshot import EnterpriseSnapshot

Predicate = Callable[[EnterpriseSnapshot, datetime, Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Guard:
    name: str
    predicate: Predicate
    refusal: Callable[[EnterpriseSnapshot, datetime, Mapping[str, Any]], str]
    reads: tuple[str, ...] = ()  # the event fields it reads from the data (else it judges the snapshot alone)

    def __call__(self, snap: EnterpriseSnapshot, now: datetime, data: Mapping[str, Any]) -> bool:
        return bool(self.predicate(snap, now, data))


def _major_hazards(snap: EnterpriseSnapshot, data: Mapping[str, Any]) -> int:
    return int(data.get("major_hazards", snap.open_major_hazards))


def _findings(snap: EnterpriseSnapshot, data: Mapping[str, Any]) -> int:
    return int(data.get("findings", snap.open_findings))


def _unverified(snap: EnterpriseSnapshot) -> str:
    parts = [f"{snap.open_findings} finding(s)"] if snap.open_findings else []
    if snap.open_major_hazards:
        parts.append(f"{snap.open_major_hazards} major hazard(s) (重大事故隐患)")
    return f"{' and '.join(parts) or 'nothing'} not yet verified (整改未验收)"


def _validity_ended(snap: EnterpriseSnapshot, now: datetime) -> bool:
    """The grade's validity has ended: recorded by `expire`, or its last day is past."""
    return snap.validity_ended_on is not None or (snap.valid_until is not None and now.date() > snap.valid_until)


def _valid_until(snap: EnterpriseSnapshot, now: datetime) -> str:
    if snap.validity_ended_on is not None:
        return f"the grade's validity already ended on {snap.validity_ended_on.isoformat()} (有效期届满, recorded)"
    return f"grade is valid until {snap.valid_until.isoformat() if snap.valid_until else '?'}; " \
        f"today is {now.date().isoformat()}"


GUARDS: dict[str, Guard] = {
    g.name: g
    for g in (
        Guard(
            "result_is_poor",
            lambda s, now, d: d.get("result") == "差",
            lambda s, now, d: f"result is {d.get('result')!r}, not 差",
            ("result",),
        ),
        Guard(
            "has_major_hazard",
            lambda s, now, d: _major_hazards(s, d) > 0,
            lambda s, now, d: "no major accident hazard (重大事故隐患) is open",
            ("major_hazards",),
        ),
        Guard(
            "has_open_findings",
            lambda s, now, d: _findings(s, d) > 0,
            lambda s, now, d: "no finding is open",
            ("findings",),
        ),
        Guard(
            "all_findings_verified",
            lambda s, now, d: s.open_findings == 0 and s.open_major_hazards == 0,
            lambda s, now, d: _unverified(s),
        ),
        Guard(
            "publicity_over",
            lambda s, now, d: s.publicity_ends_on is not None and now.date() > s.publicity_ends_on,
            lambda s, now, d: (
                "no publicity period (公示期) was started"
                if s.publicity_ends_on is None
                else f"publicity period (公示期) runs until {s.publicity_ends_on.isoformat()}; "
                f"today is {now.date().isoformat()}"
            ),
        ),
        Guard(  # expire: the validity's last day is past and its end not yet recorded
            "validity_ended",
            lambda s, now, d: s.validity_ended_on is None and _validity_ended(s, now),
            lambda s, now, d: _valid_until(s, now),
        ),
        Guard(  # a case ending without a valid grade ends in `expired`
            "grade_expired",
            lambda s, now, d: _validity_ended(s, now),
            lambda s, now, d: _valid_until(s, now),
        ),
        Guard(
            "revocation_bar_over",
            lambda s, now, d: s.regrade_from is not None and now.date() >= s.regrade_from,
            lambda s, now, d: f"revoked; may not be graded again before {s.regrade_from} (撤销后一年内不得重新申请)"
            if s.regrade_from else "no revocation date is recorded",
        ),
        Guard(
            "new_validity_in_future",
            lambda s, now, d: d.get("valid_until") is not None and d["valid_until"] > now.date(),
            lambda s, now, d: f"new valid_until {d.get('valid_until')} is not after today "
            f"{now.date().isoformat()}",
            ("valid_until",),
        ),
    )
}
