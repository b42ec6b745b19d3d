"""Benchmark 11: the HTTP API under load (issue 11).

A real `safegrade web` process (uvicorn, `--workers` processes) on a database of synthetic enterprises, on
SQLite and on PostgreSQL, driven by a load generator in a second process (bench/loadgen.py: an httpx async
client keeping 1, 8 or 32 requests in flight). Measured, each at 1, 8 and 32 concurrent clients:

- an enterprise read (GET /api/v1/enterprises/{code}, a bearer token, the scope policy, the as-of read);
- firing an event (POST …/events with If-Match; each request on its own enterprise; the versions are read
  before the clock starts).

Beside them, measured in the same run: a bare FastAPI endpoint served by the same uvicorn with the same
number of workers (what the HTTP stack alone costs), and `fire_event` called in-process on the same database,
one commit per event (what the API's event rate is compared with).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import ACTOR, ROOT, START, Section, fmt_rate, rules, settings_for, table, timed
from safegrade.auth import issue_token
from safegrade.clock import SystemClock, TestClock
from safegrade.demo.synthetic import synthetic_rows, write_csv
from safegrade.services.actors import add_actor, ensure_system_actor
from safegrade.services.context import Context, open_context
from safegrade.services.ledger import import_ledger
from safegrade.services.lifecycle import fire_event
from safegrade.store import Store, make_engine

LEVELS = (1, 8, 32)
PG_ADMIN_ENV = "SAFEGRADE_TEST_PG_URL"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "sg_bench_api"


@dataclass(frozen=True)
class Sizes:
    enterprises: int = 3_000
    in_process: int = 300  # fire_event calls in-process (the limit for the event rate)
    reads: int = 600  # requests per concurrency level
    fires: int = 300  # requests per concurrency level, each on its own enterprise
    workers: int = 2

    @classmethod
    def quick(cls) -> Sizes:
        return cls(enterprises=400, in_process=40, reads=64, fires=40, workers=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_url() -> str | None:
    """A database of our own on the PostgreSQL server the tests use; None when none answers."""
    admin = os.environ.get(PG_ADMIN_ENV, PG_DEFAULT)
    try:
        import psycopg

        plain = admin.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL for this run
        print(f"[bench] api: no PostgreSQL ({exc}); measuring SQLite only", file=sys.stderr)
        return None
    return admin.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def _world(url: str, work: Path, sizes: Sizes) -> tuple[Context, list[str], str]:
    """A migrated database with `sizes.enterprises` enterprises; the context acting as the bench's bureau
    actor, the credit codes, and a bearer token of that actor."""
    store = Store(make_engine(url, sqlite_synchronous="full"))
    store.migrate()
    clock = TestClock(START)
    settings = settings_for(url, work, "full")
    boot = open_context(settings, clock=clock, store=store, rules=rules())
    ensure_system_actor(boot)
    add_actor(boot, ACTOR, "bureau")
    ctx = open_context(settings, actor=ACTOR, clock=clock, store=store, rules=rules())
    rows = synthetic_rows(sizes.enterprises, seed=47, rules=rules())
    ledger = work / "ledger.csv"
    write_csv(rows, ledger)
    import_ledger(ctx, [ledger])
    clock.advance(timedelta(hours=1))
    # the server runs on the wall clock: the token is issued on it too (the world's clock is in 2023)
    wall = ctx.acting(actor=ACTOR, source="cli", clock=SystemClock(ctx.settings.zone))
    token = issue_token(wall, ACTOR, expires_in=timedelta(days=1), label="bench").token
    return ctx, [r["统一社会信用代码"] for r in rows], token


def _serve(argv: list[str], url_probe: str, token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SAFEGRADE_WEB_SECRET": secrets.token_hex(32), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1"}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(url_probe, headers=headers, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not answer {url_probe} within 60 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _load(url: str, mode: str, concurrency: int, requests: int, *, token: str = "", codes: Path | None = None
          ) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.loadgen", "--url", url, "--mode", mode, "--concurrency", str(concurrency),
            "--requests", str(requests), "--token", token]
    if codes is not None:
        argv += ["--codes", str(codes)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _backend(name: str, url: str, work: Path, sizes: Sizes) -> dict[str, Any]:
    ctx, codes, token = _world(url, work, sizes)
    in_process = codes[:sizes.in_process]
    seconds, _ = timed(lambda: [fire_event(ctx, c, "summon", reason="压力测试：约谈") for c in in_process])
    ctx.store.engine.dispose()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve([sys.executable, "-m", "safegrade", "--db", url, "web", "--host", "127.0.0.1", "--port",
                     str(port), "--workers", str(sizes.workers)], f"{base}/api/v1/me", token)
    runs: dict[str, Any] = {"in_process_rate": sizes.in_process / seconds, "read": {}, "fire": {}}
    try:
        read_codes = work / f"{name}-read.txt"
        read_codes.write_text("\n".join(codes[sizes.in_process:]), encoding="utf-8")
        offset = sizes.in_process
        for level in LEVELS:
            runs["read"][level] = _load(base, "read", level, sizes.reads, token=token, codes=read_codes)
            fresh = work / f"{name}-fire-{level}.txt"
            fresh.write_text("\n".join(codes[offset:offset + sizes.fires]), encoding="utf-8")
            offset += sizes.fires
            runs["fire"][level] = _load(base, "fire", level, sizes.fires, token=token, codes=fresh)
    finally:
        _stop(server)
    return runs


def _bare(sizes: Sizes) -> dict[int, dict[str, Any]]:
    port = _free_port()
    server = _serve([sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1", "--port",
                     str(port), "--workers", str(sizes.workers), "--log-level", "warning"],
                    f"http://127.0.0.1:{port}/bare", "")
    try:
        return {level: _load(f"http://127.0.0.1:{port}/bare", "bare", level, sizes.reads) for level in LEVELS}
    finally:
        _stop(server)


def _ms(value: float) -> str:
    return f"{value:,.1f} ms"


def _statuses(run: dict[str, Any]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in sorted(run["statuses"].items()))


def run(sizes: Sizes) -> Section:
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="sg-bench-api-") as tmp:
        work = Path(tmp)
        bare = _bare(sizes)
        results["SQLite"] = _backend("sqlite", f"sqlite:///{work / 'api.db'}", work, sizes)
        pg = _pg_url()
        if pg is not None:
            results["PostgreSQL"] = _backend("pg", pg, work, sizes)
    rows = []
    for level in LEVELS:
        rows.append(["bare FastAPI endpoint", str(level), fmt_rate(bare[level]["rate"]), _ms(bare[level]["p50_ms"]),
                     _ms(bare[level]["p99_ms"]), _statuses(bare[level])])
    for backend, r in results.items():
        for mode, label in (("read", "enterprise read"), ("fire", "fire an event")):
            for level in LEVELS:
                x = r[mode][level]
                rows.append([f"{backend}: {label}", str(level), fmt_rate(x["rate"]), _ms(x["p50_ms"]),
                             _ms(x["p99_ms"]), _statuses(x)])
    summary = []
    target_db = "PostgreSQL" if "PostgreSQL" in results else "SQLite"
    read32 = results[target_db]["read"][32]
    summary.append([f"11. API enterprise read, 32 clients, {target_db}: p99", _ms(read32["p99_ms"]),
                    f"{_ms(bare[32]['p99_ms'])} bare FastAPI endpoint", "≤ 150 ms",
                    "met" if read32["p99_ms"] <= 150 else "NOT met"])
    for backend, r in results.items():
        best = max(r["fire"].values(), key=lambda x: x["rate"])
        ratio = best["rate"] / r["in_process_rate"]
        summary.append([f"11. API event rate, {backend} (best of 1/8/32 clients: {best['concurrency']})",
                        fmt_rate(best["rate"]),
                        f"{fmt_rate(r['in_process_rate'])} fire_event in-process, same database",
                        "≥ 50% of in-process", f"{ratio:.0%} — {'met' if ratio >= 0.5 else 'NOT met'}"])
    body = [
        f"`safegrade web --workers {sizes.workers}` (uvicorn) on a database of {sizes.enterprises:,} synthetic "
        f"enterprises; the load generator (`bench/loadgen.py`, httpx async) runs in its own process on the same "
        f"{os.cpu_count()}-CPU machine, so client and server share the CPUs. Reads: {sizes.reads} requests per "
        f"level (a bearer token; each request resolves the token, the reader's scope and the as-of read). "
        f"Events: {sizes.fires} `summon` events per level, each on its own enterprise, with `If-Match` (every "
        "version read before the clock starts). Latency is from sending the request to reading the whole answer. "
        "At 32 clients the two CPUs are shared by the server's workers and the load generator: the bare "
        "endpoint's own p99 there is the floor any route's p99 stands on in this set-up.",
        "",
        *table(["what", "clients", "requests/s", "p50", "p99", "statuses"], rows, "lrrrrl"),
        "",
        "The in-process limit calls `fire_event` once per event, one commit each, on the same database before the "
        "server starts: " + "; ".join(f"{b} {fmt_rate(r['in_process_rate'])}" for b, r in results.items()) + ".",
    ]
    figures = {f"{b}_read32_p99_ms": r["read"][32]["p99_ms"] for b, r in results.items()}
    return Section("11. The HTTP API under load", summary, body, figures)
