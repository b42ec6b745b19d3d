"""What every writer of output shares, and nothing else: values made JSON-ready, a file written only into a
folder that exists, and saved whole or not at all. Neutral ground: no database, no services, so the
services, the report renderers and the CLI can all stand on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from safegrade.audit.chain import utc_text
from safegrade.errors import InvalidInput


def field_key(name: str) -> str:
    """A contract's field name as its json key: a trailing underscore, which only escapes a Python keyword
    (`from_`), is dropped — the field declares the same key to pydantic as its alias."""
    return name[:-1] if name.endswith("_") else name


def jsonable(value: Any) -> Any:
    """Plain JSON data: instants as UTC text, days as ISO dates, a dataclass (a service contract) as the dict
    of its fields in their order (keys by `field_key`), recursively; tuples and lists as lists, mappings
    with text keys."""
    if is_dataclass(value) and not isinstance(value, type):
        return {field_key(f.name): jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def require_folder(path: Path, field: str) -> Path:
    """`path`, if its folder exists; else InvalidInput naming `field` (the parameter that gave the path) and the
    path. A folder is never made for a file the user named: a mistyped folder would otherwise be created
    silently and the file written where nobody looks."""
    folder = path.parent
    if not folder.is_dir():
        what = f"{folder} is not a folder" if folder.exists() else f"folder {folder} does not exist"
        raise InvalidInput(f"{{{field}}} {path}: {what}", code="no_such_folder", field=field, value=str(path),
                           allowed="a file in a folder that exists")
    return path


def save_atomically(wb: Any, path: Path) -> None:
    """Save through a temporary file in the same folder, so that `path` is never a half-written ledger."""
    partial = path.with_name(f".{path.name}.part")
    try:
        wb.save(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
