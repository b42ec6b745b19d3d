"""Scoring an operation-quality assessment (运行质量评估): rules/assessment.yaml and the score it gives.

The policy (results and their minimum scores, methods, printed materials, the seven elements and their
deduction items) is parsed into frozen objects and checked when it is loaded, every problem reported
as 'assessment.yaml: key: what is wrong'. Scoring follows the older 工贸 practice: deductions on one
item stop at zero (their sum is capped at the item's points), items marked not applicable leave the
denominator, the score is the percentage of applicable points kept, rounded half-up to one decimal
(with decimal arithmetic, so 89.95 is 90.0 and not 89.9), and a deduction on a veto item (重大事故隐患)
makes the result 差 whatever the score.

Pure: no database, no clock, and no file reading but load_assessment_rules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

from safegrade.rules import _Collector

RESULTS = ("优", "良", "差")   # best first; the circular's three results
TOP_KEYS = ("thresholds", "methods", "materials", "elements")
ELEMENT_KEYS = ("label", "items")
ITEM_KEYS = ("label", "points", "not_applicable", "rectify", "veto")
_ELEMENT_KEY = re.compile(r"[a-z][a-z0-9_]*")
_ITEM_CODE = re.compile(r"[A-Z][A-Z0-9]*")
_TENTH = Decimal("0.1")
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Item:
    """One deduction item (扣分项): its maximum deduction and what a deduction on it means."""

    code: str
    element: str          # the element's key
    label: str
    points: float         # the maximum deduction
    not_applicable: bool  # may be marked 不适用 for an enterprise
    rectify: bool         # a deduction opens a finding to rectify (unless the deduction says otherwise)
    veto: bool            # 重大事故隐患: a deduction makes the result 差 and opens a major finding


@dataclass(frozen=True)
class Element:
    key: str
    label: str
    items: tuple[str, ...]   # item codes in order


@dataclass(frozen=True)
class AssessmentRules:
    elements: Mapping[str, Element]
    items: Mapping[str, Item]
    thresholds: tuple[tuple[str, float], ...]   # (result, minimum score), best first, the last at 0
    methods: tuple[str, ...]
    materials: tuple[str, ...]
    version: str   # sha256 of the file's bytes, first 16 hex digits

    def result_for(self, score: float, veto: bool) -> str:
        """The result of a (rounded) score: the first whose minimum it reaches; the worst on a veto."""
        if veto:
            return self.thresholds[-1][0]
        for result, minimum in self.thresholds:
            if score >= minimum:
                return result
        return self.thresholds[-1][0]


@dataclass(frozen=True)
class Deduction:
    """Points taken off one item, with the specific content found (扣分内容)."""

    item: str
    points: float
    content: str
    rectify: bool   # whether it opens a finding; the reader defaults it from the item


@dataclass(frozen=True)
class Score:
    score: float                       # percent, one decimal
    result: str                        # 优 / 良 / 差
    veto: bool                         # a veto item was deducted
    deducted: float                    # points deducted, after capping each item at its points
    applicable_points: float           # the denominator: the points of the items not marked not applicable
    by_element: Mapping[str, float]    # element key -> points deducted (after capping), every element


def _dec(value: float) -> Decimal:
    """A float as the decimal it was written as (2.1 is 2.1, not 2.100000000000000088…)."""
    return Decimal(repr(value))


def score(rules: AssessmentRules, deductions: Sequence[Deduction], not_applicable: Sequence[str]) -> Score:
    """Score one assessment. Assumes input validated by the reader; a deduction on an unknown item or on
    an item marked not applicable is a programming error and raises (KeyError, ValueError)."""
    excluded = set(not_applicable)
    taken: dict[str, Decimal] = {}
    for d in deductions:
        if d.item not in rules.items:
            raise KeyError(f"deduction on unknown item {d.item!r}")
        if d.item in excluded:
            raise ValueError(f"deduction on {d.item}, which is marked not applicable")
        taken[d.item] = taken.get(d.item, Decimal(0)) + _dec(d.points)
    by_element = {key: Decimal(0) for key in rules.elements}
    veto = False
    for code, points in taken.items():
        item = rules.items[code]
        by_element[item.element] += min(points, _dec(item.points))
        veto = veto or (item.veto and points > 0)
    applicable = sum((_dec(i.points) for c, i in rules.items.items() if c not in excluded), Decimal(0))
    if applicable <= 0:
        raise ValueError("every item is marked not applicable: there is nothing to score")
    deducted = sum(by_element.values(), Decimal(0))
    percent = ((applicable - deducted) / applicable * _HUNDRED).quantize(_TENTH, rounding=ROUND_HALF_UP)
    value = float(percent)
    return Score(value, rules.result_for(value, veto), veto, float(deducted), float(applicable),
                 {key: float(points) for key, points in by_element.items()})


# ---------------------------------------------------------------------------------------------------
# Loading the rules


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value  # not NaN


def _flag(c: _Collector, source: str, key: str, body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        c.add(source, f"{key}.{name}", f"{value!r} must be true or false")
        return default
    return value


def _names(c: _Collector, source: str, key: str, value: Any, required: bool) -> tuple[str, ...]:
    """A list of distinct non-empty names (methods, materials)."""
    if value is None:
        if required:
            c.add(source, key, "missing; list at least one name")
        return ()
    if not isinstance(value, list):
        c.add(source, key, f"must be a list of names, got {type(value).__name__}")
        return ()
    names: list[str] = []
    for i, name in enumerate(value):
        text = name.strip() if isinstance(name, str) else ""
        if not text:
            c.add(source, f"{key}[{i}]", f"{name!r} must be a non-empty name")
        elif text in names:
            c.add(source, f"{key}[{i}]", f"{text} is listed twice")
        else:
            names.append(text)
    if required and not value:
        c.add(source, key, "must list at least one name")
    return tuple(names)


def _thresholds(c: _Collector, source: str, value: Any) -> tuple[tuple[str, float], ...]:
    example = ", ".join(f"{r}: {m}" for r, m in zip(RESULTS, (90, 75, 0), strict=True))
    if value is None:
        c.add(source, "thresholds", f"missing; give each result its minimum score, best first, e.g. {example}")
        return ()
    body = c.mapping(source, "thresholds", value)
    if not body:
        if isinstance(value, Mapping):
            c.add(source, "thresholds", f"empty; give each result its minimum score, best first, e.g. {example}")
        return ()
    names = list(body)
    if set(names) != set(RESULTS) or len(names) != len(RESULTS):
        unknown = [n for n in names if n not in RESULTS]
        missing = [r for r in RESULTS if r not in names]
        detail = "; ".join(part for part in (
            f"unknown result(s) {', '.join(unknown)}" if unknown else "",
            f"missing {', '.join(missing)}" if missing else "") if part)
        c.add(source, "thresholds", f"the results must be exactly {', '.join(RESULTS)}; {detail}")
        return ()
    if names != list(RESULTS):
        c.add(source, "thresholds", f"list the results best first: {', '.join(RESULTS)} (found {', '.join(names)})")
        return ()
    ok = True
    for name, minimum in body.items():
        if not _number(minimum) or not 0 <= minimum <= 100:
            c.add(source, f"thresholds.{name}", f"{minimum!r} must be a number from 0 to 100")
            ok = False
    if not ok:
        return ()
    pairs = tuple((name, float(minimum)) for name, minimum in body.items())
    for (better, high), (worse, low) in zip(pairs, pairs[1:], strict=False):
        if low >= high:
            c.add(source, f"thresholds.{worse}", f"{low:g} must be below {better}'s {high:g}: "
                                                  f"minimum scores descend from {RESULTS[0]} to {RESULTS[-1]}")
            ok = False
    if pairs[-1][1] != 0:
        c.add(source, f"thresholds.{pairs[-1][0]}", f"{pairs[-1][1]:g} must be 0, so that every score has a result")
        ok = False
    return pairs if ok else ()


def _item(c: _Collector, source: str, key: str, code: str, element: str, value: Any) -> Item | None:
    if value is not None and not isinstance(value, Mapping):
        c.add(source, key, f"must be a mapping of {', '.join(ITEM_KEYS)}, got {type(value).__name__}")
        return None
    body = c.mapping(source, key, value, ITEM_KEYS)
    bad = False
    if not _ITEM_CODE.fullmatch(code):
        c.add(source, key, "an item code is capital letters and digits starting with a letter, e.g. GZ01")
        bad = True
    label = body.get("label")
    if not isinstance(label, str) or not label.strip():
        c.add(source, key, "missing required key 'label' (the deficiency, in Chinese)")
        bad = True
    points = body.get("points")
    if points is None:
        c.add(source, key, "missing required key 'points' (the item's maximum deduction)")
        bad = True
    elif not _number(points) or points <= 0:
        c.add(source, f"{key}.points", f"{points!r} must be a number above 0 (the item's maximum deduction)")
        bad = True
    not_applicable = _flag(c, source, key, body, "not_applicable", False)
    rectify = _flag(c, source, key, body, "rectify", True)
    veto = _flag(c, source, key, body, "veto", False)
    if veto and not_applicable:
        c.add(source, key, "a veto item (重大事故隐患) cannot be marked not applicable; "
                           "remove not_applicable: true or veto: true")
        bad = True
    if veto and not rectify:
        c.add(source, key, "a veto item (重大事故隐患) always opens a major finding to rectify; remove rectify: false")
        bad = True
    if bad or points is None:
        return None
    return Item(code, element, str(label).strip(), float(points), not_applicable, rectify, veto)


def _elements(c: _Collector, source: str, value: Any) -> tuple[dict[str, Element], dict[str, Item]]:
    if value is None:
        c.add(source, "elements", "missing; list the elements assessed, each with its label and items")
        return {}, {}
    elements: dict[str, Element] = {}
    items: dict[str, Item] = {}
    where: dict[str, str] = {}   # item code -> the element that first used it
    body = c.mapping(source, "elements", value)
    for key, element_value in body.items():
        prefix = f"elements.{key}"
        element = c.mapping(source, prefix, element_value, ELEMENT_KEYS)
        if not _ELEMENT_KEY.fullmatch(key):
            c.add(source, prefix, "an element key is an English identifier: lower-case letters, digits and _")
        label = element.get("label")
        if not isinstance(label, str) or not label.strip():
            c.add(source, prefix, "missing required key 'label' (the element's Chinese name)")
            label = ""
        entries = c.mapping(source, f"{prefix}.items", element.get("items"))
        if not entries:
            c.add(source, f"{prefix}.items", "must list at least one item as CODE: {label: …, points: …}")
        codes = []
        for code, item_value in entries.items():
            item_key = f"{prefix}.items.{code}"
            if code in where:
                c.add(source, item_key, f"item code {code} is already used in elements.{where[code]}; "
                                        f"item codes must be unique across elements")
                continue
            where[code] = key
            item = _item(c, source, item_key, code, key, item_value)
            if item is not None:
                items[code] = item
                codes.append(code)
        elements[key] = Element(key, label.strip(), tuple(codes))
    if isinstance(value, Mapping) and not body:
        c.add(source, "elements", "must list at least one element")
    if items and all(i.not_applicable for i in items.values()):
        c.add(source, "elements", "every item may be marked not applicable, so an assessment could have nothing "
                                  "to score; at least one item must not have not_applicable: true")
    return elements, items


def parse_assessment_rules(doc: Any, version: str,
                           source: str = "assessment.yaml") -> tuple[AssessmentRules | None, list[str]]:
    """Check a parsed assessment.yaml: the rules, or None and every problem as 'source: key: message'."""
    c = _Collector()
    if doc is None:
        c.add(source, "(top)", f"empty; it must hold {', '.join(TOP_KEYS)}")
        return None, c.problems
    top = c.mapping(source, "(top)", doc, TOP_KEYS)
    if not top:
        if isinstance(doc, Mapping):
            c.add(source, "(top)", f"empty; it must hold {', '.join(TOP_KEYS)}")
        return None, c.problems
    thresholds = _thresholds(c, source, top.get("thresholds"))
    methods = _names(c, source, "methods", top.get("methods"), required=True)
    materials = _names(c, source, "materials", top.get("materials"), required=False)
    elements, items = _elements(c, source, top.get("elements"))
    if c.problems:
        return None, c.problems
    return AssessmentRules(elements, items, thresholds, methods, materials, version), []


def _construct_unique_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    if len(keys) != len(set(keys)):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found key {key_node.value!r} written twice; each key may appear once in a mapping",
                    key_node.start_mark)
            seen.add(key_node.value)
    return dict(yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep))


def unique_key_loader(base: type[Any]) -> type[Any]:
    """A YAML safe loader (base: yaml.SafeLoader or yaml.CSafeLoader) that refuses a key written twice in
    one mapping: PyYAML keeps the last silently, which would drop e.g. an item written twice."""
    return type(f"UniqueKey{base.__name__}", (base,), {"construct_mapping": _construct_unique_mapping})


_UniqueKeyLoader = unique_key_loader(yaml.SafeLoader)


def load_assessment_rules(path: Path) -> tuple[AssessmentRules | None, list[str]]:
    """Read and check the assessment rules file: the rules, or None and every problem found."""
    path = Path(path)
    source = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [f"{source}: (file): cannot be read ({exc.strerror or exc}); "
                      f"the assessment rules are rules/assessment.yaml"]
    try:
        doc = yaml.load(data.decode("utf-8-sig"), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except UnicodeDecodeError:
        return None, [f"{source}: (file): not UTF-8 text; save it as UTF-8"]
    except yaml.YAMLError as exc:
        return None, [f"{source}: (file): not valid YAML: {exc}".replace("\n", " ")]
    return parse_assessment_rules(doc, hashlib.sha256(data).hexdigest()[:16], source)
