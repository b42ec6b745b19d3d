"""Guards: pure named predicates over (snapshot, now, data).

`now` is an aware datetime already in the deployment's time zone, so `now.date()` is the local date
that deadlines are counted in. Each guard carries the message shown when it refuses.
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


GUARDS: dict[str, Guard] = {
    g.name: g
    for g in (
        Guard(
            "result_is_poor",
            lambda s, now, d: d.get("result") == "差",
            lambda s, now, d: f"result is {d.get('result')!r}, not 差",
        ),
        Guard(
            "has_major_hazard",
            lambda s, now, d: _major_hazards(s, d) > 0,
            lambda s, now, d: "no major accident hazard (重大事故隐患) is open",
        ),
        Guard(
            "has_open_findings",
            lambda s, now, d: _findings(s, d) > 0,
            lambda s, now, d: "no finding is open",
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
        Guard(
            "validity_ended",
            lambda s, now, d: s.valid_until is not None and now.date() > s.valid_until,
            lambda s, now, d: f"grade is valid until {s.valid_until.isoformat() if s.valid_until else '?'}; "
            f"today is {now.date().isoformat()}",
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
        ),
    )
}
