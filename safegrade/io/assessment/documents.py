"""Assessments written as YAML or JSON documents."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from safegrade.errors import InvalidInput
from safegrade.io.assessment.checks import _Checker
from safegrade.io.assessment.model import _DEDUCTION_FIELDS, _YAML_LOADER, ASSESSMENT_COLUMNS, _Pending, _Raw, _Value
from safegrade.io.cells import RowProblem, header_key, shown_value

_TOP_KEYS = {header_key(h): c.field for c in ASSESSMENT_COLUMNS for h in (c.field, *c.headers)}
_TOP_KEYS |= {"materials": "materials", "deductions": "deductions"}
_DEDUCTION_KEYS = {header_key(h): c.field for c in _DEDUCTION_FIELDS for h in (c.field, *c.headers)}
_TOP_ALLOWED = ", ".join([*(c.field for c in ASSESSMENT_COLUMNS), "materials", "deductions"])
_DEDUCTION_ALLOWED = ", ".join(c.field for c in _DEDUCTION_FIELDS)


def _keyed(c: _Checker, row: int, prefix: str, body: Mapping[Any, Any], keys: dict[str, str],
           fields: Sequence[str], allowed: str) -> dict[str, _Value]:
    """Each known field of a mapping as a _Value (missing ones None); unknown or doubled keys reported."""
    out: dict[str, _Value] = {}
    written: dict[str, str] = {}
    for key, value in body.items():
        name = str(key)
        at = _Value(row, f"{prefix}{name}", value)
        known = keys.get(name) or keys.get(header_key(name))
        if known is None:
            c.bad(at, f"unknown key {name}; allowed keys are {allowed}", value="")
        elif known in out:
            c.bad(at, f"given twice, as {written[known]} and {name}; keep one", value="")
        else:
            out[known] = at
            written[known] = name
    for name in fields:
        out.setdefault(name, _Value(row, f"{prefix}{name}", None))
    return out


def _raw_from_mapping(c: _Checker, row: int, body: Any) -> _Raw | None:
    if not isinstance(body, Mapping):
        c.problems.append(RowProblem(c.file, row, "(assessment)", shown_value(body),
                                     f"must be a mapping with keys {_TOP_ALLOWED}"))
        return None
    fields = _keyed(c, row, "", body, _TOP_KEYS, [*(col.field for col in ASSESSMENT_COLUMNS), "materials",
                                                   "deductions"], _TOP_ALLOWED)
    raw = _Raw(row, fields)
    materials = fields.pop("materials")
    if isinstance(materials.value, Mapping):
        raw.materials = [(str(k), _Value(row, f"materials.{k}", v)) for k, v in materials.value.items()]
    elif materials.value is not None:
        c.bad(materials, f"must be a mapping of material name to copies, e.g. {{口袋书: 120}}; "
                         f"the materials counted are {c._materials}")
    deductions = fields.pop("deductions")
    if isinstance(deductions.value, list):
        for i, d in enumerate(deductions.value):
            prefix = f"deductions[{i}]"
            if not isinstance(d, Mapping):
                c.bad(_Value(row, prefix, d), f"must be a mapping with keys {_DEDUCTION_ALLOWED}")
                raw.deductions.append({})
                continue
            raw.deductions.append(_keyed(c, row, f"{prefix}.", d, _DEDUCTION_KEYS,
                                         [col.field for col in _DEDUCTION_FIELDS], _DEDUCTION_ALLOWED))
    elif deductions.value is not None:
        c.bad(deductions, f"must be a list of deductions, each with {_DEDUCTION_ALLOWED}")
    return raw


def _documents(path: Path) -> list[Any]:
    """The assessments of a YAML or JSON file, in order (still unchecked)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text; save it as UTF-8", code="wrong_encoding",
                           field="paths", value=str(path), allowed=["UTF-8"]) from exc
    if path.suffix.lower() == ".json":
        try:
            docs = [json.loads(text, object_pairs_hook=_unique_json_object)]
        except ValueError as exc:
            raise InvalidInput(f"{path}: not valid JSON: {exc}", code="invalid_json",
                               field="paths", value=str(path)) from exc
    else:
        try:
            docs = [d for d in yaml.load_all(text, Loader=_YAML_LOADER) if d is not None]
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path}: not valid YAML: {exc}".replace("\n", " "), code="invalid_yaml",
                               field="paths", value=str(path)) from exc
    found: list[Any] = []
    for doc in docs:
        if isinstance(doc, list):
            found.extend(doc)
        elif isinstance(doc, Mapping):
            found.append(doc)
        else:
            raise InvalidInput(f"{path}: holds {type(doc).__name__}; an assessment file holds one assessment "
                               f"(a mapping with keys {_TOP_ALLOWED}) or a list of them", code="wrong_shape",
                               field="paths", value=str(path), allowed="a mapping or a list of mappings")
    if not docs:
        raise InvalidInput(f"{path}: empty; an assessment file holds one assessment (a mapping with keys "
                           f"{_TOP_ALLOWED}) or a list of them", code="empty_file", field="paths", value=str(path),
                           allowed="a mapping or a list of mappings")
    return found


def _unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} written twice in one object")
        out[key] = value
    return out


def _read_documents(path: Path, c: _Checker) -> list[_Pending]:
    pendings = []
    for row, body in enumerate(_documents(path), start=1):
        before = len(c.problems)
        raw = _raw_from_mapping(c, row, body)
        if raw is None:
            continue
        pending = c.assessment(raw)
        for d in raw.deductions:
            if d:
                c.deduction(pending, d)
        pending.ok = pending.ok and len(c.problems) == before   # also unknown keys, deductions not mappings
        pendings.append(pending)
    return pendings


