"""The one error hierarchy. Each boundary translates it once: the store turns database errors into
these, the CLI turns these into exit code 1 and one line on stderr, the API into HTTP statuses.

The lifecycle's own refusals (states.errors) belong to the same family: `DOMAIN_ERRORS` catches both.
"""

from __future__ import annotations

from collections.abc import Sequence

from states.errors import DefinitionError, EventNotAllowed, FieldError, GuardFailed, LifecycleError


class SafegradeError(Exception):
    """Base of safegrade's own refusals. The message says what failed, the value, and what is allowed."""


class ConfigError(SafegradeError):
    """config.yaml or an environment override is wrong."""


class RulesError(SafegradeError):
    """The rules directory has problems; `problems` lists each as 'file: key: what is wrong'."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the rules (each listed below)")


class NotFound(SafegradeError):
    """An enterprise, actor or other record does not exist."""


class Forbidden(SafegradeError):
    """The actor's role or scope does not allow the action."""


class Conflict(SafegradeError):
    """Someone else changed the record first (compare-and-set on its version failed)."""


class InvalidInput(SafegradeError):
    """Bad input (a file, a row, an option); nothing was changed."""


class InputErrors(InvalidInput):
    """Many bad rows of one input; `problems` holds one line each: file:row, column, value, reason."""

    def __init__(self, summary: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{summary}: {len(self.problems)} problem(s); nothing was written")


class StoreError(SafegradeError):
    """The database refused or failed in a way that is not the user's input."""


class SchemaOutdated(StoreError):
    """The database schema is missing or older than this program; `safegrade init` upgrades it."""


DOMAIN_ERRORS: tuple[type[Exception], ...] = (SafegradeError, LifecycleError)

__all__ = [
    "DOMAIN_ERRORS",
    "ConfigError",
    "Conflict",
    "DefinitionError",
    "EventNotAllowed",
    "FieldError",
    "Forbidden",
    "GuardFailed",
    "InputErrors",
    "InvalidInput",
    "LifecycleError",
    "NotFound",
    "RulesError",
    "SafegradeError",
    "SchemaOutdated",
    "StoreError",
]
