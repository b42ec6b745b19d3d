"""The grade beside the state: valid, expired, revoked or excluded.

A grade's validity can end whatever the rectification case is doing, so the grade is not one of the
lifecycle's states but read beside it: an enterprise 整改中 may hold an expired grade and still have its
findings tracked and escalated. Pure: the state, the recorded end of the validity (`validity_ended_on`,
set by `expire`), the grade's `valid_until` and the day asked about decide it. The rules label each grade
(lifecycle.yaml `grades:`).
"""

from __future__ import annotations

from datetime import date

from states.names import Grade, State


def grade(state: str, validity_ended_on: date | None, valid_until: date | None, day: date) -> Grade:
    """The grade of an enterprise in `state` on `day`.

    注销 and 撤销 first (whatever the dates say); then 有效期届满 once the validity's end is recorded, the
    enterprise is in the `expired` state, or `day` is past `valid_until` (the sweep records the expiry the
    next morning; a read does not wait for it); else 有效."""
    if state == State.EXCLUDED:
        return Grade.EXCLUDED
    if state == State.REVOKED:
        return Grade.REVOKED
    if state == State.EXPIRED or validity_ended_on is not None or (valid_until is not None and day > valid_until):
        return Grade.EXPIRED
    return Grade.VALID
