"""The Typer application: global options, and the command groups, each imported on first use.

`safegrade --help` lists every command from `COMMANDS` (name → module → help) without importing one; a
command's module (and with it the services, SQLAlchemy, openpyxl, …) is imported only when that command
runs or shows its own help. Each module registers its commands on `app` as it is imported, and the lazy
group builds the click command from that registration (the click "lazy loading subcommands" pattern).
tests/safegrade/cli/test_startup.py checks that the table's help is each command's own.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
from rich.console import Console
from typer import main as typer_main
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

from safegrade.errors import InvalidInput

if TYPE_CHECKING:
    from typer import _click

    from safegrade.services.context import Context
    from safegrade.settings import Settings


class Lazy(NamedTuple):
    module: str  # imported on first use; it registers the command on `app`
    help: str    # what `safegrade --help` shows: the first paragraph of the command's own help


# In the order `safegrade --help` lists them (the order of registration before they were lazy).
COMMANDS: dict[str, Lazy] = {
    "fire": Lazy("safegrade.cli.records",
                 "Fire a lifecycle event on one enterprise (role, scope, guards; audited)."),
    "serve": Lazy("safegrade.cli.serve",
                  "Register daily, reminder-retry and nightly-audit with their cron schedules on the Prefect server "
                  "at\nPREFECT_API_URL and run their flow runs (stop with Ctrl-C). Use PostgreSQL for safegrade's "
                  "database."),
    "web": Lazy("safegrade.cli.web", "Serve the HTTP API with uvicorn (启动 HTTP 接口服务)."),
    "init": Lazy("safegrade.cli.system",
                 "Create or upgrade the database schema; add the system actor that scheduled flows act as."),
    "diagram": Lazy("safegrade.cli.system", "The lifecycle as a Mermaid state diagram, from the rules."),
    "demo": Lazy("safegrade.cli.system", "A fresh SQLite database, a synthetic ledger, a scripted run through the "
                                         "lifecycle, the audit verified."),
    "assess": Lazy("safegrade.cli.assess", "Scored assessments (评估记录)."),
    "audit": Lazy("safegrade.cli.auditing", "The hash-chained audit trail."),
    "campaign": Lazy("safegrade.cli.campaign", "Assessment campaigns (运行质量评估)."),
    "deadlines": Lazy("safegrade.cli.deadlines", "Deadlines, reminders and escalation (期限、提醒、逾期升级)."),
    "finding": Lazy("safegrade.cli.finding", "Findings and their rectification loop (整改闭环)."),
    "ledger": Lazy("safegrade.cli.records", "The districts' 台账 (ledgers of graded enterprises)."),
    "enterprise": Lazy("safegrade.cli.records", "Graded enterprises (定级企业)."),
    "actor": Lazy("safegrade.cli.records", "Who may act, in which role and scope."),
    "reminders": Lazy("safegrade.cli.reminders", "The reminder outbox: delivery through the notification channels."),
    "report": Lazy("safegrade.cli.report", "Reports: the circular (通报), closed-loop evidence, district oversight."),
    "scheduler": Lazy("safegrade.cli.scheduler", "The embedded scheduler: deadline sweeps, reminders, the nightly "
                                                 "audit."),
    "rules": Lazy("safegrade.cli.system", "The regulator's rules (rules/*.yaml)."),
}

_LISTING = "safegrade.listing"  # set in ctx.meta while the root's help lists the commands


class LazyGroup(TyperGroup):
    """The root group: its commands come from `COMMANDS`, each module imported when its command is used."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        lazy = COMMANDS.get(cmd_name)
        if lazy is not None and ctx.meta.get(_LISTING):  # listing only: the table's help, nothing imported
            return TyperCommand(cmd_name, help=lazy.help)
        if cmd_name not in self.commands and lazy is not None:
            importlib.import_module(lazy.module)
            self.commands[cmd_name] = registered(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_help(ctx, formatter)
        finally:
            del ctx.meta[_LISTING]

    def resolve_command(self, ctx: _click.Context, args: list[str]) -> tuple[str | None, _click.Command | None,
                                                                              list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:  # "Did you mean …?" among every command, imported or not
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"
            raise


def registered(name: str) -> _click.Command:
    """The click command that a command module registered on `app` under `name`."""
    short, markup = app.pretty_exceptions_short, app.rich_markup_mode
    for group in app.registered_groups:
        if group.name == name:
            return typer_main.get_group_from_info(group, pretty_exceptions_short=short, rich_markup_mode=markup,
                                                  suggest_commands=True)
    for command in app.registered_commands:
        if command.name == name:
            return typer_main.get_command_from_info(command, pretty_exceptions_short=short, rich_markup_mode=markup)
    raise LookupError(f"{COMMANDS[name].module} registers no command {name!r}")


app = typer.Typer(
    cls=LazyGroup,
    help="safegrade — 安全生产标准化定级企业 评估·约谈·整改闭环·公告撤销 workflow engine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    suggest_commands=False,  # LazyGroup suggests, among the commands not yet imported too
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
            from safegrade.settings import load_settings

            self._settings = load_settings(self.config, database_url=self.db)
        return self._settings

    def as_of_instant(self) -> datetime | None:
        from safegrade.clock import parse_instant

        return parse_instant(self.as_of, self.settings().zone) if self.as_of else None

    def context(self, *, check_schema: bool = True) -> Context:
        from safegrade.services.context import open_context

        return open_context(self.settings(), as_of=self.as_of_instant(), actor=self.actor, source="cli",
                            check_schema=check_schema, os_user=os_user())


def os_user() -> str:
    """Who runs the console, as the operating system knows them; recorded beside `--actor` in every
    audit event the CLI writes (the console's `--actor` is a declaration, the OS account is not)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers): the numeric uid
        import os

        return f"uid:{os.getuid()}"


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
        from safegrade.output import jsonable

        print(json.dumps(jsonable(value), ensure_ascii=False, indent=2))
    return opts.json


@app.callback()
def _global(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="config.yaml to use (default: ./config.yaml)."),
    db: str | None = typer.Option(None, "--db", help="Database URL, overriding config and SAFEGRADE_DB_URL."),
    as_of: str | None = typer.Option(None, "--as-of", help="Simulated now: YYYY-MM-DD or an ISO date-time."),
    actor: str | None = typer.Option(
        None, "--actor", envvar="SAFEGRADE_ACTOR",
        help="Who is acting (操作人). Reads show only what the actor's role and scope may read; without --actor the "
             "operator's console reads everything (README: Who reads what)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    ctx.obj = Options(config, db, as_of, actor, json_out)


__all__ = ["COMMANDS", "Lazy", "LazyGroup", "Options", "app", "emit", "err", "options", "out", "parse_date"]
