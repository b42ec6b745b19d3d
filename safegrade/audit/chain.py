"""The audit trail's hash chains, with nothing but the standard library.

This one file is both halves of the trust: safegrade computes every event's hash with it, and an
outside reviewer verifies an exported trail with it, without the database or the rest of safegrade:

    python -m safegrade.audit.chain trail.jsonl      (or: python auditchain.py trail.jsonl)

Each event's hash covers its content and the previous event's hash in the same enterprise's chain.
The order of a chain is its links, so a verifier can tell what was done to it: an event changed,
missing, inserted, or reordered. Checkpoints chain the heads of all chains at moments in time, so
rewriting a whole chain after a checkpoint is caught too.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

FORMAT = "safegrade-audit/1"
GENESIS = "0" * 64


def utc_text(at: datetime) -> str:
    """The one textual form of an instant that is hashed: UTC, microseconds, 'Z'."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: object) -> str:
    """Instants as `utc_text`, dates as ISO; anything else is refused rather than guessed."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in an audit payload")


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder, not one per call


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text."""
    return _CANONICAL.encode(value)


def event_hash(
    enterprise: str,
    event: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    role: str,
    source: str,
    reason: str,
    payload: str,
    occurred_at: str,
    rules_version: str,
    prev_hash: str,
) -> str:
    body = _COMPACT.encode([enterprise, event, from_state, to_state, actor, role, source, reason, payload,
                            occurred_at, rules_version, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def checkpoint_hash(taken_at: str, last_event_id: int, heads: int, heads_digest: str, actor: str,
                    prev_hash: str) -> str:
    body = json.dumps([taken_at, last_event_id, heads, heads_digest, actor, prev_hash], separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def heads_digest(heads: Iterable[tuple[str, int, str]]) -> str:
    """Digest of (enterprise, seq, hash) heads, independent of the order they are given in."""
    digest = hashlib.sha256()
    for enterprise, seq, head in sorted(heads):
        digest.update(f"{enterprise}\t{seq}\t{head}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ChainEvent:
    enterprise: str
    seq: int
    event: str
    from_state: str | None
    to_state: str
    actor: str
    role: str
    source: str
    reason: str
    payload: str
    occurred_at: str
    rules_version: str
    prev_hash: str
    hash: str
    id: int = 0

    def recomputed(self) -> str:
        return event_hash(self.enterprise, self.event, self.from_state, self.to_state, self.actor, self.role,
                          self.source, self.reason, self.payload, self.occurred_at, self.rules_version,
                          self.prev_hash)


@dataclass(frozen=True)
class Break:
    """The first thing wrong with one chain (or with the checkpoints: enterprise '(checkpoints)')."""

    enterprise: str
    seq: int
    kind: str  # changed | missing | inserted | reordered | time | head | checkpoint | projection
    detail: str

    def __str__(self) -> str:
        return f"{self.enterprise} seq {self.seq}: {self.kind}: {self.detail}"


def verify_chain(events: Sequence[ChainEvent], head_seq: int | None = None) -> Break | None:
    """The first break in one enterprise's chain, its events given in seq order; None when intact.

    `head_seq` is where the chain should end (the enterprise's version), to catch a removed tail.
    """
    if not events:
        return None
    code = events[0].enterprise
    expected, last_time = GENESIS, ""
    for i, e in enumerate(events):
        if e.prev_hash != expected:
            return Break(code, e.seq, *_classify(events, i))
        if e.recomputed() != e.hash:
            return Break(code, e.seq, "changed", "its content no longer matches its hash (an edit)")
        if e.occurred_at < last_time:
            return Break(code, e.seq, "reordered", f"its time {e.occurred_at} is before the previous event's "
                                                   f"{last_time}")
        expected, last_time = e.hash, e.occurred_at
    if head_seq is not None and events[-1].seq != head_seq:
        if events[-1].seq < head_seq:
            return Break(code, events[-1].seq + 1, "missing",
                         f"the chain ends at seq {events[-1].seq} but the enterprise is at version {head_seq}: "
                         "its latest event(s) were removed")
        return Break(code, head_seq + 1, "inserted",
                     f"the chain runs to seq {events[-1].seq} but the enterprise is at version {head_seq}")
    return None


def _classify(events: Sequence[ChainEvent], i: int) -> tuple[str, str]:
    """Why event i is not linked to event i-1: what was done to the chain."""
    e = events[i]
    previous_seq = events[i - 1].seq if i else 0
    if e.seq != previous_seq + 1:
        return ("missing", f"event(s) {previous_seq + 1}..{e.seq - 1} are missing from the chain")
    two_back = events[i - 2].hash if i >= 2 else GENESIS
    if i >= 1 and e.prev_hash == two_back:
        return ("inserted", f"the event at seq {events[i - 1].seq} is not part of the chain (inserted)")
    later = {x.hash: x.seq for x in events[i + 1:]}
    if e.prev_hash in later:
        return ("reordered", f"it follows seq {later[e.prev_hash]} in the chain, not seq {previous_seq}")
    return ("missing", f"the event it was chained to (before seq {e.seq}) is gone or was replaced")


@dataclass
class Report:
    """What a verification found: counts, and the first break of each broken chain."""

    events: int = 0
    chains: int = 0
    checkpoints: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_checkpoints(
    checkpoints: Sequence[dict[str, Any]], chain_hashes: Mapping[tuple[str, int], str] | None
) -> list[Break]:
    """Checkpoints in id order: their own chain, and that every head they recorded is still there.

    Each checkpoint is a dict with taken_at, last_event_id, heads, heads_digest, actor, prev_hash, hash
    and `head_list` [(enterprise, seq, hash), …]; `chain_hashes` maps (enterprise, seq) → hash today
    (None: the caller compares the heads itself, as the database does with one join).
    """
    breaks: list[Break] = []
    expected = GENESIS
    for n, cp in enumerate(checkpoints, start=1):
        where = f"(checkpoint {cp.get('id', n)})"
        if cp["prev_hash"] != expected:
            breaks.append(Break(where, 0, "checkpoint", "not chained to the checkpoint before it"))
            return breaks
        recomputed = checkpoint_hash(cp["taken_at"], cp["last_event_id"], cp["heads"], cp["heads_digest"],
                                     cp["actor"], cp["prev_hash"])
        if recomputed != cp["hash"] or heads_digest(cp["head_list"]) != cp["heads_digest"]:
            breaks.append(Break(where, 0, "checkpoint", "its content no longer matches its hash"))
            return breaks
        if chain_hashes is not None:
            for enterprise, seq, head in cp["head_list"]:
                now = chain_hashes.get((enterprise, seq))
                if now != head:
                    breaks.append(rewritten(enterprise, seq, cp.get("id", n), cp["taken_at"], now is None))
        expected = cp["hash"]
    return breaks


def rewritten(enterprise: str, seq: int, checkpoint: object, taken_at: str, gone: bool) -> Break:
    what = "is gone" if gone else "has a different hash"
    return Break(enterprise, seq, "checkpoint", f"the event recorded at checkpoint {checkpoint} ({taken_at}) {what}: "
                                                "the chain was rewritten after it")


@dataclass
class _Export:
    """An exported trail as read: each chain's events, each chain's head seq, the checkpoints."""

    chains: dict[str, list[ChainEvent]] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


def _read_export(lines: Iterable[str]) -> _Export | Break:
    """The records of an exported trail, or the first line that is not in its format."""
    read = _Export()
    header_seen = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            kind = rec["type"]
        except (ValueError, KeyError, TypeError):
            return Break("(file)", number, "format", "not a JSON object with a 'type'")
        if kind == "header":
            header_seen = rec.get("format") == FORMAT
            if not header_seen:
                return Break("(file)", number, "format", f"format {rec.get('format')!r}, need {FORMAT}")
        elif kind == "event":
            read.chains.setdefault(rec["enterprise"], []).append(ChainEvent(
                rec["enterprise"], rec["seq"], rec["event"], rec["from_state"], rec["to_state"], rec["actor"],
                rec["role"], rec["source"], rec["reason"], rec["payload"], rec["occurred_at"],
                rec["rules_version"], rec["prev_hash"], rec["hash"], rec.get("id", 0)))
        elif kind == "head":
            read.heads[rec["enterprise"]] = rec["seq"]
        elif kind == "checkpoint":
            read.checkpoints.append(rec | {"head_list": [tuple(h) for h in rec["head_list"]]})
    if not header_seen:
        return Break("(file)", 1, "format", f"no header line of format {FORMAT}")
    return read


def verify_lines(lines: Iterable[str]) -> Report:
    """Verify an exported trail (JSON Lines, see safegrade.audit.trail.export) without any database."""
    report = Report()
    read = _read_export(lines)
    if isinstance(read, Break):
        report.breaks.append(read)
        return report
    chains, heads, checkpoints = read.chains, read.heads, read.checkpoints
    hashes: dict[tuple[str, int], str] = {}
    for code, events in chains.items():
        events.sort(key=lambda e: e.seq)
        report.events += len(events)
        hashes.update(((code, e.seq), e.hash) for e in events)
        broken = verify_chain(events, heads.get(code))
        if broken:
            report.breaks.append(broken)
    for code in heads.keys() - chains.keys():
        report.breaks.append(Break(code, 1, "missing", "the file lists a head for this chain but none of its events"))
    report.chains = len(chains)
    report.checkpoints = len(checkpoints)
    report.breaks.extend(verify_checkpoints(checkpoints, hashes))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m safegrade.audit.chain EXPORTED.jsonl", file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as handle:
            report = verify_lines(handle)
    except OSError as exc:
        print(f"cannot read {args[0]}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"{report.events} events in {report.chains} chains, {report.checkpoints} checkpoints")
    for b in report.breaks:
        print(f"BROKEN {b}")
    print("OK: every chain and checkpoint verifies" if report.ok else f"FAILED: {len(report.breaks)} break(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
