"""The circular as Markdown (templates/circular.md.j2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safegrade.reports.circular_templates import environment
from safegrade.reports.circular_text import compose, result_bars


def render_md(figures: Mapping[str, Any]) -> str:
    return environment(False).get_template("circular.md.j2").render(
        doc=compose(figures), results=list(figures["results"]), bars=result_bars(figures))
