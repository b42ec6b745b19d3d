"""Report commands: the circular (通报), the reviewer's closed-loop report, district oversight."""

from __future__ import annotations

import typer

from safegrade.cli.app import app

report_app = typer.Typer(help="Reports: the circular (通报), closed-loop evidence, district oversight.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")

from safegrade.cli import report_circular, report_review  # noqa: E402,F401  (they register their commands)
