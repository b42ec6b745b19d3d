"""A load generator for benchmark 11, run as its own process so that it does not share the server's CPU time
slices with the server's event loop: `python -m bench.loadgen --url … --mode read|fire|bare …`.

It keeps `--concurrency` requests in flight (one httpx.AsyncClient, one task per client), each client taking
the next credit code from a shared list, and prints one JSON line: requests, seconds, statuses, and the
latency of every request (p50, p99, max), measured from sending the request to reading the whole answer.

- read: GET /api/v1/enterprises/{code}
- fire: POST /api/v1/enterprises/{code}/events with If-Match (every version is read before the clock starts)
- bare: GET {url} itself (a bare FastAPI endpoint: the limit measured in the same run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _versions(http: httpx.AsyncClient, args: argparse.Namespace, codes: list[str]) -> dict[str, str]:
    """The ETag of each enterprise the run will fire on, read before the clock starts."""
    wanted = [codes[i % len(codes)] for i in range(args.requests)]
    found: dict[str, str] = {}

    async def read(some: list[str]) -> None:
        for code in some:
            found[code] = (await http.get(f"{args.url}/api/v1/enterprises/{code}")).headers.get("etag", "")

    await asyncio.gather(*(read(wanted[k::args.concurrency]) for k in range(args.concurrency)))
    return found


async def _client(http: httpx.AsyncClient, args: argparse.Namespace, codes: list[str], cursor: list[int],
                  latencies: list[float], statuses: dict[str, int], versions: dict[str, str]) -> None:
    while True:
        i = cursor[0]
        if i >= args.requests:
            return
        cursor[0] = i + 1
        code = codes[i % len(codes)]
        headers = {"If-Match": versions[code]} if args.mode == "fire" else {}
        start = time.perf_counter()
        if args.mode == "bare":
            r = await http.get(args.url)
        elif args.mode == "read":
            r = await http.get(f"{args.url}/api/v1/enterprises/{code}")
        else:
            r = await http.post(f"{args.url}/api/v1/enterprises/{code}/events", headers=headers,
                                json={"event": "summon", "reason": "压力测试：约谈"})
        await r.aread()
        latencies.append(time.perf_counter() - start)
        statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1


async def _run(args: argparse.Namespace) -> dict[str, object]:
    codes = Path(args.codes).read_text(encoding="utf-8").split() if args.codes else ["-"]
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    cursor = [0]
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as http:
        versions = await _versions(http, args, codes) if args.mode == "fire" else {}
        start = time.perf_counter()
        await asyncio.gather(*(_client(http, args, codes, cursor, latencies, statuses, versions)
                               for _ in range(args.concurrency)))
        seconds = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"mode": args.mode, "concurrency": args.concurrency, "requests": len(latencies), "seconds": seconds,
            "rate": len(latencies) / seconds if seconds else 0.0, "statuses": statuses,
            "p50_ms": _quantile(ordered, 0.50) * 1000, "p99_ms": _quantile(ordered, 0.99) * 1000,
            "max_ms": (ordered[-1] if ordered else float("nan")) * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", choices=("read", "fire", "bare"), required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--codes", default="", help="a file of credit codes, one per line (read, fire)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
