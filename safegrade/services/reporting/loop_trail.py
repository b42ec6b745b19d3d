"""What the closed-loop report reads from the audit trail: each enterprise's chain, re-verified, and the
finding and escalation events in it, for a batch of enterprises at a time (a few queries per batch,
never one per enterprise or per row).

The chain is verified as `safegrade audit verify` does for one enterprise: the links and hashes
(auditchain.verify_chain, against the enterprise's version so a removed tail shows), the row against
the replayed trail, and the heads that checkpoints recorded for it. Read as of an instant (services.asof),
the chain is its events up to then, checked against the enterprise's row as it stood then and the
checkpoints taken by then.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegrade.audit import trail
from safegrade.audit.chain import Break, ChainEvent, rewritten, utc_text, verify_chain
from safegrade.services.asof import AsOf
from states.names import Event, RecordEvent

EVENT, CHECKPOINT, CHECKPOINT_HEAD = trail.EVENT, trail.CHECKPOINT, trail.CHECKPOINT_HEAD
FINDING_EVENTS = (RecordEvent.FINDING_SUBMITTED, RecordEvent.FINDING_REJECTED, RecordEvent.FINDING_VERIFIED)
ESCALATION_EVENTS = (Event.ESCALATE, Event.PROPOSE_REVOCATION, Event.EXPIRE)
SYSTEM_ACTOR = "system"
BREAK_LABELS = {
    "changed": "事件内容被改动（与其哈希不符）",
    "missing": "事件缺失",
    "inserted": "插入了不属于该链的事件",
    "reordered": "事件顺序被调换",
    "time": "事件时间倒流",
    "head": "链头与企业版本不符",
    "checkpoint": "与检查点记录的链头不符（链被重写）",
    "projection": "企业记录与审计链不符（绕过系统修改）",
}

_COLUMNS = ("enterprise_id", "seq", "event", "from_state", "to_state", "actor", "role", "source", "reason", "payload",
            "occurred_at", "rules_version", "prev_hash", "hash", "id")


@dataclass(frozen=True, slots=True)
class EventRef:
    """How a report names an audit event: database id, enterprise, sequence number, hash, event and instant."""

    id: int
    enterprise: str
    seq: int
    hash: str
    event: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """A break of an enterprise's chain, with the event it names (when that event is still there)."""

    seq: int
    kind: str
    kind_label: str
    detail: str
    event_id: int | None
    hash: str | None
    event: str | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """An enterprise's chain re-verified: ok, its number of events, its head, and each break."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str | None
    breaks: list[ChainBreak]
    first_break: ChainBreak | None


@dataclass(frozen=True, slots=True)
class TrailFile:
    """An evidence file as a finding_submitted event names it."""

    file: str
    sha256: str
    size: int | None


@dataclass
class Trail:
    """One enterprise's chain: its events, the verification result, and its events by kind."""

    code: str
    events: list[ChainEvent]
    breaks: list[Break]
    payloads: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> decoded payload

    def data(self, e: ChainEvent) -> dict[str, Any]:
        """The event's `data` (an empty dict when the payload is not valid JSON: it was tampered with)."""
        if e.seq not in self.payloads:
            try:
                decoded = json.loads(e.payload)
            except ValueError:
                decoded = {}
            self.payloads[e.seq] = decoded if isinstance(decoded, dict) else {}
        found = self.payloads[e.seq].get("data")
        return found if isinstance(found, dict) else {}

    def by_hash(self) -> dict[str, ChainEvent]:
        return {e.hash: e for e in self.events}

    def finding_events(self) -> dict[int, list[ChainEvent]]:
        """The finding_submitted / _rejected / _verified events, per finding id, in chain order."""
        out: dict[int, list[ChainEvent]] = {}
        for e in self.events:
            if e.event in FINDING_EVENTS:
                finding = self.data(e).get("finding")
                if isinstance(finding, int):
                    out.setdefault(finding, []).append(e)
        return out

    def escalations(self) -> list[ChainEvent]:
        """Escalations: every `escalate`, and the revocations and expiries the system actor fired."""
        return [e for e in self.events if e.event in ESCALATION_EVENTS
                and (e.event == Event.ESCALATE or e.actor == SYSTEM_ACTOR)]


def instant(e: ChainEvent) -> datetime:
    """An event's time (aware, UTC) from its hashed text."""
    return datetime.fromisoformat(e.occurred_at)


def event_ref(e: ChainEvent, at: datetime | None = None) -> EventRef:
    """How a report names an audit event: database id, enterprise, sequence number and hash; `at`: its
    instant as the report shows it (default: UTC)."""
    return EventRef(id=e.id, enterprise=e.enterprise, seq=e.seq, hash=e.hash, event=e.event,
                    at=at if at is not None else instant(e))


def load_trails(session: Session, rows: Sequence[Mapping[str, Any]], then: AsOf) -> dict[int, Trail]:
    """The verified chains of these enterprises (full enterprise rows, as they stood at `then.at`), keyed
    by enterprise id: their events up to `then.at`."""
    codes = {r["id"]: r["credit_code"] for r in rows}
    events: dict[int, list[ChainEvent]] = {i: [] for i in codes}
    event = then.table(EVENT)
    for r in session.execute(select(*(event.c[c] for c in _COLUMNS)).where(event.c.enterprise_id.in_(list(codes)))
                             .order_by(event.c.enterprise_id, event.c.seq)):
        events[r[0]].append(ChainEvent(codes[r[0]], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                                       utc_text(r[10]), r[11], r[12], r[13], r[14]))
    rewrites = _checkpoint_breaks(session, codes, then)
    return {r["id"]: Trail(r["credit_code"], events[r["id"]],
                           _chain_breaks(r, events[r["id"]]) + rewrites.get(r["id"], [])) for r in rows}


def _chain_breaks(row: Mapping[str, Any], events: list[ChainEvent]) -> list[Break]:
    if not events:
        return [Break(row["credit_code"], 1, "missing", "the enterprise has no audit events at all")]
    broken = verify_chain(events, row["version"])
    if broken is None:
        broken = _projection(row, events)
    return [broken] if broken else []


def _projection(row: Mapping[str, Any], events: list[ChainEvent]) -> Break | None:
    """The enterprise row against what replaying its chain gives (an edit behind the trail)."""
    table, replayed = trail.projection(row), trail.replay(events) or {}
    differences = [f"{k}: table {table[k]!r}, log {replayed.get(k)!r}" for k in table if table[k] != replayed.get(k)]
    if not differences:
        return None
    return Break(row["credit_code"], events[-1].seq, "projection",
                 "the enterprise row differs from its audit trail (edited outside safegrade): "
                 + "; ".join(differences[:5]))


def _checkpoint_breaks(session: Session, codes: Mapping[int, str], then: AsOf) -> dict[int, list[Break]]:
    """Heads recorded by checkpoints (taken by `then.at`) for these enterprises that are no longer in their
    chains."""
    out: dict[int, list[Break]] = {}
    event, checkpoint = then.table(EVENT), then.table(CHECKPOINT)
    query = (
        select(CHECKPOINT_HEAD.c.checkpoint_id, CHECKPOINT_HEAD.c.enterprise_id, CHECKPOINT_HEAD.c.seq,
               checkpoint.c.taken_at, event.c.hash)
        .join(checkpoint, checkpoint.c.id == CHECKPOINT_HEAD.c.checkpoint_id)
        .outerjoin(event, (event.c.enterprise_id == CHECKPOINT_HEAD.c.enterprise_id)
                   & (event.c.seq == CHECKPOINT_HEAD.c.seq))
        .where(CHECKPOINT_HEAD.c.enterprise_id.in_(list(codes)),
               (event.c.hash.is_(None)) | (event.c.hash != CHECKPOINT_HEAD.c.hash))
        .order_by(CHECKPOINT_HEAD.c.enterprise_id, CHECKPOINT_HEAD.c.checkpoint_id))
    for cp_id, ent_id, seq, taken_at, now in session.execute(query):
        out.setdefault(ent_id, []).append(rewritten(codes[ent_id], seq, cp_id, utc_text(taken_at), now is None))
    return out


def verification(trail: Trail, local: Any) -> ChainCheck:
    """The chain's verification result as the report shows it: ok, counts, head, and each break with
    the event it names (id and hash, when that event is still there)."""
    seqs = {e.seq: e for e in trail.events}
    breaks = []
    for b in trail.breaks:
        at = seqs.get(b.seq)
        breaks.append(ChainBreak(seq=b.seq, kind=b.kind, kind_label=BREAK_LABELS.get(b.kind, b.kind),
                                 detail=b.detail, event_id=at.id if at else None, hash=at.hash if at else None,
                                 event=at.event if at else None, at=local(instant(at)) if at else None))
    head = trail.events[-1] if trail.events else None
    return ChainCheck(ok=not breaks, events=len(trail.events), head_seq=head.seq if head else 0,
                      head_hash=head.hash if head else None, breaks=breaks, first_break=breaks[0] if breaks else None)


def files_of(trail: Trail, events: Iterable[ChainEvent]) -> list[TrailFile]:
    """The evidence files a set of finding_submitted events name, in order."""
    out = []
    for e in events:
        for f in trail.data(e).get("evidence") or []:
            if isinstance(f, dict):
                out.append(TrailFile(file=str(f.get("file", "")), sha256=str(f.get("sha256", "")),
                                     size=f.get("size")))
    return out
