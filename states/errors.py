"""Refusals of the lifecycle. safegrade.errors places them in the application's one hierarchy."""

from __future__ import annotations

from collections.abc import Sequence


class LifecycleError(Exception):
    """Base of every refusal raised by the lifecycle."""


class DefinitionError(LifecycleError):
    """The lifecycle rules are inconsistent; `problems` lists each one as 'key: what is wrong'."""

    def __init__(self, problems: Sequence[str], source: str = "lifecycle.yaml") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: {len(self.problems)} problem(s): " + "; ".join(self.problems))


class EventNotAllowed(LifecycleError):
    """The event does not exist, or cannot be fired from the current state."""

    def __init__(self, event: str, state: str, allowed: Sequence[str], known: bool = True,
                 state_known: bool = True) -> None:
        self.event, self.state, self.allowed = event, state, list(allowed)
        if not state_known:
            super().__init__(f"event '{event}': the enterprise is in state '{state}', which the rules do not know; "
                             "fix the rules (lifecycle.yaml) or the record")
            return
        what = f"event '{event}' is not allowed in state '{state}'" if known else f"unknown event '{event}'"
        super().__init__(f"{what}; allowed here: {', '.join(self.allowed) or 'none (final state)'}")


class GuardFailed(LifecycleError):
    """Every transition of the event was refused by a guard; `failures` holds (guard, message)."""

    def __init__(self, event: str, state: str, failures: Sequence[tuple[str, str]]) -> None:
        self.event, self.state, self.failures = event, state, list(failures)
        detail = "; ".join(f"{name}: {message}" for name, message in self.failures)
        super().__init__(f"event '{event}' refused in state '{state}': {detail}")


class FieldError(LifecycleError):
    """An event's data is missing a required field, has an unknown one, or a bad value."""

    def __init__(self, event: str, field: str, problem: str) -> None:
        self.event, self.field, self.problem = event, field, problem
        super().__init__(f"event '{event}', field '{field}': {problem}")
