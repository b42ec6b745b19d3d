"""The one error hierarchy. Each boundary translates it once: the store turns database errors into
these, the CLI turns these into exit code 1 and one line on stderr, the API into HTTP statuses.

The lifecycle's own refusals (states.errors) belong to the same family: `DOMAIN_ERRORS` catches both.

An error carries its parts beside its message, so that each front door can place them its own way:
a stable `code` (snake_case), the `field` (the service parameter's name: `ends_on`, `district`), the bad
`value`, what is `allowed` (a sequence, or a text), and a `hint` (a code from `HINTS`). The message is
written in domain terms; where it names a field it writes `{field_name}`, and a hint it does not place
itself follows it after '; ' (or stands where the message writes `{hint}`). A `Vocabulary` says how a
door words both: the CLI names `ends_on` `--end` and the hint `list_enterprises` as its command; the
plain vocabulary names each field by itself and says each hint in plain words.

`str(error)` speaks the vocabulary of the front door this process serves (`speaking`), so that a
message that travels as text (a refusal in a list, a job's record, the demo's output) reads as the
door's own; a door that places the parts itself calls `render` with its vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import ClassVar

from states.errors import DefinitionError, EventNotAllowed, FieldError, GuardFailed, LifecycleError

Allowed = Sequence[str] | str | None

# hint code → what to do next, in plain words; a front door may say it its own way (the CLI: a command)
HINTS: dict[str, str] = {
    "list_enterprises": "see the list of enterprises",
    "list_campaigns": "see the list of campaigns",
    "list_findings": "see the list of findings",
    "list_reminders": "see the list of reminders",
    "add_actor": "add the actor first",
    "name_actor": "name the actor who acts",
    "verify_audit": "verify the audit trail",
    "init_database": "create it by initialising the database",
    "set_ledger_due": "a ledger due date is set when the campaign is opened",
    "amend": "import it as an amendment to record the change",
    "retry_reminders": "then retry the failed reminders",
}


@dataclass(frozen=True)
class Vocabulary:
    """How one front door names the fields and says the hints; what it leaves out is said plainly."""

    fields: Mapping[str, str | None] = dataclass_field(default_factory=dict)
    hints: Mapping[str, str] = dataclass_field(default_factory=dict)

    def field(self, name: str) -> str:
        """The door's word for a field; a field the door has no word for (None, absent) is its own name."""
        return self.fields.get(name) or name

    def hint(self, code: str) -> str:
        return self.hints.get(code) or HINTS.get(code, code)


PLAIN = Vocabulary()
_spoken: list[Vocabulary] = [PLAIN]  # process-wide on purpose: a job thread speaks as the door that started it


def spoken() -> Vocabulary:
    """The vocabulary `str()` of an error speaks in this process."""
    return _spoken[-1]


@contextmanager
def speaking(vocabulary: Vocabulary) -> Iterator[Vocabulary]:
    """Speak `vocabulary` in this process until the block ends (a front door's entry point)."""
    _spoken.append(vocabulary)
    try:
        yield vocabulary
    finally:  # this block's own entry: the last one that is this very vocabulary
        del _spoken[max(i for i, v in enumerate(_spoken) if v is vocabulary)]


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def render(message: str, names: Iterable[str], hint: str | None, vocabulary: Vocabulary) -> str:
    """`message` with each `{name}` of `names` (and `{hint}`) worded by `vocabulary`; any other brace,
    such as one inside a quoted value, stays as it is."""
    known = set(names)
    said = vocabulary.hint(hint) if hint else ""

    def word(m: re.Match[str]) -> str:
        if m[1] == "hint" and hint:
            return said
        return vocabulary.field(m[1]) if m[1] in known else m[0]

    text = _PLACEHOLDER.sub(word, message)
    if hint and "{hint}" not in message:
        text = f"{text}; {said}" if text else said
    return text


class SafegradeError(Exception):
    """Base of safegrade's own refusals. The message says what failed, the value, and what is allowed;
    the parts say the same for a program (see the module's docstring)."""

    default_code: ClassVar[str] = "error"

    def __init__(self, message: str = "", *, code: str | None = None, field: str | None = None,
                 value: object = None, allowed: Allowed = None, hint: str | None = None,
                 others: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.value = value
        self.allowed: Sequence[str] | str | None = list(allowed) if isinstance(allowed, Iterable) \
            and not isinstance(allowed, str) else allowed
        self.hint = hint
        self.fields = tuple(dict.fromkeys([*([field] if field else []), *others]))  # every field it names

    def render(self, vocabulary: Vocabulary | None = None) -> str:
        """The message in `vocabulary`'s words (by default, those this process speaks)."""
        return render(self.message, self.fields, self.hint, vocabulary or spoken())

    def __str__(self) -> str:
        return self.render()

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled (a flow's state, a worker process) with its parts, whatever the subclass's signature."""
        return _rebuild_error, (type(self), self.args, self.__dict__)


def _rebuild_error(cls: type[SafegradeError], args: tuple[object, ...], state: dict[str, object]) -> SafegradeError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(SafegradeError):
    """config.yaml or an environment override is wrong."""

    default_code = "invalid_config"


class RulesError(SafegradeError):
    """The rules directory has problems; `problems` lists each as 'file: key: what is wrong'."""

    default_code = "invalid_rules"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the rules (each listed below)")


class NotFound(SafegradeError):
    """An enterprise, actor or other record does not exist."""

    default_code = "not_found"


class Forbidden(SafegradeError):
    """The actor's role or scope does not allow the action."""

    default_code = "forbidden"


class Conflict(SafegradeError):
    """Someone else changed the record first (compare-and-set on its version failed)."""

    default_code = "conflict"


class InvalidInput(SafegradeError):
    """Bad input (a file, a row, an option); nothing was changed."""

    default_code = "invalid_input"


class Unauthenticated(SafegradeError):
    """Who is asking is not proven: no session or token, a wrong password, an expired session or token.
    The message never says which part of a sign-in was wrong."""

    default_code = "unauthenticated"


class Locked(SafegradeError):
    """Too many failed sign-ins: the account or the client address is locked until `value` (an instant)."""

    default_code = "locked"


class Problem(str):
    """One bad cell or line of an input: file, row, column ('': the line has no columns), the value
    shown, the reason, and a hint. It is its own line of text, 'file:row, column C, value 'v': reason',
    worded when it is made; a front door that places the parts (the API: a location and a message) reads
    them. A problem that is in a parameter rather than a file names it as `field` and no file."""

    file: str
    row: int
    column: str
    value: str
    reason: str
    hint: str | None
    field: str | None

    def __new__(cls, file: str, row: int, column: str, value: str, reason: str, *,
                hint: str | None = None, field: str | None = None) -> Problem:
        vocabulary = spoken()
        where = file or f"({vocabulary.field(field or '')})"
        cell = f", column {column}" if column else ""
        line = f"{where}:{row}{cell}, value {value!r}: {render(reason, (), hint, vocabulary)}"
        self = super().__new__(cls, line)
        self.file, self.row, self.column, self.value, self.reason = file, row, column, value, reason
        self.hint, self.field = hint, field
        return self

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled as the line it is, worded as when it was made, with its parts."""
        return _rebuild_problem, (str.__str__(self), self.__dict__)


def _rebuild_problem(line: str, state: dict[str, object]) -> Problem:
    problem = str.__new__(Problem, line)
    problem.__dict__.update(state)
    return problem


def in_order(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by file, row and column, as a reader reports them."""
    return sorted(problems, key=lambda p: (p.file, p.row, p.column))


class InputErrors(InvalidInput):
    """Many bad rows of one input; `problems` holds one `Problem` (or line) each: file:row, column, value,
    reason."""

    default_code = "invalid_rows"

    def __init__(self, summary: str, problems: Sequence[Problem | str], *, code: str | None = None,
                 field: str | None = None, value: object = None, hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__(f"{summary}: {len(self.problems)} problem(s); nothing was written", code=code,
                         field=field, value=value, hint=hint)


class StoreError(SafegradeError):
    """The database refused or failed in a way that is not the user's input."""

    default_code = "store_error"


class SchemaOutdated(StoreError):
    """The database schema is missing or older than this program; `safegrade init` upgrades it."""

    default_code = "schema_outdated"


DOMAIN_ERRORS: tuple[type[Exception], ...] = (SafegradeError, LifecycleError)

__all__ = [
    "DOMAIN_ERRORS",
    "HINTS",
    "PLAIN",
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
    "Problem",
    "RulesError",
    "SafegradeError",
    "SchemaOutdated",
    "StoreError",
    "Vocabulary",
    "in_order",
    "render",
    "speaking",
    "spoken",
]
