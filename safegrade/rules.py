"""The regulator's policy: rules/*.yaml parsed into frozen typed objects at start-up.

Every problem in every file is collected and reported together, each as 'file: key: what is wrong,
what is allowed'. The rules' version (a hash of the files) is stamped on every audit event, so what
was decided under which policy can always be told.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from safegrade.domain.holidays import parse_holidays
from safegrade.domain.timetable import KINDS, DeadlineKind, parse_kinds
from safegrade.domain.workday import WorkCalendar
from safegrade.errors import RulesError
from states import DefinitionError, Lifecycle, LifecycleError, LifecycleSpec, parse_lifecycle
from states.names import Event, missing_names

if TYPE_CHECKING:  # scoring builds on this module's problem collector
    from safegrade.domain.scoring import AssessmentRules

RULE_FILES = ("lifecycle.yaml", "sectors.yaml", "districts.yaml", "triggers.yaml", "deadlines.yaml", "assessment.yaml")
# files a rules directory may hold: holidays.yaml, the State Council's schedules the bureau adds (none: the package's)
OPTIONAL_FILES = ("holidays.yaml",)


@dataclass(frozen=True)
class District:
    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sector:
    key: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exclusion:
    """Why a campaign member is not assessed, and the lifecycle event that reason fires."""

    key: str
    label: str
    event: str
    data: Mapping[str, str]


@dataclass(frozen=True)
class Deadlines:
    publicity_working_days: int = 5
    grade_validity_years: int = 3
    finding_working_days: int = 20
    major_finding_working_days: int = 10
    revocation_bar_years: int = 1
    interview_working_days: int = 10
    rectification_followup_working_days: int = 10  # after an interview held with findings overdue
    kinds: Mapping[str, DeadlineKind] = field(default_factory=dict)  # reminders and escalation per kind
    escalation_order: tuple[str, ...] = ()  # the kinds, gravest first (deadlines.yaml)

    def kind(self, key: str) -> DeadlineKind:
        return self.kinds[key]

    def rank(self, kind: str) -> int:
        """The kind's place in `escalation_order`: of several escalations of one enterprise due together,
        the lowest rank fires (a major hazard's revocation before an interview)."""
        return self.escalation_order.index(kind)


DEADLINE_DAYS = tuple(k for k in Deadlines.__dataclass_fields__ if k not in ("kinds", "escalation_order"))


def _normal(text: str) -> str:
    """Fold the spellings found in ledgers: spaces (also full-width) and full-width brackets."""
    return re.sub(r"[\s\u3000]+", "", str(text)).replace("(", "（").replace(")", "）")


@dataclass(frozen=True)
class Rules:
    lifecycle: LifecycleSpec
    districts: Mapping[str, District]
    sectors: Mapping[str, Sector]
    revocation_reasons: Mapping[str, str]
    revocation_sources: Mapping[str, str]
    campaign_exclusions: Mapping[str, Exclusion]
    deadlines: Deadlines
    assessment: AssessmentRules
    version: str
    path: Path
    calendar: WorkCalendar = field(default_factory=WorkCalendar)  # working days: holidays.yaml, then the package

    @cached_property
    def machine(self) -> Lifecycle:
        """The one lifecycle machine for every enterprise."""
        return Lifecycle(self.lifecycle)

    @cached_property
    def _district_index(self) -> dict[str, District]:
        return {_normal(name): d for d in self.districts.values() for name in (d.code, d.name, *d.aliases)}

    @cached_property
    def _sector_index(self) -> dict[str, Sector]:
        return {_normal(name): s for s in self.sectors.values() for name in (s.key, s.label, *s.aliases)}

    def district(self, text: str) -> District | None:
        """The district named by code, name or alias (e.g. '120114', '武清区', '武清')."""
        return self._district_index.get(_normal(text))

    def district_name(self, code: str) -> str:
        d = self.districts.get(code)
        return d.name if d else code

    def sector(self, text: str) -> Sector | None:
        """The 工贸 sector named by label or alias; None for a sector outside the eight."""
        return self._sector_index.get(_normal(text))

    def state_label(self, state: str) -> str:
        return self.lifecycle.label(state)

    @cached_property
    def ended_states(self) -> frozenset[str]:
        """The states in which an enterprise holds no grade and its deadlines end: the final states (marked
        `final: true` in lifecycle.yaml) and where the revocation (`revoke`) leads."""
        return frozenset(self.lifecycle.final_states) | frozenset(self.lifecycle.destinations(Event.REVOKE))


def rules_version(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in (*RULE_FILES, *OPTIONAL_FILES):
        path = directory / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


class _Collector:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, file: str, key: str, message: str) -> None:
        self.problems.append(f"{file}: {key}: {message}")

    def mapping(self, file: str, key: str, value: Any, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(file, key, f"must be a mapping, got {type(value).__name__}")
            return {}
        if allowed is not None:
            unknown = sorted(set(map(str, value)) - set(allowed))
            if unknown:
                self.add(file, key, f"unknown key(s) {', '.join(unknown)}; allowed keys are {', '.join(allowed)}")
        return {str(k): v for k, v in value.items()}


def _read(directory: Path, name: str, c: _Collector) -> dict[str, Any]:
    path = directory / name
    if not path.is_file():
        c.add(name, "(file)", f"missing; a rules directory holds {', '.join(RULE_FILES)}")
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        try:  # libyaml's parser where there is one (every command loads the rules); the same documents
            doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
        except yaml.YAMLError:
            doc = yaml.safe_load(text)  # the pure parser's error names the line and shows it
    except yaml.YAMLError as exc:
        c.add(name, "(file)", f"not valid YAML: {exc}".replace("\n", " "))
        return {}
    except ValueError as exc:  # a timestamp YAML recognises that is no date (2027-02-30)
        c.add(name, "(file)", f"not valid YAML: a date that does not exist ({exc})")
        return {}
    return c.mapping(name, "(top)", doc)


def _aliases(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _section(c: _Collector, file: str, doc: dict[str, Any], top: str,
             build: Callable[[str, dict[str, Any]], Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    if not doc:  # missing, unreadable or empty: already reported (or reported below), nothing more to say
        if not any(p.startswith(f"{file}:") for p in c.problems):
            c.add(file, "(top)", f"empty; it must hold '{top}:'")
        return {}
    c.mapping(file, "(top)", doc, (top,))
    out: dict[str, Any] = {}
    for key, body in c.mapping(file, top, doc.get(top)).items():
        body = c.mapping(file, f"{top}.{key}", body, allowed)
        out[key] = build(key, body)
    if not out:
        c.add(file, top, "must list at least one entry")
    return out


def load_rules(directory: Path) -> Rules:
    """Parse and check every rules file; raise RulesError listing every problem found."""
    c = _Collector()
    if not directory.is_dir():
        raise RulesError([f"{directory}: not a directory; point rules_dir in config.yaml at the rules"])
    for extra in sorted(p.name for p in directory.glob("*.y*ml") if p.name not in (*RULE_FILES, *OPTIONAL_FILES)):
        c.add(extra, "(file)", f"unknown rules file; known files are {', '.join((*RULE_FILES, *OPTIONAL_FILES))}")
    districts = _districts(c, directory)
    sectors = _sectors(c, directory)
    triggers = _read(directory, "triggers.yaml", c)
    lists = _choice_lists(c, triggers)
    dl = c.mapping("deadlines.yaml", "(top)", _read(directory, "deadlines.yaml", c),
                   (*DEADLINE_DAYS, "escalation_order", "kinds"))
    _deadline_days(c, dl)
    lifecycle = _lifecycle(c, directory, lists)
    exclusions = _exclusions(c, triggers.get("campaign_exclusions"), lifecycle)
    calendar = _calendar(c, directory)
    deadlines = _deadlines(c, dl, lifecycle, calendar)
    assessment = _assessment(c, directory / "assessment.yaml")
    if c.problems or lifecycle is None or assessment is None:
        raise RulesError(c.problems or ["lifecycle.yaml: (top): could not be read"])
    return Rules(lifecycle, districts, sectors, lists["revocation_reasons"], lists["revocation_sources"],
                 exclusions, deadlines, assessment, rules_version(directory), directory, calendar)


def _calendar(c: _Collector, directory: Path) -> WorkCalendar:
    """holidays.yaml, if the bureau wrote one: the years it gives, checked; the package covers the rest."""
    if not (directory / "holidays.yaml").is_file():
        return WorkCalendar()
    doc = _read(directory, "holidays.yaml", c)
    return WorkCalendar(parse_holidays(doc, lambda key, message: c.add("holidays.yaml", key, message)))


def _districts(c: _Collector, directory: Path) -> dict[str, District]:
    districts = _section(
        c, "districts.yaml", _read(directory, "districts.yaml", c), "districts",
        lambda code, b: District(code, str(b.get("name", "")), _aliases(b.get("aliases"))), ("name", "aliases"),
    )
    for code, d in districts.items():
        if not re.fullmatch(r"\d{6}", code):
            c.add("districts.yaml", f"districts.{code}", "a district code is 6 digits (行政区划代码)")
        if not d.name:
            c.add("districts.yaml", f"districts.{code}", "missing required key 'name'")
    return districts


def _sectors(c: _Collector, directory: Path) -> dict[str, Sector]:
    sectors = _section(
        c, "sectors.yaml", _read(directory, "sectors.yaml", c), "sectors",
        lambda key, b: Sector(key, str(b.get("label", "")), _aliases(b.get("aliases"))), ("label", "aliases"),
    )
    for key, s in sectors.items():
        if not s.label:
            c.add("sectors.yaml", f"sectors.{key}", "missing required key 'label'")
    return sectors


def _choice_lists(c: _Collector, triggers: dict[str, Any]) -> dict[str, dict[str, str]]:
    """triggers.yaml's revocation reasons and sources: the lists lifecycle.yaml's fields choose from."""
    c.mapping("triggers.yaml", "(top)", triggers, ("revocation_reasons", "revocation_sources", "campaign_exclusions"))
    lists: dict[str, dict[str, str]] = {}
    for name in ("revocation_reasons", "revocation_sources"):
        entries = {k: str(v) for k, v in c.mapping("triggers.yaml", name, triggers.get(name)).items()}
        if not entries and triggers:  # an unreadable file is reported once, above
            c.add("triggers.yaml", name, "must list at least one entry as key: 中文名称")
        lists[name] = entries
    return lists


def _deadline_days(c: _Collector, dl: dict[str, Any]) -> None:
    defaults = Deadlines()
    for key in DEADLINE_DAYS:
        value = dl.get(key, getattr(defaults, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            c.add("deadlines.yaml", key, f"{value!r} must be a whole number of at least 1")


def _lifecycle(c: _Collector, directory: Path, lists: Mapping[str, Mapping[str, str]]) -> LifecycleSpec | None:
    """lifecycle.yaml, once triggers.yaml gives the lists its fields choose from; then the names the
    engine needs (states.names) are checked to be there."""
    doc = _read(directory, "lifecycle.yaml", c)
    if not doc and not any(p.startswith("lifecycle.yaml:") for p in c.problems):
        c.add("lifecycle.yaml", "(top)", "empty; it must hold initial, states, roles and events")
    unusable = [name for name, entries in lists.items() if not entries]
    if doc and unusable:
        c.add("lifecycle.yaml", "(top)", f"not checked until triggers.yaml gives {' and '.join(unusable)}: "
              "its fields choose from them")
        return None
    if not doc:
        return None
    lifecycle: LifecycleSpec | None = None
    try:
        lifecycle = parse_lifecycle(doc, {k: tuple(v) for k, v in lists.items()})
    except DefinitionError as exc:
        c.problems.extend(f"lifecycle.yaml: {p}" for p in exc.problems)
    c.problems.extend(f"lifecycle.yaml: {p}" for p in missing_names(
        {section: _keys(doc.get(section)) for section in ("states", "events", "record_events", "grades")}))
    return lifecycle


def _keys(section: Any) -> tuple[str, ...] | None:
    """The names a section declares; None when it is not a mapping (reported as such already)."""
    if section is None:
        return ()
    return tuple(map(str, section)) if isinstance(section, Mapping) else None


def _deadlines(c: _Collector, dl: dict[str, Any], lifecycle: LifecycleSpec | None,
               calendar: WorkCalendar) -> Deadlines:
    """deadlines.yaml: the day counts (checked above), the kinds and their escalation order."""
    if not dl:
        return Deadlines()
    kinds = _deadline_kinds(c, dl.get("kinds"), lifecycle, calendar)
    order = _escalation_order(c, dl.get("escalation_order"))
    if any(p.startswith("deadlines.yaml") for p in c.problems):
        return Deadlines()
    return Deadlines(**{k: dl[k] for k in DEADLINE_DAYS if k in dl}, kinds=kinds, escalation_order=order)


def _escalation_order(c: _Collector, raw: Any) -> tuple[str, ...]:
    """deadlines.yaml's escalation_order: every kind the engine sets, once, gravest first."""
    where = "escalation_order"
    if not isinstance(raw, list):
        c.add("deadlines.yaml", where, f"{'missing' if raw is None else repr(raw)}: list every kind once, "
              f"gravest first ({', '.join(KINDS)})")
        return ()
    order = tuple(str(k) for k in raw)
    for kind in order:
        if kind not in KINDS:
            c.add("deadlines.yaml", where, f"unknown kind '{kind}'; the kinds are {', '.join(KINDS)}")
    twice = sorted({k for k in order if order.count(k) > 1})
    if twice:
        c.add("deadlines.yaml", where, f"lists {', '.join(twice)} more than once")
    left_out = [k for k in KINDS if k not in order]
    if left_out:
        c.add("deadlines.yaml", where, f"leaves out {', '.join(left_out)}; list every kind once, gravest first")
    return order


def _assessment(c: _Collector, path: Path) -> AssessmentRules | None:
    """assessment.yaml: the elements, items and thresholds that score an assessment (safegrade.domain.scoring)."""
    from safegrade.domain.scoring import load_assessment_rules

    if not path.is_file():
        c.add("assessment.yaml", "(file)", f"missing; a rules directory holds {', '.join(RULE_FILES)}")
        return None
    found, problems = load_assessment_rules(path)
    c.problems.extend(problems)
    return found


def _exclusions(c: _Collector, raw: Any, lifecycle: LifecycleSpec | None) -> dict[str, Exclusion]:
    """triggers.yaml's campaign_exclusions, each event and its fields checked against the lifecycle."""
    out: dict[str, Exclusion] = {}
    for key, body in c.mapping("triggers.yaml", "campaign_exclusions", raw).items():
        where = f"campaign_exclusions.{key}"
        body = c.mapping("triggers.yaml", where, body, ("label", "event", "data"))
        event, data = str(body.get("event", "")), {str(k): str(v) for k, v in (body.get("data") or {}).items()}
        if not body.get("label") or not event:
            c.add("triggers.yaml", where, "needs a label and an event")
            continue
        if lifecycle is not None:
            try:
                Lifecycle(lifecycle).coerce(event, data)
            except LifecycleError as exc:
                c.add("triggers.yaml", where, f"{exc}; known events are {', '.join(lifecycle.events)}")
                continue
        out[key] = Exclusion(key, str(body["label"]), event, data)
    return out


def _deadline_kinds(c: _Collector, raw: Any, lifecycle: LifecycleSpec | None,
                    calendar: WorkCalendar) -> dict[str, DeadlineKind]:
    """deadlines.yaml's kinds, each escalation's event checked against the lifecycle: the system actor
    must be allowed to fire it, from the states named, with the data given."""

    def problem(key: str, message: str) -> None:
        c.add("deadlines.yaml", key, message)

    def check_event(key: str, event: str, data: Mapping[str, str], from_states: tuple[str, ...]) -> None:
        if lifecycle is None:
            return
        spec = lifecycle.events.get(event)
        if spec is None:
            problem(key, f"unknown event {event!r}; known events are {', '.join(lifecycle.events)}")
            return
        if "system" not in spec.roles:
            problem(key, f"the system actor may not fire {event!r} (its roles are {', '.join(spec.roles)}); "
                         "add system to its roles in lifecycle.yaml or choose another event")
        unknown = [s for s in from_states if s not in spec.sources]
        if unknown:
            problem(key.replace(".event", ".from"), f"{event!r} does not leave {', '.join(unknown)}; "
                    f"it leaves {', '.join(spec.sources)}")
        try:
            Lifecycle(lifecycle).coerce(event, data)
        except LifecycleError as exc:
            problem(key.replace(".event", ".data"), str(exc))

    return parse_kinds(raw, problem, check_event, calendar)
