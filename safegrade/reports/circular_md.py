"""The circular as Markdown (templates/circular.md.j2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safegrade.reports.circular_text import compose, result_bars
from safegrade.reports.templating import environment


def render_md(figures: Mapping[str, Any]) -> str:
    return environment().get_template("circular.md.j2").render(
        doc=compose(figures), results=list(figures["results"]), bars=result_bars(figures))
