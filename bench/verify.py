"""Benchmark 3: `verify_audit` over a large trail, against hashing the same bytes with hashlib alone and
against merely reading the rows (SQLAlchemy Core, and the stdlib sqlite3 module).

The trail is built fast: a synthetic ledger imported in one transaction (one `register` event per
enterprise), then one `summon` each (graded → interview) through fire_many in batches of 1,000.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench.common import (
    Section,
    World,
    fmt_mb,
    fmt_rate,
    fmt_s,
    median,
    new_world,
    populate,
    profile,
    profile_markdown,
    rate,
    raw_connection,
    reset_peak,
    rss_mb,
    share,
    spread,
    table,
    timed,
    verdict,
)
from safegrade.audit.chain import utc_text
from safegrade.models import AuditEvent, Enterprise
from safegrade.services.auditing import verify_audit
from safegrade.services.lifecycle import FireRequest, fire_many

EVENT_T = AuditEvent.__table__  # type: ignore[attr-defined]
ENTERPRISE_T = Enterprise.__table__  # type: ignore[attr-defined]
TARGET = 100_000.0
EVENT = "summon"  # graded → interview, fired by hand; no data
BATCH = 1_000
# the columns safegrade.audit.trail reads to verify a chain, in its order
COLUMNS = ("enterprise_id", "seq", "event", "from_state", "to_state", "actor", "role", "source", "reason", "payload",
           "occurred_at", "rules_version", "prev_hash", "hash", "id")


@dataclass
class Sizes:
    enterprises: int = 100_000   # × 2 events (register + summon)
    profile_enterprises: int = 20_000
    repeats: int = 3

    @classmethod
    def quick(cls) -> Sizes:
        return cls(enterprises=5_000, profile_enterprises=2_000, repeats=1)


def build(world: World, n: int, seed: int, workdir: Path) -> tuple[float, float]:
    """n enterprises with two events each; (seconds to import, seconds to fire) — not part of the figure."""
    import_s, codes = timed(lambda: populate(world, n, seed=seed, workdir=workdir))
    def fire() -> None:
        for i in range(0, len(codes), BATCH):
            fire_many(world.ctx, [FireRequest(c, EVENT, "bench: interview") for c in codes[i:i + BATCH]], strict=True)
    fire_s, _ = timed(fire)
    return import_s, fire_s


def read_core(world: World) -> int:
    """Stream the chains' rows the way safegrade.audit.trail does (ordered, yield_per), touching every row."""
    query = select(*(EVENT_T.c[c] for c in COLUMNS)).order_by(EVENT_T.c.enterprise_id, EVENT_T.c.seq)
    n = 0
    with world.store.read() as session:
        for _row in session.execute(query.execution_options(yield_per=20_000)):
            n += 1
    return n


def read_raw(db: Path) -> int:
    conn = raw_connection(db, "full")
    n = 0
    try:
        cur = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_event ORDER BY enterprise_id, seq")
        while rows := cur.fetchmany(20_000):
            n += len(rows)
    finally:
        conn.close()
    return n


def hash_inputs(world: World) -> tuple[list[bytes], int]:
    """The exact bytes auditchain.event_hash hashes for every event, and how many of the stored hashes
    they reproduce (a check that the limit hashes the same bytes)."""
    query = (select(ENTERPRISE_T.c.credit_code, *(EVENT_T.c[c] for c in COLUMNS[2:13]), EVENT_T.c.hash)
             .join(ENTERPRISE_T, ENTERPRISE_T.c.id == EVENT_T.c.enterprise_id)
             .order_by(EVENT_T.c.enterprise_id, EVENT_T.c.seq))
    bodies: list[bytes] = []
    reproduced = 0
    with world.store.read() as session:
        for r in session.execute(query.execution_options(yield_per=20_000)):
            fields = [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], utc_text(r[9]), r[10], r[11]]
            body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            bodies.append(body)
            reproduced += hashlib.sha256(body).hexdigest() == r[12]
    return bodies, reproduced


def sha256_all(bodies: list[bytes]) -> int:
    sha = hashlib.sha256
    n = 0
    for body in bodies:
        sha(body).hexdigest()
        n += 1
    return n


def event_hash_all(bodies: list[bytes], chunk: int = 10_000) -> float:
    """Seconds for auditchain.event_hash over each event's twelve fields; the fields are decoded from the
    bytes a chunk at a time, outside the timed loops, so all events' fields never sit in memory at once."""
    from safegrade.audit.chain import event_hash

    def loop(part: list[list[str]]) -> None:
        for f in part:
            event_hash(*f)

    total = 0.0
    for i in range(0, len(bodies), chunk):
        part = [json.loads(b) for b in bodies[i:i + chunk]]
        seconds, _ = timed(lambda p=part: loop(p))
        total += seconds
    return total


def run(sizes: Sizes) -> Section:
    with tempfile.TemporaryDirectory(prefix="sg-bench-verify-") as d:
        tmp = Path(d)
        world = new_world(tmp / "verify.db", "full")
        import_s, fire_s = build(world, sizes.enterprises, seed=21, workdir=tmp)

        rss_before, _ = rss_mb()
        reset_peak()
        runs: dict[str, list[float]] = {k: [] for k in ("verify", "core", "raw", "sha", "eh")}
        for i in range(sizes.repeats):  # each kind of run in turn, so that all see the same machine
            verify_s, report = timed(lambda: verify_audit(world.ctx))
            runs["verify"].append(verify_s)
            if i == 0:
                verify_peak = rss_mb()[1]
            core_s, core_n = timed(lambda: read_core(world))
            runs["core"].append(core_s)
            raw_s, raw_n = timed(lambda: read_raw(world.db))
            runs["raw"].append(raw_s)
        # the hashing limits last, so that the bytes they hash (held in memory) do not sit under verify's peak
        bodies, reproduced = hash_inputs(world)  # untimed
        for _ in range(sizes.repeats):
            sha_s, _ = timed(lambda: sha256_all(bodies))
            runs["sha"].append(sha_s)
            runs["eh"].append(event_hash_all(bodies))
        world.close()
        total_bytes = sum(len(b) for b in bodies)
        events = report.events
        verify_s, core_s, raw_s, sha_s, eh_s = (median(runs[k]) for k in ("verify", "core", "raw", "sha", "eh"))

        small = new_world(tmp / "profile.db", "full")
        build(small, sizes.profile_enterprises, seed=22, workdir=tmp)
        prof = profile(f"verify_audit over {2 * sizes.profile_enterprises:,} events "
                       f"({sizes.profile_enterprises:,} chains)", lambda: verify_audit(small.ctx))
        small.close()

    v = rate(events, verify_s)
    figures = {"verify": v, "verify_s": verify_s, "sha256": rate(events, sha_s), "event_hash": rate(events, eh_s),
               "read_core": rate(core_n, core_s), "read_raw": rate(raw_n, raw_s), "events": events,
               "verify_peak_mb": verify_peak, "import_s": import_s, "fire_s": fire_s}
    summary = [[f"3. audit verify ({events:,} events)", fmt_rate(v),
                f"{fmt_rate(rate(events, sha_s))} raw sha256; {fmt_rate(rate(core_n, core_s))} Core read alone",
                f"≥ {fmt_rate(TARGET)}", verdict(v >= TARGET)]]

    def rates(key: str, n: int) -> str:
        return spread([rate(n, x) for x in runs[key]], fmt_rate)

    rows = [
        ["`verify_audit` (safegrade)", rates("verify", events), fmt_s(verify_s), "100%", f"≥ {fmt_rate(TARGET)}",
         verdict(v >= TARGET)],
        ["limit: `hashlib.sha256(body).hexdigest()` over the same bytes", rates("sha", events),
         fmt_s(sha_s), share(sha_s, verify_s), "", ""],
        ["`auditchain.event_hash(...)` on already-read fields (JSON + sha256)", rates("eh", events),
         fmt_s(eh_s), share(eh_s, verify_s), "", ""],
        ["limit: read the rows with SQLAlchemy Core (same query, yield_per)", rates("core", core_n),
         fmt_s(core_s), share(core_s, verify_s), "", ""],
        ["read the rows with the stdlib sqlite3 module", rates("raw", raw_n), fmt_s(raw_s),
         share(raw_s, verify_s), "", ""],
    ]
    ok = "all chains intact" if report.ok else f"{len(report.breaks)} break(s) — the figure is not meaningful"
    body = [
        f"{events:,} events in {report.chains:,} chains and {report.checkpoints} checkpoint(s); verify says: {ok}.", "",
        *table(["what", "events/s", "time (median)", "share of verify's time", "target", "verdict"], rows,
               "lrrrrl"),
        "",
        f"Hash check of the limit's input: {reproduced:,} of {events:,} stored hashes reproduced from the bytes "
        f"hashed ({total_bytes / max(events, 1):.0f} bytes an event on average). Peak RSS during `verify_audit`: "
        f"{fmt_mb(verify_peak)}, {fmt_mb(verify_peak - rss_before)} above the RSS before it "
        f"({fmt_mb(rss_before)}; first run).", "",
        f"**How measured.** A fresh temp directory and database; {sizes.enterprises:,} synthetic enterprises "
        f"imported with `import_ledger` ({fmt_s(import_s)}), then one `{EVENT}` each with `fire_many` in "
        f"batches of {BATCH:,} ({fmt_s(fire_s)}, {fmt_rate(rate(sizes.enterprises, fire_s))} events — a second "
        "data point for benchmark 2 at this size); neither is part of the figure. Then timed calls of "
        f"`safegrade.services.auditing.verify_audit`, {sizes.repeats} of them, each followed by one run of each "
        f"read; then {sizes.repeats} runs of each hashing limit; medians are the figures. The limits run on the "
        "same database: "
        "the bytes are built exactly as `auditchain.event_hash` builds them (JSON list of the twelve fields, "
        "`ensure_ascii=False`, compact separators, UTF-8) before the timed `hashlib.sha256` loop; the reads "
        "select the columns `safegrade.audit.trail` selects, ordered by (enterprise_id, seq).", "",
        *profile_markdown(prof),
    ]
    return Section("3. Audit verify", summary, body, figures)
