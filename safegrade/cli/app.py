"""The Typer application: global options, and the command groups from their modules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from safegrade.clock import parse_instant
from safegrade.errors import InvalidInput
from safegrade.output import jsonable
from safegrade.services.context import Context, open_context
from safegrade.settings import Settings, load_settings

app = typer.Typer(
    help="safegrade — 安全生产标准化定级企业 评估·约谈·整改闭环·公告撤销 workflow engine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
for _console in (out, err):
    if not _console.is_terminal:  # piped or captured: do not squeeze Chinese tables into 80 columns
        _console.width = 200


@dataclass
class Options:
    config: Path | None
    db: str | None
    as_of: str | None
    actor: str | None
    json: bool
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config, database_url=self.db)
        return self._settings

    def as_of_instant(self) -> datetime | None:
        return parse_instant(self.as_of, self.settings().zone) if self.as_of else None

    def context(self, *, check_schema: bool = True) -> Context:
        return open_context(self.settings(), as_of=self.as_of_instant(), actor=self.actor, source="cli",
                            check_schema=check_schema)


def options(ctx: typer.Context) -> Options:
    found = ctx.find_root().obj
    assert isinstance(found, Options)
    return found


def parse_date(text: str, option: str) -> date:
    """A day given as an option (YYYY-MM-DD), or the error that names the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option}: {text!r} is not a date; use YYYY-MM-DD") from None


def emit(opts: Options, value: Any) -> bool:
    """Print `value` as JSON when --json was given; True if it was printed."""
    if opts.json:
        print(json.dumps(jsonable(value), ensure_ascii=False, indent=2))
    return opts.json


@app.callback()
def _global(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="config.yaml to use (default: ./config.yaml)."),
    db: str | None = typer.Option(None, "--db", help="Database URL, overriding config and SAFEGRADE_DB_URL."),
    as_of: str | None = typer.Option(None, "--as-of", help="Simulated now: YYYY-MM-DD or an ISO date-time."),
    actor: str | None = typer.Option(None, "--actor", envvar="SAFEGRADE_ACTOR", help="Who is acting."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    ctx.obj = Options(config, db, as_of, actor, json_out)


# the command modules register their commands on `app`
from safegrade.cli import (  # noqa: E402
    assess,
    auditing,
    campaign,
    deadlines,
    finding,
    records,
    reminders,
    report,
    scheduler,
    serve,
    system,
)

__all__ = [
    "app",
    "assess",
    "auditing",
    "campaign",
    "deadlines",
    "finding",
    "records",
    "reminders",
    "report",
    "scheduler",
    "serve",
    "system",
]
