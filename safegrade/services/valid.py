"""Which grades are valid on a date: the one filter behind the 台账 of valid graded enterprises (`ledger
export`) and the "missing from the 台账" check of `ledger reconcile`. Reuse it wherever "a valid grade" is
meant, with the enterprise row as it stood that day (services.asof), so that every figure agrees.

A grade is valid on `day` unless, on the enterprise's row as it stood then:
- its state is `revoked` (已撤销), `excluded` (已注销/不予评估) or `expired` (有效期届满);
- its validity has passed (`valid_until` before `day`; on `valid_until` itself it is still valid), whether
  or not the `expire` event has been fired yet;
- it is under a revocation whose publicity has ended (`revocation_pending` with `publicity_ends_on`
  before `day`): only the announcement is left to do, the bureau no longer lists it as valid. During the
  publicity (`publicity_ends_on` on or after `day`) the grade still stands;
- its validity ended while a rectification case runs (`validity_ended_on` set; read with `row.get`, so a
  row without that field is judged by the rest).

Every other state (graded, assessing, interview, rectifying, closed) keeps the grade valid: an assessment
or a rectification case does not suspend it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from safegrade.io.cells import as_date
from states.names import State

NOT_VALID_STATES = frozenset({State.REVOKED, State.EXCLUDED, State.EXPIRED})


def valid_grade(row: Mapping[str, Any], day: date) -> bool:
    """Whether the enterprise `row` (as it stood on `day`) holds a valid grade on `day`; see the module."""
    if row.get("state") in NOT_VALID_STATES or row.get("validity_ended_on") is not None:
        return False
    until = as_date(row.get("valid_until"))
    if until is None or until < day:
        return False
    ends = as_date(row.get("publicity_ends_on"))
    return not (row.get("state") == State.REVOCATION_PENDING and ends is not None and ends < day)
