"""What the lifecycle sees of an enterprise: a frozen copy, never the database row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class EnterpriseSnapshot:
    credit_code: str
    state: str
    district: str = ""
    sector: str = ""
    level: str = ""
    graded_on: date | None = None
    valid_until: date | None = None
    version: int = 0
    open_findings: int = 0
    open_major_hazards: int = 0
    publicity_ends_on: date | None = None
    regrade_from: date | None = None  # the first day a revoked enterprise may be graded again
    validity_ended_on: date | None = None  # the first day without a valid grade, recorded by `expire`
    flags: tuple[str, ...] = field(default_factory=tuple)
