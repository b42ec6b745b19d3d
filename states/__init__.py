"""The lifecycle of a graded enterprise: a `transitions` machine built once from the rules.

Pure: nothing here reads a database, a clock, a file or Prefect. Callers hand in a snapshot of an
enterprise and an explicit `now`; the machine answers with the destination or a refusal that names
what was wrong.
"""

from states.errors import DefinitionError, EventNotAllowed, FieldError, GuardFailed, LifecycleError
from states.grade import grade
from states.machine import Lifecycle, Outcome
from states.snapshot import EnterpriseSnapshot
from states.spec import LifecycleSpec, parse_lifecycle

__all__ = [
    "DefinitionError",
    "EnterpriseSnapshot",
    "EventNotAllowed",
    "FieldError",
    "GuardFailed",
    "Lifecycle",
    "LifecycleError",
    "LifecycleSpec",
    "Outcome",
    "grade",
    "parse_lifecycle",
]
