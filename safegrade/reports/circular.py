"""The circular (通报) in each format, from the figures of safegrade.services.reporting.circular.

One gathering, several renderers: json prints the figures themselves; md, html and docx lay out the
same text (circular_text.compose). Pure: figures in, bytes out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from safegrade.errors import InvalidInput
from safegrade.output import jsonable

if TYPE_CHECKING:  # the figures' contract: only its type (reports/ stays free of the database)
    from safegrade.services.reporting.circular import CircularFigures

FORMATS = ("docx", "html", "md", "json")


def render_json(figures: CircularFigures) -> str:
    return json.dumps(jsonable(figures), ensure_ascii=False, indent=2) + "\n"


def _renderer(fmt: str) -> Callable[[CircularFigures], str | bytes]:
    # imported on demand: docx and matplotlib take a while to import and md/json do not need them
    if fmt == "docx":
        from safegrade.reports.circular_docx import render_docx
        return render_docx
    if fmt == "html":
        from safegrade.reports.circular_html import render_html
        return render_html
    if fmt == "md":
        from safegrade.reports.circular_md import render_md
        return render_md
    return render_json


def check_format(fmt: str) -> str:
    """The format, normalised; InvalidInput naming the formats for any other."""
    found = fmt.strip().lower()
    if found not in FORMATS:
        raise InvalidInput(f"--format: {fmt!r} is not a circular format; choose one of {', '.join(FORMATS)}")
    return found


def render(figures: CircularFigures, fmt: str) -> bytes:
    """The circular in `fmt` (one of FORMATS) as bytes (text formats in UTF-8)."""
    out = _renderer(check_format(fmt))(figures)
    return out.encode("utf-8") if isinstance(out, str) else out
