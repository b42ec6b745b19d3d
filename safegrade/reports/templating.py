"""The one Jinja2 environment of every report's templates (safegrade/reports/templates/*.j2): the
circular's html and Markdown, the reviewer's closed-loop and district pages.

Templates come from the package (so it works installed or not); `*.html.j2` are html-escaped, the
others (Markdown) are not; a missing name is an error, never an empty string. Filters: `when` (an
instant as local text), `short` (a digest's first characters), `blank` (— for nothing), `cell` (a
Markdown table cell); tests: `table` and `chart` (the circular's blocks).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from safegrade.io.xlsx import local_text
from safegrade.reports.circular_text import Chart, Table


def md_cell(value: object) -> str:
    """A value as one Markdown table cell: pipes escaped, no line breaks."""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def short(digest: str | None, n: int = 12) -> str:
    return f"{digest[:n]}…" if digest else ""


def blank(value: Any) -> Any:
    return "—" if value is None or value == "" else value


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("safegrade.reports", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(when=local_text, short=short, blank=blank, cell=md_cell)
    env.tests["table"] = lambda block: isinstance(block, Table)
    env.tests["chart"] = lambda block: isinstance(block, Chart)
    return env
