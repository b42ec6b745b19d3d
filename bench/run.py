"""Run every benchmark and write BENCHMARKS.md (`make bench`).

    .venv/bin/python bench/run.py [--quick] [--out FILE]
        [--only single,batched,verify,import,assess,circular,sweep,startup,dated,api]

Each figure is printed beside the limit it is compared with, measured in the same run on the same
machine, and beside the target from the issue. Nothing here asserts on time.
"""

from __future__ import annotations

import os

os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

# Run as `python bench/run.py`, Python puts bench/ first on sys.path, where bench/transitions.py would
# shadow the `transitions` library: take it off and put the project root there instead.
_BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_BENCH_DIR.parent))

from bench import (  # noqa: E402
    api_load,
    assessments,
    circular,
    dated_rows,
    ledger_import,
    startup,
    sweep,
    transitions,
    verify,
)
from bench.common import (  # noqa: E402
    ROOT,
    Section,
    environment,
    fmt_mb,
    fmt_s,
    process_peak_mb,
    reset_peak,
    rss_mb,
    table,
)


@dataclass
class Ran:
    section: Section
    seconds: float
    peak_mb: float      # this process's VmHWM during the benchmark
    load_before: float  # 1-minute load average
    load_after: float


def _filesystem(path: str) -> str:
    """The mount and file system type a path lives on (fsync costs depend on it)."""
    best = ("?", "?")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mount, fstype, *_ = line.split()
            if path.startswith(mount) and len(mount) >= len(best[0]):
                best = (mount, fstype)
    except OSError:
        pass
    return f"{path} ({best[1]} mounted on {best[0]})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for checking the bench itself")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default BENCHMARKS.md; "
                                                               "with --quick, stdout)")
    parser.add_argument("--only", default="single,batched,verify,import,assess,circular,sweep,startup,dated,api")
    args = parser.parse_args(argv)
    quick = args.quick
    baseline = rss_mb()[0]

    t_sizes = transitions.Sizes.quick() if quick else transitions.Sizes()
    v_sizes = verify.Sizes.quick() if quick else verify.Sizes()
    i_sizes = ledger_import.Sizes.quick() if quick else ledger_import.Sizes()
    a_sizes = assessments.Sizes.quick() if quick else assessments.Sizes()
    c_sizes = circular.Sizes.quick() if quick else circular.Sizes()
    s_sizes = sweep.Sizes.quick() if quick else sweep.Sizes()
    dr_sizes = dated_rows.Sizes.quick() if quick else dated_rows.Sizes()
    st_sizes = startup.Sizes.quick() if quick else startup.Sizes()
    api_sizes = api_load.Sizes.quick() if quick else api_load.Sizes()
    plan: dict[str, Callable[[], Section]] = {
        "single": lambda: transitions.single(t_sizes),
        "batched": lambda: transitions.batched(t_sizes),
        "verify": lambda: verify.run(v_sizes),
        "import": lambda: ledger_import.run(i_sizes),
        "assess": lambda: assessments.run(a_sizes),
        "circular": lambda: circular.run(c_sizes),
        "sweep": lambda: sweep.run(s_sizes),
        "startup": lambda: startup.run(st_sizes),
        "dated": lambda: dated_rows.run(dr_sizes),
        "api": lambda: api_load.run(api_sizes),
    }
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - plan.keys()
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {', '.join(sorted(unknown))}; known: {', '.join(plan)}")
    chosen = sorted(set(chosen), key=list(plan).index)  # in the order of their numbers

    sections: list[Ran] = []
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    for name in chosen:
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        reset_peak()
        t0 = time.perf_counter()
        section = plan[name]()
        took = time.perf_counter() - t0
        sections.append(Ran(section, took, rss_mb()[1], load_before, os.getloadavg()[0]))
        print(f"[bench] {name} done in {took:.1f} s: "
              + "; ".join(f"{row[0]}: {row[1]} ({row[4]})" for row in section.summary), file=sys.stderr, flush=True)
    total = time.perf_counter() - start

    env = environment()
    own_peak = process_peak_mb()
    # ru_maxrss of children is no use here: a child started by (v)fork + exec is charged the parent's RSS
    # at the exec; each case process reads its own VmHWM instead.
    child_peak = max((r.section.figures.get("max_child_peak_mb", 0.0) for r in sections), default=0.0)
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`bench/run.py`{' --quick' if quick else ''}) on "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; the whole run took {fmt_s(total)}.",
        "",
        f"**Machine and versions:** Python {env['python']}, SQLite {env['sqlite']}, SQLAlchemy {env['sqlalchemy']}, "
        f"SQLModel {env['sqlmodel']}, openpyxl {env['openpyxl']}; CPU count {env['cpus']}; {env['platform']}; "
        f"temp directories on {_filesystem(tempfile.gettempdir())}.",
        "",
        "Every figure stands beside a limit measured in the same run on this machine — the stdlib `sqlite3` "
        "module or `hashlib` doing the same work without safegrade — and beside the target from the issue. "
        + (f"The figures with a target are medians of {t_sizes.repeats} interleaved runs (min–max shown beside "
         "them); the other figures are single runs." if t_sizes.repeats > 1 else "All figures are single runs.")
        + " The fsync-bound figures (synchronous=FULL) depend on the disk. Nothing asserts on time.",
        "",
        f"Other work on the machine: the 1-minute load average was {load_start:.2f} when the run began and "
        f"{os.getloadavg()[0]:.2f} when it ended, on {env['cpus'].split()[0]} CPUs (each benchmark's own "
        "figures are below). Other processes slow safegrade and its limits alike, so the ratios "
        "(\"safegrade reaches x %\") are steadier than the absolute rates.",
        "",
        "## Summary",
        "",
        *table(["benchmark", "measured", "limit measured here", "target", "verdict"],
               [row for ran in sections for row in ran.section.summary], "lrrrl"),
        "",
    ]
    for ran in sections:
        lines += [f"## {ran.section.title}", "",
                  f"_This benchmark took {fmt_s(ran.seconds)} in all (set-up included); load average "
                  f"{ran.load_before:.2f} before it, {ran.load_after:.2f} after._", "", *ran.section.body, ""]
    lines += [
        "## 6. Memory of the whole bench, and versions",
        "",
        *table(["what", "peak RSS"], [
            ["this bench process (`bench/run.py`: benchmarks 1–3 run in it; VmHWM)", fmt_mb(own_peak)],
            ["  its RSS after its imports (baseline)", fmt_mb(baseline)],
            *[[f"  its peak during benchmark {r.section.title}", fmt_mb(r.peak_mb)] for r in sections],
            ["the largest child process (the cases of benchmarks 4 and 5, each its own VmHWM)",
             fmt_mb(child_peak) if child_peak else "– (not run)"],
        ], "lr"),
        "",
        "Memory a benchmark frees is not necessarily given back to the system, so each benchmark's peak in "
        "this process is at least the RSS the benchmarks before it left behind; the bench's own data (the "
        "synthetic rows, the bytes the hashing limit hashes) is in these peaks too, while the peaks of "
        "`verify_audit` and of each import case alone are in sections 3, 4 and 5.",
        "",
        f"Python {env['python']} · SQLite {env['sqlite']} · SQLAlchemy {env['sqlalchemy']} · "
        f"SQLModel {env['sqlmodel']} · openpyxl {env['openpyxl']} · CPUs {env['cpus']} · {env['executable']}",
        "",
    ]
    text = "\n".join(lines)
    out = args.out if args.out is not None else (None if quick else ROOT / "BENCHMARKS.md")
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(f"[bench] wrote {out} ({total:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
