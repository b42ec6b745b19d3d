"""The circular as one self-contained html page (templates/circular.html.j2) with an inline SVG chart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from safegrade.reports.chart import results_svg
from safegrade.reports.circular_text import CHART_TITLE, compose, result_bars
from safegrade.reports.templating import environment


def render_html(figures: Mapping[str, Any]) -> str:
    # the SVG is built by chart.results_svg, which escapes every text it writes
    svg = Markup(results_svg(result_bars(figures), list(figures["results"]), CHART_TITLE))
    return environment().get_template("circular.html.j2").render(doc=compose(figures), svg=svg)
