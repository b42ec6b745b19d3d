"""One import direction, walked over every module's imports with `ast` (also those inside functions):

- nothing under safegrade/ imports flows/ or safegrade.cli (except safegrade.cli itself, and the
  `python -m safegrade` entry point);
- states/ imports nothing of ours;
- safegrade/reports/ imports no database (they render the services' figures; they may name the services'
  contract types under `if TYPE_CHECKING:`, which loads nothing at run time);
- safegrade/cli/, safegrade/api/ and flows/ stand on safegrade.services (and safegrade.auth, the use cases
  of accounts and sign-in) plus a short allow-list.

Each failure names the module and the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from safegrade.settings import PROJECT_ROOT

OURS = ("safegrade", "flows", "states")

# What a front door (safegrade/cli/, flows/) may import of ours besides safegrade.services.
FRONT_DOOR_ALLOWED = (
    "safegrade.auth",  # accounts, sign-in, sessions, tokens: use cases like the services'
    "safegrade.settings",
    "safegrade.errors",
    "safegrade.clock",
    "safegrade.reports",
    "safegrade.output",
)
CLI_ALSO_ALLOWED = (
    "safegrade.cli",  # its own modules
    "safegrade.scheduler",  # `scheduler run` runs the embedded scheduler, itself a client of the services
    "safegrade.demo",  # `demo` runs the scripted demo, itself a client of the services
    "safegrade.rules",  # `rules check` and `diagram` read rule files, no database
    "states",  # `diagram` draws the lifecycle; states/ is pure
    "safegrade.api",  # `web` serves the API's app
)
API_ALSO_ALLOWED = (
    "safegrade.api",  # its own modules
    "states.errors",  # the lifecycle's refusals, answered as problems
)
FLOWS_ALSO_ALLOWED = ("flows",)  # its own modules

REPORTS_FORBIDDEN = ("sqlalchemy", "sqlmodel", "safegrade.models", "safegrade.store", "safegrade.audit.trail",
                     "safegrade.services")

# `python -m safegrade` starts the CLI: an entry point, not a layer
ENTRY_POINTS = ("safegrade.__main__",)


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def is_package(name: str) -> bool:
    return (PROJECT_ROOT / Path(*name.split(".")) / "__init__.py").is_file()


def typing_only(tree: ast.Module) -> set[ast.AST]:
    """The import statements inside `if TYPE_CHECKING:` blocks: type names for the checker, never loaded."""
    found: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            found.update(n for child in node.body for n in ast.walk(child)
                         if isinstance(n, ast.Import | ast.ImportFrom))
    return found


def imports(module: str, source: str, *, with_typing: bool = True) -> Iterator[str]:
    """Every module `source` (the text of `module`) imports, relative imports resolved; `from P import x`
    also yields P.x when P is one of our packages (x may be a module). `with_typing=False` leaves out the
    imports under `if TYPE_CHECKING:`."""
    package = module if is_package(module) else module.rpartition(".")[0]
    tree = ast.parse(source)
    skip = set() if with_typing else typing_only(tree)
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            if under(base, OURS) and is_package(base):
                yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def problems(module: str, source: str) -> list[str]:
    """What `module` imports against the layering, one line each: 'module imports name: why'."""
    found = []
    loaded = set(imports(module, source, with_typing=False))
    for name in dict.fromkeys(imports(module, source)):
        why = judge(module, name, typing=name not in loaded)
        if why:
            found.append(f"{module} imports {name}: {why}")
    return found


def judge(module: str, name: str, *, typing: bool = False) -> str | None:
    if under(module, ("states",)):
        return "states/ imports nothing of ours" if under(name, ("safegrade", "flows")) else None
    upward = under(name, ("flows",)) or (under(name, ("safegrade.cli",)) and not under(module, ("safegrade.cli",)))
    if upward and under(module, ("safegrade",)) and module not in ENTRY_POINTS:
        return "nothing under safegrade/ imports flows/ or the CLI"
    if under(module, ("safegrade.reports",)) and under(name, REPORTS_FORBIDDEN) and not typing:
        return "reports/ render the services' figures and touch no database"
    if under(module, ("safegrade.cli",)):
        return front_door(name, "safegrade/cli/", CLI_ALSO_ALLOWED)
    if under(module, ("safegrade.api",)):
        return front_door(name, "safegrade/api/", API_ALSO_ALLOWED)
    if under(module, ("flows",)):
        return front_door(name, "flows/", FLOWS_ALSO_ALLOWED)
    return None


def front_door(name: str, where: str, also: tuple[str, ...]) -> str | None:
    if not under(name, OURS) or under(name, ("safegrade.services",) + FRONT_DOOR_ALLOWED + also):
        return None
    if name == "safegrade":  # `from safegrade import x`: judged as safegrade.x
        return None
    return f"{where} stands on safegrade.services and its allow-list"


def modules() -> list[tuple[str, Path]]:
    found = []
    for top in OURS:
        for path in sorted((PROJECT_ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:  # generated by alembic; they import the models by design
                continue
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


MODULES = modules()


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    assert problems(module, path.read_text(encoding="utf-8")) == []


def test_every_layer_is_walked() -> None:
    names = {m for m, _ in MODULES}
    assert {"safegrade.cli.app", "safegrade.reports.circular", "safegrade.scheduler.embedded", "flows.serve",
            "states.spec", "safegrade.services.jobs", "safegrade.demo.run"} <= names
    assert not any(".migrations." in m for m in names)


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("safegrade.scheduler.jobs", "def f():\n    from flows.deadlines import daily\n",
     ["safegrade.scheduler.jobs imports flows.deadlines: nothing under safegrade/ imports flows/ or the CLI"]),
    ("safegrade.demo.run", "import safegrade.cli.app\n",
     ["safegrade.demo.run imports safegrade.cli.app: nothing under safegrade/ imports flows/ or the CLI"]),
    ("states.machine", "from safegrade.rules import Rules\n",
     ["states.machine imports safegrade.rules: states/ imports nothing of ours"]),
    ("safegrade.reports.loop", "from safegrade.audit import trail\nimport sqlalchemy\n",
     ["safegrade.reports.loop imports safegrade.audit.trail: reports/ render the services' figures and touch no "
      "database",
      "safegrade.reports.loop imports sqlalchemy: reports/ render the services' figures and touch no database"]),
    ("safegrade.cli.records", "from safegrade.models import Enterprise\nfrom safegrade.services import ledger\n",
     ["safegrade.cli.records imports safegrade.models: safegrade/cli/ stands on safegrade.services and its "
      "allow-list"]),
    ("safegrade.scheduler.jobs", "from ..cli import app\n",
     ["safegrade.scheduler.jobs imports safegrade.cli: nothing under safegrade/ imports flows/ or the CLI",
      "safegrade.scheduler.jobs imports safegrade.cli.app: nothing under safegrade/ imports flows/ or the CLI"]),
    ("flows.deadlines", "from safegrade.store import Store\nfrom safegrade.scheduler.jobs import Job\n",
     ["flows.deadlines imports safegrade.store: flows/ stands on safegrade.services and its allow-list",
      "flows.deadlines imports safegrade.scheduler.jobs: flows/ stands on safegrade.services and its allow-list"]),
    ("safegrade.cli.deadlines", "import typer\nfrom safegrade.output import jsonable\nfrom safegrade import errors\n",
     []),
    ("safegrade.cli.serve", "def serve():\n    from flows.serve import serve\n",
     ["safegrade.cli.serve imports flows.serve: nothing under safegrade/ imports flows/ or the CLI"]),
    ("safegrade.reports.circular",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from safegrade.services.reporting.circular import C\n",
     []),
    ("safegrade.reports.circular", "from safegrade.services.reporting.circular import C\n",
     ["safegrade.reports.circular imports safegrade.services.reporting.circular: reports/ render the services' "
      "figures and touch no database"]),
], ids=["flows-from-safegrade", "cli-from-safegrade", "states", "reports-database", "cli-below-services",
        "relative-imports", "flows-below-services", "allowed",
        "flows-from-cli", "reports-name-contract-types", "reports-load-services"])
def test_the_walk_catches_what_it_looks_for(module: str, source: str, expected: list[str]) -> None:
    assert problems(module, source) == expected


def test_relative_imports_are_resolved_from_the_package() -> None:
    assert list(imports("flows.audit", "from .context import flow_context\n")) == ["flows.context"]
    assert list(imports("safegrade.cli", "from . import app\n")) == ["safegrade.cli", "safegrade.cli.app"]


# --- the layer matrix: which folder of safegrade/ may import which (README, "Design") -------------------

ROOT = "safegrade"  # settings, rules, clock, errors, models, store, output
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    ROOT: ("states", "safegrade.domain",  # the rules loader builds the scoring and deadline rules
           "safegrade.audit.chain",  # output: instants as the chain writes them
           "safegrade.scheduler.crontab", "safegrade.notify.channels"),  # settings check crontabs and channel URLs
    "safegrade.domain": (ROOT,),
    "safegrade.audit": (ROOT,),
    "safegrade.io": (ROOT, "states", "safegrade.domain"),
    "safegrade.notify": (ROOT, "safegrade.domain"),
    "safegrade.services": (ROOT, "states", "safegrade.domain", "safegrade.audit", "safegrade.io", "safegrade.notify"),
    "safegrade.auth": (ROOT, "safegrade.audit", "safegrade.services"),  # use cases that stand on the services
    "safegrade.reports": (ROOT, "safegrade.io"),
    "safegrade.scheduler": (ROOT, "safegrade.services"),
    "safegrade.api": (ROOT, "states", "safegrade.services", "safegrade.auth", "safegrade.reports"),
    "safegrade.demo": (ROOT, "states", "safegrade.domain", "safegrade.io", "safegrade.reports", "safegrade.services"),
}
FOLDERS = tuple(sorted((f for f in MAY_IMPORT if f != ROOT), key=len, reverse=True))


def folder(name: str) -> str | None:
    """The folder of safegrade/ that module `name` is in (ROOT for the top-level modules), or None."""
    if not under(name, (ROOT,)) or under(name, ("safegrade.cli",)):
        return None
    return next((f for f in FOLDERS if under(name, (f,))), ROOT)


def matrix_problems(module: str, source: str) -> list[str]:
    """Imports (loaded at run time) from one folder of safegrade/ into another that the matrix does not allow."""
    here = folder(module)
    if here is None or module in ENTRY_POINTS:
        return []
    found = []
    names = list(dict.fromkeys(imports(module, source, with_typing=False)))
    for name in names:
        if any(other.startswith(name + ".") for other in names):  # `from P import m`: judged as P.m
            continue
        there = folder(name) if under(name, (ROOT,)) else ("states" if under(name, ("states",)) else None)
        if there is None or there == here or name == ROOT:
            continue
        if not any(there == allowed or (allowed != ROOT and under(name, (allowed,))) for allowed in MAY_IMPORT[here]):
            found.append(f"{module} imports {name}: {here}/ may import only {', '.join(MAY_IMPORT[here])}")
    return found


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_each_folder_imports_only_what_the_matrix_allows(module: str, path: Path) -> None:
    assert matrix_problems(module, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("safegrade.domain.scoring", "from safegrade.services.context import Context\n",
     ["safegrade.domain.scoring imports safegrade.services.context: safegrade.domain/ may import only safegrade"]),
    ("safegrade.io.ledger.read", "from safegrade.audit import trail\n",
     ["safegrade.io.ledger.read imports safegrade.audit.trail: safegrade.io/ may import only safegrade, states, "
      "safegrade.domain"]),
    ("safegrade.settings", "from safegrade.notify.wording import reminder_text\n",
     ["safegrade.settings imports safegrade.notify.wording: safegrade/ may import only states, safegrade.domain, "
      "safegrade.audit.chain, safegrade.scheduler.crontab, safegrade.notify.channels"]),
    ("safegrade.services.sweep", "from safegrade.notify import channels\nfrom safegrade.io.cells import as_date\n", []),
], ids=["domain-from-services", "io-from-audit", "root-from-notify", "services-below"])
def test_the_matrix_catches_what_it_looks_for(module: str, source: str, expected: list[str]) -> None:
    assert matrix_problems(module, source) == expected
