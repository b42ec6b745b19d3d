"""Set-up and inspection: init, rules check, diagram, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from safegrade.cli.app import app, emit, options, out
from safegrade.errors import RulesError
from safegrade.rules import load_rules
from safegrade.services.schema import init_database
from states.diagram import mermaid

rules_app = typer.Typer(help="The regulator's rules (rules/*.yaml).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@app.command("init")
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database schema; add the system actor that scheduled flows act as."""
    opts = options(ctx)
    done = init_database(opts.context(check_schema=False))
    if not emit(opts, done):
        before = done.schema_before or "empty"
        out.print(f"{done.database}: schema {before} → {done.schema}", markup=False)


@rules_app.command("check")
def rules_check(
    ctx: typer.Context,
    rules_dir: Path | None = typer.Option(None, "--rules-dir", help="Check this folder instead of the configured one."),
) -> None:
    """Check every rules file; print every problem with file and key; exit 1 if any."""
    opts = options(ctx)
    path = rules_dir or opts.settings().rules_path
    try:
        rules = load_rules(path)
    except RulesError as exc:
        if emit(opts, {"ok": False, "problems": exc.problems}):
            raise typer.Exit(1) from None
        raise
    summary = {"ok": True, "rules_dir": str(path), "version": rules.version,
               "states": len(rules.lifecycle.states), "events": len(rules.lifecycle.events),
               "districts": len(rules.districts), "sectors": len(rules.sectors),
               "holidays": rules.calendar.covered()}  # the years each source of the holiday schedule covers
    if not emit(opts, summary):
        out.print(f"{path}: OK (version {rules.version}): {summary['states']} states, {summary['events']} events, "
                  f"{summary['districts']} districts, {summary['sectors']} sectors", markup=False)
        for source, years in rules.calendar.covered().items():
            out.print(f"holiday schedule (节假日安排) from {source}: {_years_text(years)}", markup=False)
        out.print("other years: no schedule — deadlines counted in them are refused unless config.yaml allows "
                  "calendar.weekday_fallback (Monday–Friday)", markup=False)


def _years_text(years: list[int]) -> str:
    """2004–2024, or 2025, 2026: consecutive years as a range."""
    if not years:
        return "none"
    runs: list[list[int]] = []
    for y in years:
        if runs and runs[-1][-1] == y - 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


@app.command("diagram")
def diagram(ctx: typer.Context) -> None:
    """The lifecycle as a Mermaid state diagram, from the rules."""
    opts = options(ctx)
    print(mermaid(load_rules(opts.settings().rules_path).lifecycle), end="")


@app.command("demo")
def demo(
    ctx: typer.Context,
    workdir: Path = typer.Option(Path("var/demo"), "--workdir", help="Where the demo database and files go."),
    enterprises: int = typer.Option(100, "--enterprises", min=20, max=100_000),
    seed: int = typer.Option(2023, "--seed"),
) -> None:
    """A fresh SQLite database, a synthetic ledger, a scripted run through the lifecycle, the audit verified."""
    from safegrade.demo.run import run_demo

    opts = options(ctx)
    run_demo(opts.settings(), workdir, enterprises=enterprises, seed=seed, console=out)
