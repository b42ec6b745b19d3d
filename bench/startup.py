"""Benchmark 9: how long the `safegrade` command takes to start — `safegrade --help` and a read command
(`safegrade enterprise show CODE` on a SQLite database) as whole processes — beside `python -c pass` and
a bare Typer app (`--help`; and reading the same row through SQLAlchemy Core) measured in the same run.

Every case is a fresh process started by `subprocess.run`, timed from the start to the exit; the cases
run interleaved (one of each, then again) so that other work on the machine slows them alike.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import ACTOR, ROOT, Section, fmt_s, median, new_world, populate, spread, table, verdict

HELP_TARGET_S = 0.35  # from the issue, on this machine
READ_TARGET_S = 0.70
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic_settings", "alembic", "prefect", "openpyxl", "matplotlib", "jinja2",
         "docx", "apprise")

BARE_TYPER = '''\
import sys

import typer

app = typer.Typer(add_completion=False)


@app.command()
def show(code: str) -> None:
    """Show one row."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(sys.argv[1])
    with engine.connect() as conn:
        row = conn.execute(sqlalchemy.text("SELECT credit_code, name, state FROM enterprise WHERE credit_code = :c"),
                           {"c": code}).one()
    print(*row)


@app.command()
def hello() -> None:
    """Say hello."""
    print("hello")


app(args=sys.argv[2:])
'''


@dataclass
class Sizes:
    enterprises: int = 1_000
    repeats: int = 15  # runs of every case, interleaved; medians are shown

    @classmethod
    def quick(cls) -> Sizes:
        return cls(enterprises=20, repeats=3)


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    argv: list[str]
    expect: str  # a piece of the output that shows the case did its work


def _safegrade() -> list[str]:
    script = Path(sys.executable).parent / "safegrade"  # the console script `pip install` made
    return [str(script)] if script.exists() else [sys.executable, "-m", "safegrade"]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGRADE_")}
    return env | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "COLUMNS": "120"}


def _run(argv: Sequence[str], expect: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if done.returncode != 0 or expect not in done.stdout:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}; stdout {done.stdout[-300:]!r}; "
                           f"stderr {done.stderr[-600:]!r}")
    return took


def import_profile(argv: Sequence[str], env: dict[str, str], top: int = 6) -> tuple[list[tuple[str, float]],
                                                                                     list[str]]:
    """`python -X importtime`: the largest top-level imports (cumulative seconds), and the heavy packages loaded."""
    done = subprocess.run([*argv[:1], "-X", "importtime", *argv[1:]], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True)
    largest, loaded = [], set()
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)", line)
        if not found:
            continue
        cumulative, indent, name = int(found[1]), len(found[2]), found[3]
        if name.split(".")[0] in HEAVY:
            loaded.add(name.split(".")[0])
        if indent == 1:
            largest.append((name, cumulative / 1e6))
    largest.sort(key=lambda item: -item[1])
    return [item for item in largest[:top] if item[1] >= 0.005], sorted(loaded)


def run(sizes: Sizes) -> Section:
    env = _environment()
    with tempfile.TemporaryDirectory(prefix="sg-bench-startup-") as d:
        tmp = Path(d)
        db = tmp / "startup.db"
        world = new_world(db)
        code = populate(world, sizes.enterprises, seed=9, workdir=tmp)[sizes.enterprises // 2]
        world.close()
        url = f"sqlite:///{db}"
        bare = tmp / "bare_typer.py"
        bare.write_text(BARE_TYPER, encoding="utf-8")
        sg = _safegrade()
        cases = [
            Case("pass", "`python -c pass`", [sys.executable, "-c", "pass"], ""),
            Case("bare_help", "bare Typer app (2 commands), `--help`", [sys.executable, str(bare), url, "--help"],
                 "Commands"),
            Case("help", "`safegrade --help`", [*sg, "--help"], "enterprise"),
            Case("bare_read", "bare Typer app + SQLAlchemy Core reading the row",
                 [sys.executable, str(bare), url, "show", code], code),
            Case("read", "`safegrade enterprise show CODE` (SQLite)",
                 [*sg, "--db", url, "--actor", ACTOR, "enterprise", "show", code], code),
        ]
        times: dict[str, list[float]] = {c.key: [] for c in cases}
        for c in cases:  # once untimed: the file cache and the .pyc files are warm for every case alike
            _run(c.argv, c.expect, env)
        for _ in range(sizes.repeats):
            for c in cases:
                times[c.key].append(_run(c.argv, c.expect, env))
        profiles = {key: import_profile([sys.executable, "-m", "safegrade", *argv], env)
                    for key, argv in (("help", ["--help"]),
                                      ("read", ["--db", url, "--actor", ACTOR, "enterprise", "show", code]))}

    med = {k: median(v) for k, v in times.items()}
    spreads = {k: spread(v, fmt_s) for k, v in times.items()}
    help_ok, read_ok = med["help"] <= HELP_TARGET_S, med["read"] <= READ_TARGET_S
    summary = [
        ["9. CLI start-up: `safegrade --help` (whole process)", spreads["help"],
         f"{fmt_s(med['pass'])} `python -c pass`; {fmt_s(med['bare_help'])} bare Typer app `--help`",
         f"≤ {fmt_s(HELP_TARGET_S)}", verdict(help_ok)],
        ["9. CLI start-up: `safegrade enterprise show CODE` on SQLite (whole process)", spreads["read"],
         f"{fmt_s(med['bare_read'])} bare Typer app + SQLAlchemy Core reading the row",
         f"≤ {fmt_s(READ_TARGET_S)}", verdict(read_ok)],
    ]
    targets = {"help": (f"≤ {fmt_s(HELP_TARGET_S)}", verdict(help_ok)), "read": (f"≤ {fmt_s(READ_TARGET_S)}",
                                                                               verdict(read_ok))}
    rows = [[c.label, spreads[c.key], f"+{fmt_s(med[c.key] - med['pass'])}", *targets.get(c.key, ("", ""))]
            for c in cases]
    body = [
        f"Each case is a whole process, run {sizes.repeats} times interleaved with the others (median, min–max); "
        f"the read command reads one of {sizes.enterprises:,} enterprises registered by a ledger import into a "
        "fresh SQLite database (synchronous FULL, as in config.yaml), acting as a bureau actor.", "",
        *table(["case", "wall time", "beyond `python -c pass`", "target", "verdict"], rows, "lrrrl"),
        "",
        "Where the time goes, from one run under `python -X importtime` (the largest imports at the top level, "
        "cumulative; `-X importtime` itself adds to them):", "",
        *table(["command", "largest imports", "heavy packages loaded"],
               [[f"`safegrade {'--help' if key == 'help' else 'enterprise show CODE'}`",
                 "; ".join(f"`{name}` {fmt_s(s)}" for name, s in largest), ", ".join(loaded) or "none"]
                for key, (largest, loaded) in profiles.items()], "lll"),
        "",
        "`safegrade --help` lists the commands from a table in `safegrade/cli/app.py` without importing "
        "them; a command imports its own module, and with it only what it uses, when it runs.",
    ]
    figures = {f"{k}_s": v for k, v in med.items()}
    return Section("9. CLI start-up", summary, body, figures)
