"""What the reviewer's reports (closed loop, district oversight) share: their html pages rendered in the
one Jinja2 environment (safegrade.reports.templating), the .xlsx writer (safegrade.io.xlsx), and where a
report goes by default.

The html pages are self-contained (styles inline, no script, no external asset) and print on A4
landscape. The workbooks are written by safegrade.io.xlsx, the one .xlsx writer.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from safegrade.audit.trail import jsonable
from safegrade.errors import InvalidInput
from safegrade.io.xlsx import Sheet, write_workbook
from safegrade.reports.templating import environment

FORMATS = ("html", "xlsx", "json")
REPORTS_DIR = Path("var/reports")


def render(template: str, **values: Any) -> str:
    """A page of the reviewer's reports; like every page before the one environment kept trailing
    newlines, it ends at its last tag."""
    return environment().get_template(template).render(**values).removesuffix("\n")


def choose_format(out: Path | None, fmt: str | None) -> str:
    """The format: --format if given (it must agree with the file's suffix), else the suffix, else html."""
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    if fmt is not None and fmt not in FORMATS:
        raise InvalidInput(f"--format: {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt is not None and suffix and suffix != fmt:
        raise InvalidInput(f"--out {out} ends in .{suffix} but --format is {fmt}; make them agree")
    if fmt is None and suffix and suffix not in FORMATS:
        raise InvalidInput(f"--out {out}: cannot tell the format from .{suffix}; use .html, .xlsx or .json, "
                           "or give --format")
    return fmt or suffix or "html"


def default_path(prefix: str, name: str, as_of: date, fmt: str) -> Path:
    """var/reports/<prefix>-<name>-<as of>.<format>, under the working directory."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return REPORTS_DIR / f"{prefix}-{safe}-{as_of.isoformat()}.{fmt}"


def target(out: Path) -> Path:
    """The output file's folder must exist (var/reports is made when it is the default)."""
    if out.parent == REPORTS_DIR or REPORTS_DIR in out.parents:
        out.parent.mkdir(parents=True, exist_ok=True)
    if not out.parent.is_dir():
        raise InvalidInput(f"--out {out}: folder {out.parent} does not exist")
    return out


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


__all__ = ["FORMATS", "REPORTS_DIR", "Sheet", "choose_format", "default_path", "environment", "render",
           "target", "write_json", "write_text", "write_workbook"]
