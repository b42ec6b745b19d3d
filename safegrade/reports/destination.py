"""Where a report goes: its format, its default path and folder, and writing it. One helper for the
report commands (`report circular`, `report loop`, `report districts`) and the demo.

The reviewer's reports (closed loop, district oversight) are html (default), xlsx or json, chosen by
--format or the suffix of --out, and go by default to var/reports/<prefix>-<name>-<as of>.<format>
under the working directory. The circular (通报) is named <campaign>-通报.<format>, by default in
var/reports under the config file's folder. The default folder is made; the folder of a file named by
--out must exist.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from safegrade.errors import InvalidInput
from safegrade.output import require_folder

FORMATS = ("html", "xlsx", "json")  # the reviewer's reports; the circular's are safegrade.reports.circular.FORMATS
REPORTS_DIR = Path("var/reports")  # under the config file's folder, like the database and the evidence
TO_STDOUT = ("md", "json")  # without --out these circulars are printed; docx and html are written to REPORTS_DIR


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


def given(out: Path | None) -> Path | None:
    """--out as given, refused before any work when its folder does not exist (never made: see target)."""
    return None if out is None else require_folder(out, "out")


def target(out: Path | None, default: Path) -> Path:
    """Where the file goes: --out, whose folder must exist (a mistyped folder is refused with the path, as
    `audit export` and `ledger export` refuse theirs), else `default`, whose folder (var/reports) is made."""
    if out is not None:
        return require_folder(out, "out")
    default.parent.mkdir(parents=True, exist_ok=True)
    return default


def circular_name(campaign: str, fmt: str) -> str:
    """<campaign>-通报.<ext>, the campaign's name made safe as a file name."""
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", campaign.strip()).strip("._") or "campaign"
    return f"{safe}-通报.{fmt}"


def circular_path(base_dir: Path, campaign: str, fmt: str) -> Path:
    """var/reports/<campaign>-通报.<ext> under `base_dir` (the config file's folder)."""
    return base_dir / REPORTS_DIR / circular_name(campaign, fmt)


def save_report(path: Path, data: bytes) -> None:
    """Write a report's bytes to `path` (its folder exists: see target); InvalidInput naming --out when it
    cannot."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"--out: cannot write {path}: {exc.strerror or exc}") from exc
