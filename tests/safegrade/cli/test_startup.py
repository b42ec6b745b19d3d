"""The command starts fast: `safegrade --help` lists every command from the table in safegrade/cli/app.py
without importing one, and a command imports only its own module."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest

from safegrade.cli import app as cli_app
from safegrade.cli import main
from safegrade.settings import PROJECT_ROOT

HEAVY = ("sqlalchemy", "sqlmodel", "pydantic_settings", "alembic", "prefect", "openpyxl", "matplotlib", "jinja2",
         "docx", "apprise")


def _run_in_fresh_python(args: list[str]) -> dict[str, object]:
    """`safegrade.cli.main(args)` in a new interpreter: its exit code, its output, and what it imported."""
    script = ("import json, sys\n"
              "from safegrade.cli import main\n"
              f"code = main({args!r})\n"
              "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "DO_NOT_TRACK": "1",
                               "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}, timeout=120, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return {"code": report["code"], "out": done.stdout, "err": done.stderr, "modules": set(report["modules"])}


def _heavy(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules} & set(HEAVY)


def test_help_lists_every_command_without_importing_them() -> None:
    ran = _run_in_fresh_python(["--help"])
    assert ran["code"] == 0
    assert _heavy(ran["modules"]) == set()  # type: ignore[arg-type]
    command_modules = {lazy.module for lazy in cli_app.COMMANDS.values()}
    assert command_modules & ran["modules"] == set()  # type: ignore[operator]
    rows = [line.strip("│ ").split(None, 1) for line in str(ran["out"]).splitlines() if line.startswith("│ ")]
    listed = {row[0]: row[1].strip(" │") for row in rows if len(row) == 2 and row[0] in cli_app.COMMANDS}
    assert list(listed) == list(cli_app.COMMANDS)  # every command, in the table's order
    for name, lazy in cli_app.COMMANDS.items():  # each beside (the first line of) its help
        assert listed[name] == lazy.help.split("\n")[0], name


def test_a_group_imports_its_own_module_and_not_the_others() -> None:
    ran = _run_in_fresh_python(["enterprise", "--help"])
    assert ran["code"] == 0
    assert "show" in str(ran["out"])
    assert "list" in str(ran["out"])
    modules = ran["modules"]
    assert "safegrade.cli.records" in modules  # type: ignore[operator]
    others = {lazy.module for lazy in cli_app.COMMANDS.values()} - {"safegrade.cli.records"}
    assert others & modules == set()  # type: ignore[operator]
    assert _heavy(modules) & {"prefect", "openpyxl", "matplotlib", "jinja2", "docx", "apprise"} == set()  # type: ignore[arg-type]


def test_the_tables_help_is_each_commands_own_help() -> None:
    """The table cannot drift: each entry's help is the first paragraph of the command's own help."""
    for name, lazy in cli_app.COMMANDS.items():
        importlib.import_module(lazy.module)
        command = cli_app.registered(name)
        own = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert lazy.help == own, name


def test_every_registered_command_is_in_the_table() -> None:
    for lazy in cli_app.COMMANDS.values():
        importlib.import_module(lazy.module)
    registered = [g.name for g in cli_app.app.registered_groups] + [c.name for c in cli_app.app.registered_commands]
    assert sorted(registered) == sorted(cli_app.COMMANDS)
    defined_in = {c.name: c.callback.__module__ for c in cli_app.app.registered_commands if c.callback}
    defined_in |= {g.name: g.typer_instance.registered_commands[0].callback.__module__
                   for g in cli_app.app.registered_groups if g.typer_instance and g.typer_instance.registered_commands
                   and g.typer_instance.registered_commands[0].callback}
    for name, lazy in cli_app.COMMANDS.items():  # and each in the module the table names
        assert defined_in[name].startswith(lazy.module), name


def test_an_unknown_command_is_matched_among_the_commands_not_yet_imported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["enterprse"]) == 2
    err = capsys.readouterr().err
    assert "No such command 'enterprse'" in err
    assert "Did you mean 'enterprise'?" in err


def test_global_options_reach_a_lazily_loaded_command(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    code, out, _ = cli("--json", "--as-of", "2023-06-01", "rules", "check")
    assert code == 0
    assert json.loads(out)["ok"] is True
