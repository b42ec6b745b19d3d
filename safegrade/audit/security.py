"""The security log in the database: one insert-only hash chain of account changes, sign-ins, failures and
lockouts (safegrade.auth writes it; `audit verify` checks it).

Each event's hash covers its content — seq, instant, kind, subject, by, source, client, the detail as stored
(canonical JSON) — and the previous event's hash, the way the audit trail's chains do (safegrade.audit.chain).
There is one chain, so appends take turns: on PostgreSQL a transaction-scoped advisory lock (as the audit
checkpoints take theirs), on SQLite the one writer (every write transaction begins IMMEDIATE); the unique
`seq` refuses a second head in any case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from safegrade.audit.chain import GENESIS, canonical_json, utc_text
from safegrade.models import SecurityEvent, table

SECURITY = table(SecurityEvent)

KINDS: tuple[str, ...] = (
    "account_added", "password_set", "password_changed", "account_disabled", "account_enabled",
    "contacts_changed", "token_issued", "token_revoked", "sign_in", "sign_in_failed", "locked", "sign_out",
    "session_expired",
)

_LOCK = 0x5AFE5EC0  # the advisory lock key of the security log's chain (any constant, used only here)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def security_hash(seq: int, occurred_at: str, kind: str, subject: str, by: str, source: str, client: str | None,
                  detail: str, prev_hash: str) -> str:
    body = _COMPACT.encode([seq, occurred_at, kind, subject, by, source, client, detail, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(session: Session, *, at: datetime, kind: str, subject: str, by: str, source: str, client: str | None,
           detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Link one event to the head of the chain, in the caller's transaction; the row as inserted."""
    if kind not in KINDS:
        raise ValueError(f"unknown security event kind {kind!r}")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    head = session.execute(select(SECURITY.c.seq, SECURITY.c.hash).order_by(SECURITY.c.seq.desc()).limit(1)
                           ).one_or_none()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    stored = canonical_json(dict(detail or {}))
    subject, by = subject[:64], by[:64]
    client = client[:64] if client else client
    row = {"seq": seq, "occurred_at": at, "kind": kind, "subject": subject, "by": by, "source": source,
           "client": client, "detail": stored, "prev_hash": prev_hash,
           "hash": security_hash(seq, utc_text(at), kind, subject, by, source, client, stored, prev_hash)}
    session.execute(insert(SECURITY), [row])
    return row


@dataclass(frozen=True, slots=True)
class SecurityBreak:
    """The first place the security log's chain is broken: the seq, what was done (changed, missing,
    inserted) and in words."""

    seq: int
    reason: str  # changed | missing | inserted
    detail: str

    def __str__(self) -> str:
        return f"security log seq {self.seq}: {self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class _Link:
    seq: int
    hash: str
    prev_hash: str
    recomputed: str


def _links(session: Session, batch: int = 20_000) -> Iterator[_Link]:
    s = SECURITY.c
    query = select(s.seq, s.occurred_at, s.kind, s.subject, s.by, s.source, s.client, s.detail, s.prev_hash,
                   s.hash).order_by(s.seq).execution_options(yield_per=batch)
    for r in session.execute(query):
        yield _Link(r[0], r[9], r[8], security_hash(r[0], utc_text(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8]))


def verify(session: Session) -> tuple[int, SecurityBreak | None]:
    """(events, the first break or None): each event's hash recomputed over what is stored, each linked to
    the one before it, the seqs without a gap from 1."""
    return first_break(_links(session))


def first_break(links: Iterator[_Link] | Sequence[_Link]) -> tuple[int, SecurityBreak | None]:
    count = 0
    previous: _Link | None = None
    two_back = GENESIS
    for link in links:
        count += 1
        expected_seq = previous.seq + 1 if previous else 1
        expected_prev = previous.hash if previous else GENESIS
        if link.seq != expected_seq:
            return count, SecurityBreak(expected_seq, "missing",
                                        f"event(s) {expected_seq}..{link.seq - 1} are missing from the log")
        if link.recomputed != link.hash:
            return count, SecurityBreak(link.seq, "changed", "its content no longer matches its hash (an edit)")
        if link.prev_hash != expected_prev:
            if previous is not None and link.prev_hash == two_back:
                return count, SecurityBreak(previous.seq, "inserted",
                                            f"the event at seq {previous.seq} is not part of the chain (inserted)")
            return count, SecurityBreak(link.seq, "missing",
                                        f"the event it was chained to (before seq {link.seq}) is gone or was replaced")
        two_back = previous.hash if previous else GENESIS
        previous = link
    return count, None
