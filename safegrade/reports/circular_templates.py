"""The Jinja2 environment of the circular's templates (safegrade/reports/templates/circular*.j2)."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from safegrade.reports.circular_text import Chart, Table


def md_cell(value: object) -> str:
    """A value as one Markdown table cell: pipes escaped, no line breaks."""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


@lru_cache(maxsize=2)
def environment(autoescape: bool) -> Environment:
    """Templates from the package (works installed or not); html escapes, md does not."""
    env = Environment(loader=PackageLoader("safegrade.reports", "templates"), autoescape=autoescape,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.tests["table"] = lambda block: isinstance(block, Table)
    env.tests["chart"] = lambda block: isinstance(block, Chart)
    env.filters["cell"] = md_cell
    return env
