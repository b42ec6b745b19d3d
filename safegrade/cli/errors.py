"""The CLI's edge for errors: the services name fields and hints; here they become the command line's
options and commands, and an error becomes the lines it prints on stderr.

Kept free of Typer and the services, so that `main` can load it before any command is imported.
"""

from __future__ import annotations

from safegrade.errors import InputErrors, RulesError, SafegradeError, Vocabulary

# service field → how the command line gives it: an option, or the metavar of an argument
OPTIONS: dict[str, str | None] = {
    "actor": "--actor",
    "after": "--after",
    "all": "--all",
    "amend": "--amend",
    "as_of": "--as-of",
    "campaign": "--campaign",
    "check_overrides": "--accept-check",
    "codes_file": "--codes",
    "config": "--config",
    "credit_code": "CODE",
    "data": "--data",
    "database_url": "--db",
    "district": "--district",
    "end": "--to",
    "email": "--email",
    "ends_on": "--end",
    "enterprise_code": "--enterprise",
    "event": "EVENT",
    "evidence": "--evidence",
    "expected_version": "--expect-version",
    "expires_in": "--expires",
    "flag": "--flag",
    "finding_id": "ID",
    "im_user": "--im",
    "kind": "--kind",
    "label": "--label",
    "ledger_due_on": "--ledger-due",
    "limit": "--limit",
    "month": "--month",
    "name": "NAME",
    "out": "--out",
    "path": "FILE",
    "phone": "--phone",
    "q": "--search",
    "paths": "FILE",
    "reason": "--reason",
    "reminder_id": "ID",
    "sha256": None,  # an evidence file by its SHA-256: the API's download, no command
    "role": "--role",
    "start": "--from",
    "starts_on": "--start",
    "state": "--state",
    "status": "--status",
    "token_id": "ID",
    "year": "YEAR",
}

# hint → what the command line tells the user to run
COMMANDS: dict[str, str] = {
    "list_enterprises": "see `safegrade enterprise list`",
    "list_campaigns": "see `safegrade campaign list`",
    "list_findings": "see `safegrade finding list`",
    "list_reminders": "see `safegrade reminders list`",
    "add_actor": "add one with `safegrade actor add`",
    "name_actor": "pass --actor NAME or set SAFEGRADE_ACTOR (see `safegrade actor list`)",
    "verify_audit": "run `safegrade audit verify`",
    "init_database": "create it with `safegrade init`",
    "set_ledger_due": "campaign open --ledger-due",
    "amend": "import with --amend to record the change",
    "retry_reminders": "then `safegrade reminders retry`",
}

CLI = Vocabulary(OPTIONS, COMMANDS)


def option(field: str) -> str | None:
    """The option (or argument) that gives `field` on the command line; None if the CLI has none."""
    return OPTIONS.get(field)


def error_lines(exc: BaseException) -> list[str]:
    """What `safegrade` prints on stderr for a refusal: one line, then each listed problem indented."""
    message = exc.render(CLI) if isinstance(exc, SafegradeError) else str(exc)
    lines = [f"safegrade: error: {message}"]
    if isinstance(exc, InputErrors | RulesError):
        lines.extend(f"  {problem}" for problem in exc.problems)
    return lines
