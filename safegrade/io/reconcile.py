"""Reconciling districts' 台账 with the enterprises on record: what the bureau must act on.

The circular asks every district for its ledger of graded 工贸 enterprises still within validity, and
the bureau checks it for enterprises outside the eight 工贸 sectors, expired grades, enterprises in
two districts and deregistered ones. reconcile() compares ledger rows (read_ledger's records) with
the registered enterprises (list_enterprises' dicts) and returns one Discrepancy per finding, each
with a sentence in Chinese a regulator can act on. Pure: no database, no clock (`today` is given).

Kinds, and what raises them:
- missing: a registered enterprise of a compared district holding a valid grade today (the caller's
  `valid`: services.valid.valid_grade, the filter of the exported 台账), and on no ledger row of its
  registered district.
- extra: a ledger row whose credit code is not registered.
- changed: a registered enterprise listed with other values (企业名称, 行业类别, 标准化等级, 证书编号,
  定级日期, 有效期至, 区), each difference as '字段: 数据库值 → 台账值'; also one revoked on record but
  still listed. Names are compared ignoring spaces and the width of brackets.
- not_gongmao: a row whose 行业类别 is not one of the eight 工贸 sectors.
- expired: a row whose 有效期至 is before today (on the day itself the grade is still valid).
- two_districts: a credit code on rows of two districts, or listed in another district than the one
  on record.
- deregistered: a row whose 备注 says 注销 or 迁出/迁址 (not '未注销'), or an enterprise excluded on
  record (注销/不予评估) but still listed.
One row may raise several kinds. action is 'propose_revocation' for not_gongmao and deregistered,
unless the enterprise is registered in a state the lifecycle does not allow it from (a revocation
already in publicity, revoked, excluded).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from safegrade.io.cells import as_date
from safegrade.io.ledger import LedgerRecord
from safegrade.rules import Rules
from states.names import Event, State

KIND_LABELS = {
    "missing": "缺失",
    "extra": "多出",
    "changed": "不一致",
    "not_gongmao": "非工贸行业",
    "expired": "有效期届满",
    "two_districts": "跨区重复",
    "deregistered": "已注销/迁址",
}
PROPOSE_REVOCATION: str = Event.PROPOSE_REVOCATION
ACTION_LABELS = {PROPOSE_REVOCATION: "提出撤销（公示）"}
REVOKED, EXCLUDED = State.REVOKED, State.EXCLUDED  # lifecycle states in which a grade is no longer valid
TABLE_COLUMNS = ("类型", "区", "统一社会信用代码", "企业名称", "位置", "说明", "建议操作")
# (field, Chinese column) compared between the record and the ledger row, in the ledger's column order
COMPARED = (("district", "区"), ("name", "企业名称"), ("sector", "行业类别"), ("level", "标准化等级"),
            ("certificate_no", "证书编号"), ("graded_on", "定级日期"), ("valid_until", "有效期至"))
# 注销 (deregistered), 迁出/迁址 (moved away); not when negated just before (未注销, 尚未迁出, 没有注销 …)
GONE = re.compile(r"(?<!未)(?<!无)(?<!非)(?<!不)(?<!没有)(注销|迁出|迁址)")
_FOLD_NAME = str.maketrans({"(": "（", ")": "）", " ": None, "\u3000": None, "\t": None})


@dataclass(frozen=True)
class Discrepancy:
    """One finding of the reconciliation, for one enterprise and one ledger row (or the database)."""

    kind: str            # a key of KIND_LABELS
    credit_code: str
    name: str
    district: str        # district code: the ledger row's, or the registered one for 'missing'
    where: str           # 'file:row' of the ledger row, or 'database'
    detail: str          # in Chinese, with the values
    action: str | None   # 'propose_revocation' or None


def reconcile(records: Sequence[LedgerRecord], registered: Sequence[Mapping[str, Any]], rules: Rules, *,
              today: date, valid: Callable[[Mapping[str, Any], date], bool],
              districts: Collection[str] | None = None) -> list[Discrepancy]:
    """Every discrepancy between the ledger rows and the registered enterprises, for `districts`
    (codes; default: the districts of the records), sorted by district, kind, credit code. `valid(e, today)`
    says which registered enterprises a ledger must list."""
    scope = set(districts) if districts is not None else {r.district for r in records}
    db = {str(e["credit_code"]): e for e in registered}
    rows_of: dict[str, list[LedgerRecord]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.district, r.file, r.row)):
        rows_of[r.credit_code].append(r)
    found: list[Discrepancy] = []
    for r in records:
        if r.district in scope:
            found.extend(_row_discrepancies(r, db.get(r.credit_code), rows_of[r.credit_code], rules, today))
    for code, e in db.items():
        if str(e["district"]) in scope and valid(e, today):
            listed = [r for r in rows_of.get(code, ()) if r.district == e["district"]]
            if not listed:
                found.append(_missing(e, rows_of.get(code, ()), rules))
    return sorted(found, key=lambda d: (d.district, d.kind, d.credit_code, d.where, d.detail))


def _row_discrepancies(r: LedgerRecord, e: Mapping[str, Any] | None, same_code: Sequence[LedgerRecord],
                       rules: Rules, today: date) -> Iterable[Discrepancy]:
    def found(kind: str, detail: str, action: str | None = None) -> Discrepancy:
        return Discrepancy(kind, r.credit_code, r.name, r.district, f"{r.file}:{r.row}", detail, action)

    revocable = e is None or PROPOSE_REVOCATION in rules.machine.allowed_events(str(e["state"]))
    revoke = PROPOSE_REVOCATION if revocable else None
    if e is None:
        yield found("extra", f"台账多出：数据库中没有统一社会信用代码为 {r.credit_code} 的定级企业"
                             "（未登记入库，或信用代码填写有误）")
    else:
        differences = _differences(r, e, rules)
        if differences:
            yield found("changed", "台账与数据库不一致（数据库 → 台账）：" + "；".join(differences))
    if not r.in_gongmao:
        yield found("not_gongmao", f"行业类别 {r.sector} 不属于工贸行业，应公告撤销"
                                   "（应急厅〔2019〕17号所列冶金、有色、建材、机械、轻工、纺织、烟草、商贸八个行业以外）",
                    revoke)
    if r.valid_until < today:
        yield found("expired", f"有效期至 {r.valid_until.isoformat()} 已届满（核对日 {today.isoformat()}），"
                               "台账只列有效期内的定级企业")
    places = _places(r, e, same_code, rules)
    if places:
        yield found("two_districts", "；".join(places))
    gone = _gone(r, e, rules)
    if gone:
        yield found("deregistered", "；".join(gone), revoke)


def _differences(r: LedgerRecord, e: Mapping[str, Any], rules: Rules) -> list[str]:
    """What the row says otherwise than the database (database → ledger), a revoked grade included."""
    differences = [f"{label}: {_shown(rules, field, e.get(field))} → {_shown(rules, field, getattr(r, field))}"
                   for field, label in COMPARED if not _same(field, e.get(field), getattr(r, field))]
    if e.get("state") == REVOKED:
        differences.append(f"状态: {rules.state_label(REVOKED)} → 台账仍列为有效定级企业（应从台账删除）")
    return differences


def _places(r: LedgerRecord, e: Mapping[str, Any] | None, same_code: Sequence[LedgerRecord],
            rules: Rules) -> list[str]:
    """Where else the enterprise is listed or registered than in the row's district."""
    elsewhere = sorted({o.district for o in same_code} - {r.district})
    places = []
    if elsewhere:
        names = " 与 ".join(rules.district_name(d) for d in sorted({r.district, *elsewhere}))
        rows = "、".join(f"{o.file}:{o.row}" for o in same_code if o.district != r.district)
        places.append(f"同一信用代码同时在 {names} 台账中（另见 {rows}）")
    if e is not None and e["district"] != r.district:
        places.append(f"数据库登记在 {rules.district_name(str(e['district']))}，"
                      f"台账列于 {rules.district_name(r.district)}")
    return places


def _gone(r: LedgerRecord, e: Mapping[str, Any] | None, rules: Rules) -> list[str]:
    """Why the enterprise seems no longer to exist: the row's remarks, or its excluded state."""
    gone = []
    match = GONE.search(r.remarks)
    if match:
        gone.append(f"备注“{r.remarks}”表明企业已{match.group(1)}，应公告撤销其标准化等级")
    if e is not None and e.get("state") == EXCLUDED:
        gone.append(f"数据库中该企业为 {rules.state_label(EXCLUDED)}，仍列入台账（应从台账删除）")
    return gone


def _missing(e: Mapping[str, Any], listed_elsewhere: Iterable[LedgerRecord], rules: Rules) -> Discrepancy:
    detail = (f"台账缺少：数据库中有效的定级企业未列入台账（证书编号 {e.get('certificate_no') or '—'}，"
              f"有效期至 {_shown(rules, 'valid_until', e.get('valid_until'))}）")
    elsewhere = [f"{rules.district_name(r.district)} {r.file}:{r.row}" for r in listed_elsewhere]
    if elsewhere:
        detail += f"；该企业列于 {'、'.join(elsewhere)}"
    if e.get("in_gongmao") is False:
        detail += f"；其行业类别 {_shown(rules, 'sector', e.get('sector'))} 不属于工贸行业，应公告撤销而非仅从台账删去"
    code = str(e["credit_code"])
    return Discrepancy("missing", code, str(e.get("name") or ""), str(e["district"]), "database", detail, None)


def _same(field: str, recorded: object, listed: object) -> bool:
    if field in ("graded_on", "valid_until"):
        return as_date(recorded) == listed
    if field == "name":
        return str(recorded or "").translate(_FOLD_NAME) == str(listed).translate(_FOLD_NAME)
    return str(recorded or "").strip() == str(listed)


def _shown(rules: Rules, field: str, value: object) -> str:
    """A value as a regulator reads it: districts and sectors by name, dates as YYYY-MM-DD."""
    if value is None or value == "":
        return "（空）"
    if field == "district":
        return rules.district_name(str(value))
    if field == "sector":
        sector = rules.sectors.get(str(value))
        return sector.label if sector else str(value)
    if field in ("graded_on", "valid_until"):
        d = as_date(value)
        return d.isoformat() if d else str(value)
    return str(value)


def discrepancies_table(items: Iterable[Discrepancy], *, rules: Rules | None = None) -> list[dict[str, str]]:
    """Rows for display with Chinese columns (TABLE_COLUMNS) and labels; districts by name when
    `rules` is given, else by code."""
    def district(code: str) -> str:
        return rules.district_name(code) if rules else code

    def action(name: str | None) -> str:
        if name is None:
            return ""
        return rules.lifecycle.event_label(name) if rules else ACTION_LABELS.get(name, name)

    return [dict(zip(TABLE_COLUMNS, (KIND_LABELS.get(d.kind, d.kind), district(d.district), d.credit_code, d.name,
                                     d.where, d.detail, action(d.action)), strict=True)) for d in items]
