"""Importing districts' 台账: every row checked, then all written in one transaction or nothing.

A new enterprise is registered with a `register` audit event holding all its fields; a known one
with identical values is left alone (re-importing a ledger changes nothing); a known one with other
values is refused unless `amend` is asked for, and then recorded as an `amend` event with before
and after. Every problem is listed as file:row, column, value and reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from safegrade.audit import trail
from safegrade.audit.chain import GENESIS
from safegrade.domain.creditcode import normalize
from safegrade.errors import Forbidden, InputErrors, InvalidInput, in_order
from safegrade.io.ledger import LedgerRecord, RowProblem, read_ledger
from safegrade.models import TRACKED_FIELDS, Enterprise, EnterpriseBase, table
from safegrade.output import jsonable, require_folder
from safegrade.services import deadlines
from safegrade.services.asof import as_of
from safegrade.services.context import Context, district_code
from safegrade.services.lifecycle import record_in
from safegrade.services.scope import EXPORT_LEDGER, RECONCILE_LEDGER, Scope, scope_of
from safegrade.services.valid import valid_grade
from states.names import Event, RecordEvent

ENTERPRISE = table(Enterprise)
COMPARED = tuple(EnterpriseBase.model_fields)
_CHUNK = 2_000
# the values of a newly registered enterprise that no ledger column gives
INITIAL: dict[str, Any] = {"open_findings": 0, "open_major_hazards": 0, "last_result": None, "publicity_ends_on": None,
                           "revocation_reason": None, "revoked_on": None, "regrade_from": None,
                           "validity_ended_on": None}
FLAG_NOT_GONGMAO = "not_gongmao"
FLAG_CHECK_OVERRIDE = "credit_code_check_override"


@dataclass
class ImportReport:
    files: list[str]
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    amended: int = 0
    not_gongmao: int = 0
    check_overrides: int = 0
    problems: list[str] = field(default_factory=list)
    dry_run: bool = False
    checkpoint: int | None = None


@dataclass(frozen=True, slots=True)
class ExportedLedger:
    file: str
    enterprises: int
    sheets: dict[str, int]  # enterprises per sheet (汇总 and each district's), as written
    as_of: date


@dataclass(frozen=True, slots=True)
class LedgerReceived:
    """A district's 台账 recorded as submitted for a campaign: its ledger deadline met, on time or late."""

    district: str
    district_name: str
    late_days: int
    recorded: bool  # False: it had been recorded before


@dataclass(frozen=True, slots=True)
class LedgerReconciliation:
    files: list[str]
    rows: int
    unreadable_rows: list[str]
    discrepancies: list[dict[str, str]]  # display rows, keyed by their Chinese column names (io.reconcile)
    proposed: list[str]  # credit codes whose revocation was proposed
    refused: list[str]  # "code: why" for each proposal refused
    submitted: list[LedgerReceived]


def _flags(rec: LedgerRecord) -> list[str]:
    flags = []
    if not rec.in_gongmao:
        flags.append(FLAG_NOT_GONGMAO)
    if rec.check_override:
        flags.append(FLAG_CHECK_OVERRIDE)
    return flags


def _problem(rec: LedgerRecord, column: str, value: str, reason: str, hint: str | None = None) -> RowProblem:
    return RowProblem(rec.file, rec.row, column, value, reason, hint=hint)


def _differences(rec: LedgerRecord, row: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    fields = rec.fields()
    return {k: (row[k], fields[k]) for k in COMPARED if row[k] != fields[k]}


def check_overrides_from(items: Sequence[str], field: str = "check_overrides") -> dict[str, str]:
    """`CODE=REASON` texts, as a front door takes them (the CLI's --accept-check, the API's accept_check query
    parameter, named by `field`), as the overrides `import_ledger` takes; a text without `=` and a code, or
    holding a NUL character, is refused."""
    pairs = {}
    for item in items:
        code, sep, reason = item.partition("=")
        if not sep or not code.strip() or "\x00" in item:
            raise InvalidInput(f"{{{field}}}: {item!r} is not CODE=REASON", code="invalid_value", field=field,
                               value=item, allowed="CODE=REASON")
        pairs[code.strip()] = reason.strip()
    return pairs


def import_ledger(
    ctx: Context,
    paths: Sequence[Path],
    *,
    dry_run: bool = False,
    amend: bool = False,
    check_overrides: Mapping[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    actor = ctx.require("import_ledger")
    spec = ctx.rules.lifecycle
    if amend:
        ctx.require("amend_ledger")
    if check_overrides:
        ctx.require("override_check")
    overrides = {normalize(k): v for k, v in (check_overrides or {}).items()}
    report = ImportReport([str(p) for p in paths], dry_run=dry_run)
    problems: list[RowProblem] = []
    records: list[LedgerRecord] = []
    first_seen: dict[str, LedgerRecord] = {}
    for path in paths:
        recs, probs = read_ledger(path, ctx.rules, check_overrides=overrides, progress=progress)
        problems.extend(probs)
        for rec in recs:
            earlier = first_seen.get(rec.credit_code)
            if earlier is not None:  # duplicates inside one file are the reader's; this is across files
                problems.append(_problem(rec, "统一社会信用代码", rec.credit_code,
                                         f"also in {earlier.file}:{earlier.row} (an enterprise in two ledgers)"))
                continue
            first_seen[rec.credit_code] = rec
            if actor.district is not None and spec.roles[actor.role].scope == "district" \
                    and rec.district != actor.district:
                problems.append(_problem(rec, "区", ctx.rules.district_name(rec.district),
                                         f"{actor.name} imports for {ctx.rules.district_name(actor.district)} only"))
                continue
            records.append(rec)
    report.rows = len(records)
    unused = set(overrides) - {r.credit_code for r in records if r.check_override}
    for code in sorted(unused):
        problems.append(RowProblem("", 0, "统一社会信用代码", code,
                                   "no row in the ledger(s) needed this override; check the code",
                                   field="check_overrides"))
    transaction = ctx.store.read if dry_run else ctx.store.write
    with transaction() as session:
        new, amends = _compare(ctx, session, records, amend, problems, report)
        report.problems = list[str](in_order(problems))  # each a Problem: its line, and its parts
        if problems and not dry_run:
            raise InputErrors(f"ledger import of {', '.join(report.files)}",
                              in_order(problems), field="paths", value=report.files)
        report.created, report.amended = len(new), len(amends)
        report.not_gongmao = sum(1 for r in new if not r.in_gongmao)
        report.check_overrides = sum(1 for r in new if r.check_override)
        if not dry_run:
            now = ctx.now()
            actor_ref = ctx.audit_actor()
            _register(ctx, session, new, now, actor_ref)
            _amend(ctx, session, amends)
            if trail.events_since_checkpoint(session) >= ctx.settings.audit.checkpoint_every_events:
                cp = trail.checkpoint(session, now, actor.name)
                report.checkpoint = cp["id"] if cp else None
    return report


def _compare(ctx: Context, session: Session, records: list[LedgerRecord], amend: bool,
             problems: list[RowProblem], report: ImportReport
             ) -> tuple[list[LedgerRecord], list[tuple[LedgerRecord, dict[str, Any]]]]:
    new: list[LedgerRecord] = []
    amends: list[tuple[LedgerRecord, dict[str, Any]]] = []
    final = set(ctx.rules.lifecycle.final_states)
    for i in range(0, len(records), _CHUNK):
        part = records[i:i + _CHUNK]
        existing = {r["credit_code"]: dict(r) for r in session.execute(
            select(ENTERPRISE).where(ENTERPRISE.c.credit_code.in_([p.credit_code for p in part]))).mappings()}
        for rec in part:
            row = existing.get(rec.credit_code)
            if row is None:
                new.append(rec)
                continue
            diff = _differences(rec, row)
            if not diff:
                report.unchanged += 1
            elif row["state"] in final:
                problems.append(_problem(rec, "统一社会信用代码", rec.credit_code,
                                         f"registered and {ctx.rules.state_label(row['state'])}; "
                                         "a closed record is not changed by a ledger"))
            elif row["revoked_on"] is not None:
                problems.append(_problem(rec, "统一社会信用代码", rec.credit_code,
                                         f"revoked on {row['revoked_on']}; graded again only with `fire CODE regrade` "
                                         f"from {row['regrade_from']} (one-year bar), not by a ledger"))
            elif not amend:
                shown = "; ".join(f"{k}: {jsonable(a)!s} → {jsonable(b)!s}" for k, (a, b) in diff.items())
                problems.append(_problem(rec, "统一社会信用代码", rec.credit_code,
                                         f"already registered with other values ({shown})", hint="amend"))
            else:
                amends.append((rec, row))
    return new, amends


def _register(ctx: Context, session: Session, records: list[LedgerRecord], now: datetime,
              actor: trail.Actor) -> None:
    state = ctx.rules.lifecycle.initial
    names: dict[str, str] = {}  # each file's name, once
    for i in range(0, len(records), _CHUNK):
        part = records[i:i + _CHUNK]
        rows = [{**INITIAL, **r.fields(), "flags": _flags(r), "state": state, "version": 1, "created_at": now,
                 "updated_at": now} for r in part]
        # one executemany, then the ids by code: RETURNING with a guaranteed order would cost SQLite a
        # statement per row
        session.execute(insert(ENTERPRISE), rows)
        ids = {code: id_ for code, id_ in session.execute(
            select(ENTERPRISE.c.credit_code, ENTERPRISE.c.id).where(
                ENTERPRISE.c.credit_code.in_([r.credit_code for r in part])))}
        events = []
        for rec, row in zip(part, rows, strict=True):
            after = {k: row[k] for k in TRACKED_FIELDS}
            name = names.get(rec.file) or names.setdefault(rec.file, Path(rec.file).name)
            data = {"file": name, "row": rec.row}
            if rec.check_override:
                data["check_override"] = rec.check_override
            events.append(trail.new_event(
                enterprise_id=ids[rec.credit_code], code=rec.credit_code, seq=1, event=RecordEvent.REGISTER,
                from_state=None, to_state=state, actor=actor, reason=f"台账导入 {name} 第{rec.row}行",
                payload={"data": data, "after": after}, at=now, rules_version=ctx.rules.version, prev_hash=GENESIS))
        trail.append(session, events)
        deadlines.set_deadlines(ctx, session, [
            deadlines.validity_spec({**row, "id": ids[rec.credit_code]}) for rec, row in zip(part, rows, strict=True)],
            new=True)


def _amend(ctx: Context, session: Session, amends: list[tuple[LedgerRecord, dict[str, Any]]]) -> None:
    """Each changed registration as an `amend` record event, through the one recording path."""
    for rec, _ in amends:
        name = Path(rec.file).name
        record_in(ctx, session, rec.credit_code, RecordEvent.AMEND, f"台账更正 {name} 第{rec.row}行",
                  {"file": name, "row": rec.row}, {**rec.fields(), "flags": _flags(rec)})


def _enterprises_then(ctx: Context, district: str | None, scope: Scope) -> tuple[list[dict[str, Any]], date]:
    """The enterprises (of one district, or all) in the reader's scope as they stood at the context's now, by
    district and credit code, and that day."""
    code = district_code(ctx.rules, district)
    with ctx.store.read() as session:
        then = as_of(ctx, session)
        e = then.table(ENTERPRISE)
        query = scope.filter(select(e).order_by(e.c.district, e.c.credit_code), e)
        if code is not None:
            query = query.where(e.c.district == code)
        return [dict(r) for r in session.execute(query).mappings()], then.day


def export_ledger(ctx: Context, path: Path, *, district: str | None = None,
                  include_all: bool = False) -> ExportedLedger:
    """The 台账 of the enterprises holding a valid grade at the context's now (services.valid.valid_grade on
    the rows as they stood then), or of every one registered then; one sheet per district and 汇总. A district
    officer exports its district's; an enterprise account none (the 台账 holds every enterprise's contacts)."""
    from safegrade.io.ledger_export import write_ledger_xlsx

    scope = ctx.reader(EXPORT_LEDGER)

    if path.suffix.lower() != ".xlsx":
        raise InvalidInput(f"{path}: a ledger export is an .xlsx workbook", code="wrong_file_type", field="path",
                           value=str(path), allowed=[".xlsx"])
    require_folder(path, "path")
    registered, day = _enterprises_then(ctx, district, scope)
    rows = [r for r in registered if include_all or valid_grade(r, day)]
    sheets = write_ledger_xlsx(path, rows, ctx.rules, title=f"工贸行业安全生产标准化定级企业台账（{day}）")
    return ExportedLedger(file=str(path), enterprises=len(rows), sheets=sheets, as_of=day)


def reconcile_ledger(ctx: Context, paths: Sequence[Path], *, district: str | None = None,
                     propose: bool = False, campaign: str | None = None) -> LedgerReconciliation:
    """Compare districts' submitted ledgers with the database; with `propose`, start the revocation of
    the enterprises the ledger shows outside 工贸 or deregistered (each refusal reported, not fatal).
    With `campaign`, the ledgers are that campaign's submissions: each district in them (or `district`)
    has met its ledger deadline today, on time or late. A district officer compares against its own district
    only (the enterprises of the others are not read)."""
    from safegrade.io.reconcile import PROPOSE_REVOCATION, discrepancies_table, reconcile
    from safegrade.services.lifecycle import FireRequest, fire_many

    reader = ctx.reader(RECONCILE_LEDGER)

    records: list[LedgerRecord] = []
    problems: list[str] = []
    for path in paths:
        found, bad = read_ledger(path, ctx.rules)
        records.extend(found)
        problems.extend(str(p) for p in bad)
    scope = None
    if district is not None:
        found_district = ctx.rules.district(district)
        if found_district is None:
            raise InvalidInput(f"{{district}}: unknown district {district!r}", code="unknown_district",
                               field="district", value=district, allowed=[d.name for d in ctx.rules.districts.values()])
        scope = [found_district.code]
    if reader.kind != "all":
        if scope is not None and not all(reader.sees_district(d) for d in scope):
            raise Forbidden(f"{reader.actor} reads the 台账 of {ctx.rules.district_name(reader.district or '')} only; "
                            f"may not reconcile {district}", code="out_of_scope", field="district", value=district)
        scope = [reader.district or ""]
    enterprises, day = _enterprises_then(ctx, None, reader)  # as they stood at the context's now
    items = reconcile(records, enterprises, ctx.rules, today=day, districts=scope, valid=valid_grade)
    submitted: list[LedgerReceived] = []
    proposed: list[str] = []
    refused: list[str] = []
    if campaign is not None:
        submitted = _ledger_received(ctx, campaign, scope or sorted({r.district for r in records}),
                                     [p.name for p in paths])
    if propose:
        registered = {e["credit_code"] for e in enterprises}
        reason_of = {"not_gongmao": "not_gongmao", "deregistered": "deregistered"}
        requests = [FireRequest(d.credit_code, Event.PROPOSE_REVOCATION, f"台账梳理：{d.detail}",
                                {"revocation_reason": reason_of[d.kind], "revocation_source": "ledger_review"})
                    for d in items if d.action == PROPOSE_REVOCATION and d.credit_code in registered
                    and d.kind in reason_of]
        unique = list({r.credit_code: r for r in requests}.values())
        batch = fire_many(ctx, unique)
        proposed = [f.credit_code for f in batch.fired]
        refused = [f"{r.credit_code}: {why}" for r, why in batch.refused]
    return LedgerReconciliation(files=[str(p) for p in paths], rows=len(records), unreadable_rows=problems,
                                discrepancies=discrepancies_table(items, rules=ctx.rules), proposed=proposed,
                                refused=refused, submitted=submitted)


def _ledger_received(ctx: Context, name: str, districts: Sequence[str], files: Sequence[str]) -> list[LedgerReceived]:
    """Record that these districts submitted their 台账 for a campaign: their ledger deadlines are met."""
    from safegrade.services.campaign import find_campaign

    actor = ctx.require("import_ledger", "record a ledger submission")
    today = ctx.now().date()
    out = []
    with ctx.store.write() as session:
        found = find_campaign(session, name)
        if found.ledger_due_on is None:
            raise InvalidInput(f"campaign {name} has no ledger due date ({{hint}})", code="no_ledger_due",
                               field="campaign", value=name, hint="set_ledger_due")
        for code in districts:
            if not scope_of(ctx.rules, actor).sees_district(code):
                raise Forbidden(f"{actor.name} acts for {ctx.rules.district_name(actor.district or '')} only; "
                                f"may not record the ledger of {ctx.rules.district_name(code)}", code="out_of_scope",
                                field="district", value=code)
            late = (today - found.ledger_due_on).days
            note = f"{today}报送（{', '.join(files)}）" + (f"，逾期{late}天" if late > 0 else "，按期")
            met = deadlines.meet(ctx, session, "ledger_submission", deadlines.ledger_subject(found.id, code), note)
            out.append(LedgerReceived(district=code, district_name=ctx.rules.district_name(code),
                                      late_days=max(late, 0), recorded=bool(met)))
    return out
