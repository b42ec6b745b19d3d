"""The audit trail in the database: append-only, hash-chained per enterprise.

Appends for different enterprises never wait on each other (each chain has its own head). The
enterprise's current row is a projection of its chain: `replay` rebuilds it, at any past instant,
and `verify` checks that replaying every chain gives today's rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import FromClause, Select, String, func, insert, select, text, true, type_coerce
from sqlalchemy.orm import Session

from safegrade.audit.chain import (
    FORMAT,
    GENESIS,
    Break,
    ChainEvent,
    Report,
    canonical_json,
    checkpoint_hash,
    event_hash,
    heads_digest,
    rewritten,
    utc_text,
    verify_chain,
    verify_checkpoints,
)
from safegrade.models import TRACKED_FIELDS, AuditCheckpoint, AuditCheckpointHead, AuditEvent, Enterprise, table

EVENT = table(AuditEvent)
ENTERPRISE = table(Enterprise)
CHECKPOINT = table(AuditCheckpoint)
CHECKPOINT_HEAD = table(AuditCheckpointHead)
DATE_FIELDS = frozenset({"graded_on", "valid_until", "publicity_ends_on", "revoked_on", "regrade_from",
                         "validity_ended_on", "held_on"})


@dataclass(frozen=True)
class Actor:
    """Who did it, as the audit trail records it."""

    name: str
    role: str
    source: str  # cli | api | web | flow
    # how the actor was known, recorded in the event's payload under "by" (hashed with it): the session or
    # token of a signed-in user ("session:12", "token:3"), the OS user who ran the CLI; None: not recorded
    via: str | None = None
    os_user: str | None = None

    def by(self) -> dict[str, str]:
        """The payload's "by" entry: empty when neither is known (flows, older events)."""
        return {k: v for k, v in (("via", self.via), ("os_user", self.os_user)) if v}


def new_event(
    *,
    enterprise_id: int,
    code: str,
    seq: int,
    event: str,
    from_state: str | None,
    to_state: str,
    actor: Actor,
    reason: str,
    payload: Mapping[str, Any],
    at: datetime,
    rules_version: str,
    prev_hash: str,
) -> dict[str, Any]:
    """The row of one audit event (for a Core insert), its hash computed over the stored text."""
    by = actor.by()
    text = canonical_json({**payload, "by": by} if by else payload)
    digest = event_hash(code, event, from_state, to_state, actor.name, actor.role, actor.source, reason, text,
                        utc_text(at), rules_version, prev_hash)
    return {
        "enterprise_id": enterprise_id, "seq": seq, "event": event, "from_state": from_state,
        "to_state": to_state, "actor": actor.name, "role": actor.role, "source": actor.source,
        "reason": reason, "payload": text, "occurred_at": at, "rules_version": rules_version,
        "prev_hash": prev_hash, "hash": digest,
    }


def append(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert audit events (one or many, in the caller's transaction)."""
    if rows:
        session.execute(insert(EVENT), list(rows))


# occurred_at is read as the database gives it: SQLite stores UTC text, which becomes the hashed form
# by two string operations instead of a parse and a format per event (PostgreSQL gives a datetime)
_COLUMNS = (EVENT.c.seq, EVENT.c.event, EVENT.c.from_state, EVENT.c.to_state, EVENT.c.actor, EVENT.c.role,
            EVENT.c.source, EVENT.c.reason, EVENT.c.payload, type_coerce(EVENT.c.occurred_at, String),
            EVENT.c.rules_version, EVENT.c.prev_hash, EVENT.c.hash, EVENT.c.id)


def _instant_text(value: Any) -> str:
    if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, as UTCDateTime stored it
        if len(value) == 26 and value[10] == " ":
            return value[:10] + "T" + value[11:] + "Z"
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return utc_text(value)


def _chain_event(code: str, r: Sequence[Any]) -> ChainEvent:
    return ChainEvent(code, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], _instant_text(r[9]), r[10],
                      r[11], r[12], r[13])


def chain(session: Session, enterprise_id: int, code: str, until: datetime | None = None) -> list[ChainEvent]:
    """One enterprise's events in order, up to `until` if given."""
    query = select(*_COLUMNS).where(EVENT.c.enterprise_id == enterprise_id)
    if until is not None:
        query = query.where(EVENT.c.occurred_at <= until)
    return [_chain_event(code, r) for r in session.execute(query.order_by(EVENT.c.seq))]


def replay(events: Iterable[ChainEvent]) -> dict[str, Any] | None:
    """The enterprise as its events left it: tracked fields (JSON values) plus state and version."""
    current: dict[str, Any] | None = None
    for e in events:
        current = {} if current is None else current
        if '"after":{}' not in e.payload:  # most events change no field: no need to decode them
            current.update(json.loads(e.payload).get("after", {}))
        current["state"] = e.to_state
        current["version"] = e.seq
    return current


_PROJECTED = ("state", "version", *TRACKED_FIELDS)


def projection(row: Mapping[str, Any]) -> dict[str, Any]:
    """The same view of an enterprise row as `replay` gives (dates as ISO text), for comparing the two."""
    out = {f: row[f] for f in _PROJECTED}
    for f in DATE_FIELDS.intersection(out):
        if out[f] is not None:
            out[f] = out[f].isoformat()
    return out


def decode(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Replayed JSON values back into Python values (dates)."""
    return {k: (date.fromisoformat(v) if k in DATE_FIELDS and isinstance(v, str) else v) for k, v in fields.items()}


def _chains(session: Session, codes: Mapping[int, str] | None = None, batch: int = 20_000,
            until: datetime | None = None, only: Select[Any] | None = None) -> Iterator[tuple[int, list[ChainEvent]]]:
    """Every chain (its events up to `until` if given; only the enterprises whose ids `only` selects, if given),
    streamed in (enterprise, seq) order."""
    if codes is None:
        codes = {r[0]: r[1] for r in session.execute(select(ENTERPRISE.c.id, ENTERPRISE.c.credit_code))}
    query = select(EVENT.c.enterprise_id, *_COLUMNS).order_by(EVENT.c.enterprise_id, EVENT.c.seq)
    if until is not None:
        query = query.where(EVENT.c.occurred_at <= until)
    if only is not None:
        query = query.where(EVENT.c.enterprise_id.in_(only))
    current_id: int | None = None
    events: list[ChainEvent] = []
    for r in session.execute(query.execution_options(yield_per=batch)):
        if r[0] != current_id:
            if events:
                yield current_id, events  # type: ignore[misc]
            current_id, events = r[0], []
        events.append(_chain_event(codes.get(r[0], f"#{r[0]}"), r[1:]))
    if events:
        yield current_id, events  # type: ignore[misc]


def verify(session: Session, *, until: datetime | None = None, enterprises: FromClause = ENTERPRISE,
           only: Select[Any] | None = None) -> Report:
    """Recompute every chain, compare each with its enterprise row, and check the checkpoints; with `until`,
    the trail as it stood then: the events and checkpoints recorded up to it, compared with `enterprises`
    (the enterprise rows as they stood then, which the caller reads from their versions). With `only` (a
    select of enterprise ids; `enterprises` then holds those rows only): the chains of those enterprises, the
    checkpoints' own chain and their heads of those chains (a reader's scope).

    Chains and rows are streamed side by side in enterprise order, so memory does not grow with the
    trail; the heads recorded by checkpoints are compared with the chains by one join.
    """
    report = Report()
    e = enterprises
    columns = [e.c.id, e.c.credit_code, *(e.c[f] for f in _PROJECTED)]
    names = ("id", "credit_code", *_PROJECTED)
    codes = {r[0]: r[1] for r in session.execute(select(e.c.id, e.c.credit_code))}
    rows = (dict(zip(names, r, strict=True)) for r in session.execute(
        select(*columns).order_by(e.c.id).execution_options(yield_per=20_000)))
    row = next(rows, None)
    for enterprise_id, events in _chains(session, codes, until=until, only=only):
        while row is not None and row["id"] < enterprise_id:
            report.breaks.append(Break(row["credit_code"], 1, "missing", "the enterprise has no audit events at all"))
            row = next(rows, None)
        current = row if row is not None and row["id"] == enterprise_id else None
        if current is not None:
            row = next(rows, None)
        report.chains += 1
        report.events += len(events)
        broken = verify_chain(events, current["version"] if current is not None else None)
        if broken is None and current is not None:
            broken = _compare(current, replay(events) or {}, events[-1])
        if broken:
            report.breaks.append(broken)
    for left in ([row] if row is not None else []) + list(rows):
        report.breaks.append(Break(left["credit_code"], 1, "missing", "the enterprise has no audit events at all"))
    checkpoints = _checkpoints(session, None if only is not None else codes, until)  # every head: their digests
    report.checkpoints = len(checkpoints)
    report.breaks.extend(verify_checkpoints(checkpoints, None))
    taken = {cp["id"]: cp["taken_at"] for cp in checkpoints}
    for cp_id, ent_id, seq, _recorded, now in session.execute(
        select(CHECKPOINT_HEAD.c.checkpoint_id, CHECKPOINT_HEAD.c.enterprise_id, CHECKPOINT_HEAD.c.seq,
               CHECKPOINT_HEAD.c.hash, EVENT.c.hash)
        .outerjoin(EVENT, (EVENT.c.enterprise_id == CHECKPOINT_HEAD.c.enterprise_id)
                   & (EVENT.c.seq == CHECKPOINT_HEAD.c.seq))
        .where((EVENT.c.hash.is_(None)) | (EVENT.c.hash != CHECKPOINT_HEAD.c.hash))
        .where(CHECKPOINT_HEAD.c.checkpoint_id.in_(select(CHECKPOINT.c.id).where(
            CHECKPOINT.c.taken_at <= until)) if until is not None else true())
        .where(CHECKPOINT_HEAD.c.enterprise_id.in_(only) if only is not None else true())
        .order_by(CHECKPOINT_HEAD.c.checkpoint_id, CHECKPOINT_HEAD.c.enterprise_id)
    ):
        report.breaks.append(rewritten(codes.get(ent_id, f"#{ent_id}"), seq, cp_id, taken.get(cp_id, "?"), now is None))
    return report


def _compare(row: Mapping[str, Any], replayed: Mapping[str, Any], last: ChainEvent) -> Break | None:
    table = projection(row)
    if table == replayed:
        return None
    differences = [f"{k}: table {table[k]!r}, log {replayed.get(k)!r}" for k in table if table[k] != replayed.get(k)]
    if differences:
        return Break(row["credit_code"], last.seq, "projection",
                     "the enterprise row differs from its audit trail (edited outside safegrade): "
                     + "; ".join(differences[:5]))
    return None


def _checkpoints(session: Session, codes: Mapping[int, str] | None = None,
                 until: datetime | None = None) -> list[dict[str, Any]]:
    if codes is None:
        codes = {r[0]: r[1] for r in session.execute(select(ENTERPRISE.c.id, ENTERPRISE.c.credit_code))}
    heads: dict[int, list[tuple[str, int, str]]] = {}
    for cp_id, ent_id, seq, digest in session.execute(
        select(CHECKPOINT_HEAD.c.checkpoint_id, CHECKPOINT_HEAD.c.enterprise_id, CHECKPOINT_HEAD.c.seq,
               CHECKPOINT_HEAD.c.hash)
    ):
        heads.setdefault(cp_id, []).append((codes.get(ent_id, f"#{ent_id}"), seq, digest))
    out = []
    query = select(CHECKPOINT).order_by(CHECKPOINT.c.id)
    if until is not None:
        query = query.where(CHECKPOINT.c.taken_at <= until)
    for r in session.execute(query).mappings():
        out.append({**r, "taken_at": utc_text(r["taken_at"]), "head_list": heads.get(r["id"], [])})
    return out


def events_since_checkpoint(session: Session) -> int:
    last = session.execute(select(func.max(CHECKPOINT.c.last_event_id))).scalar() or 0
    return session.execute(select(func.count()).select_from(EVENT).where(EVENT.c.id > last)).scalar() or 0


_CHECKPOINT_LOCK = 0x5AFE6AD0  # the advisory lock key of the checkpoint chain (any constant, used only here)


def checkpoint(session: Session, at: datetime, actor: str) -> dict[str, Any] | None:
    """Record the heads of every chain that moved since the last checkpoint; None if none moved.

    Checkpoints form one chain: two transactions checkpointing at once (two sweepers' batches) must not
    both link to the same previous one. On PostgreSQL a transaction-scoped advisory lock makes them take
    turns, the second reading the first's checkpoint once it has committed; SQLite has one writer.
    (A transaction that commits events with ids below a checkpoint taken meanwhile has those chains
    checkpointed when they next move; verify checks every chain whole either way.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHECKPOINT_LOCK})
    previous = session.execute(
        select(CHECKPOINT.c.id, CHECKPOINT.c.last_event_id, CHECKPOINT.c.hash).order_by(CHECKPOINT.c.id.desc()).limit(1)
    ).one_or_none()
    since, prev_hash = (previous[1], previous[2]) if previous else (0, GENESIS)
    moved = (
        select(EVENT.c.enterprise_id, func.max(EVENT.c.seq).label("seq"), func.max(EVENT.c.id).label("last"))
        .where(EVENT.c.id > since)
        .group_by(EVENT.c.enterprise_id)
        .subquery()
    )
    rows = session.execute(
        select(moved.c.enterprise_id, ENTERPRISE.c.credit_code, moved.c.seq, EVENT.c.hash, moved.c.last)
        .join(ENTERPRISE, ENTERPRISE.c.id == moved.c.enterprise_id)
        .join(EVENT, (EVENT.c.enterprise_id == moved.c.enterprise_id) & (EVENT.c.seq == moved.c.seq))
    ).all()
    if not rows:
        return None
    last_event_id = max(r[4] for r in rows)
    digest = heads_digest((r[1], r[2], r[3]) for r in rows)
    record = {"taken_at": at, "last_event_id": last_event_id, "heads": len(rows), "heads_digest": digest,
              "actor": actor, "prev_hash": prev_hash,
              "hash": checkpoint_hash(utc_text(at), last_event_id, len(rows), digest, actor, prev_hash)}
    cp_id = session.execute(insert(AuditCheckpoint).returning(CHECKPOINT.c.id), [record]).scalar_one()
    session.execute(insert(CHECKPOINT_HEAD),
                    [{"checkpoint_id": cp_id, "enterprise_id": r[0], "seq": r[2], "hash": r[3]} for r in rows])
    return record | {"id": cp_id}


def export(session: Session, path: Path, at: datetime, rules_version: str, *, until: datetime | None = None,
           enterprises: FromClause = ENTERPRISE, only: Select[Any] | None = None,
           scope: str | None = None) -> tuple[int, int]:
    """Write the trail as JSON Lines that `safegrade.audit.chain` verifies alone: every event, or with `until`
    those that occurred up to it, the checkpoints taken up to it, and each chain's head from `enterprises`
    (the enterprise table as it stood at `until`). The header line says up to when (`events_up_to`). With
    `only` (a select of enterprise ids): those chains only, and no checkpoint (each names every chain's
    head); the header says which part (`scope`)."""
    events = chains = 0
    tmp = path.with_name(path.name + ".part")
    header: dict[str, Any] = {"type": "header", "format": FORMAT, "exported_at": utc_text(at),
                              "rules_version": rules_version}
    if until is not None:
        header["events_up_to"] = utc_text(until)
    if scope is not None:
        header["scope"] = scope
    with tmp.open("w", encoding="utf-8") as out:
        out.write(canonical_json(header) + "\n")
        rows = {r["id"]: r for r in session.execute(
            select(enterprises.c.id, enterprises.c.credit_code, enterprises.c.version, enterprises.c.state)).mappings()}
        for enterprise_id, chain_events in _chains(session, until=until, only=only):
            chains += 1
            for e in chain_events:
                events += 1
                out.write(canonical_json({
                    "type": "event", "id": e.id, "enterprise": e.enterprise, "seq": e.seq, "event": e.event,
                    "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor, "role": e.role,
                    "source": e.source, "reason": e.reason, "payload": e.payload, "occurred_at": e.occurred_at,
                    "rules_version": e.rules_version, "prev_hash": e.prev_hash, "hash": e.hash}) + "\n")
            row = rows.get(enterprise_id)
            if row is not None:
                out.write(canonical_json({"type": "head", "enterprise": row["credit_code"], "seq": row["version"],
                                          "state": row["state"]}) + "\n")
        for cp in _checkpoints(session, until=until) if only is None else []:
            cp = {k: v for k, v in cp.items()}
            cp["head_list"] = [list(h) for h in cp["head_list"]]
            out.write(canonical_json({"type": "checkpoint", **cp}) + "\n")
    tmp.replace(path)
    return events, chains
