"""Refusals of the lifecycle. safegrade.errors places them in the application's one hierarchy.

Like safegrade's own errors, each carries its parts beside the message: a stable `code`, the `field`
(`event`; for a FieldError, the key of the event's data), the bad `value`, what is `allowed` and a `hint`.
"""

from __future__ import annotations

from collections.abc import Sequence


class LifecycleError(Exception):
    """Base of every refusal raised by the lifecycle."""

    code: str = "lifecycle_error"
    field: str | None = None
    value: object = None
    allowed: Sequence[str] | str | None = None
    hint: str | None = None


class DefinitionError(LifecycleError):
    """The lifecycle rules are inconsistent; `problems` lists each one as 'key: what is wrong'."""

    code = "invalid_lifecycle"

    def __init__(self, problems: Sequence[str], source: str = "lifecycle.yaml") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: {len(self.problems)} problem(s): " + "; ".join(self.problems))


class EventNotAllowed(LifecycleError):
    """The event does not exist, or cannot be fired from the current state."""

    def __init__(self, event: str, state: str, allowed: Sequence[str], known: bool = True,
                 state_known: bool = True) -> None:
        self.event, self.state, self.allowed = event, state, list(allowed)
        self.field, self.value = "event", event
        if not state_known:
            self.code = "unknown_state"
            super().__init__(f"event '{event}': the enterprise is in state '{state}', which the rules do not know; "
                             "fix the rules (lifecycle.yaml) or the record")
            return
        self.code = "event_not_allowed" if known else "unknown_event"
        what = f"event '{event}' is not allowed in state '{state}'" if known else f"unknown event '{event}'"
        super().__init__(f"{what}; allowed here: {', '.join(self.allowed) or 'none (final state)'}")


class GuardFailed(LifecycleError):
    """Every transition of the event was refused by a guard; `failures` holds (guard, message)."""

    code = "guard_failed"

    def __init__(self, event: str, state: str, failures: Sequence[tuple[str, str]]) -> None:
        self.event, self.state, self.failures = event, state, list(failures)
        self.field, self.value = "event", event
        detail = "; ".join(f"{name}: {message}" for name, message in self.failures)
        super().__init__(f"event '{event}' refused in state '{state}': {detail}")


class FieldError(LifecycleError):
    """An event's data is missing a required field, has an unknown one, or a bad value.

    `field` is the key in the event's data; `code` says which: `missing_field`, `unknown_field` or
    `invalid_value` (the default)."""

    def __init__(self, event: str, field: str, problem: str, *, code: str = "invalid_value", value: object = None,
                 allowed: Sequence[str] | str | None = None) -> None:
        self.event, self.field, self.problem = event, field, problem
        self.code, self.value = code, value
        self.allowed = list(allowed) if allowed is not None and not isinstance(allowed, str) else allowed
        super().__init__(f"event '{event}', field '{field}': {problem}")
