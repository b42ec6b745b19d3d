"""The circular as one self-contained html page (templates/circular.html.j2) with an inline SVG chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from safegrade.reports.chart import results_svg
from safegrade.reports.circular_text import CHART_TITLE, compose, result_bars
from safegrade.reports.templating import environment

if TYPE_CHECKING:  # the figures' contract: only its type (reports/ stays free of the database)
    from safegrade.services.reporting.circular import CircularFigures


def render_html(figures: CircularFigures) -> str:
    # the SVG is built by chart.results_svg, which escapes every text it writes
    svg = Markup(results_svg(result_bars(figures), list(figures.results), CHART_TITLE))
    return environment().get_template("circular.html.j2").render(doc=compose(figures), svg=svg)
