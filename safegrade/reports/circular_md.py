"""The circular as Markdown (templates/circular.md.j2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safegrade.reports.circular_text import compose, result_bars
from safegrade.reports.templating import environment

if TYPE_CHECKING:  # the figures' contract: only its type (reports/ stays free of the database)
    from safegrade.services.reporting.circular import CircularFigures


def render_md(figures: CircularFigures) -> str:
    return environment().get_template("circular.md.j2").render(
        doc=compose(figures), results=list(figures.results), bars=result_bars(figures))
