"""What the reviewer's reports (closed loop, district oversight) share: their html pages rendered in the
one Jinja2 environment (safegrade.reports.templating), the .xlsx writer (safegrade.io.xlsx), and writing a
file whole. Where a report goes (format, default path, folder) is safegrade.reports.destination.

The html pages are self-contained (styles inline, no script, no external asset) and print on A4
landscape. The workbooks are written by safegrade.io.xlsx, the one .xlsx writer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safegrade.io.xlsx import Sheet, write_workbook
from safegrade.output import jsonable
from safegrade.reports.templating import environment


def render(template: str, **values: Any) -> str:
    """A page of the reviewer's reports; like every page before the one environment kept trailing
    newlines, it ends at its last tag."""
    return environment().get_template(template).render(**values).removesuffix("\n")


def write_text(path: Path, text: str) -> None:
    """Replace `path` only once the whole text is written."""
    partial = path.with_name(f".{path.name}.part")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_json(path: Path, report: Any) -> None:
    write_text(path, json.dumps(jsonable(report), ensure_ascii=False, indent=2) + "\n")


__all__ = ["Sheet", "environment", "render", "write_json", "write_text", "write_workbook"]
