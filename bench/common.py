"""What the benchmarks share: a migrated world of enterprises, copies of it, timing, profiles, memory.

Everything here is set up the way tests/conftest.py does it: a TestClock, a Store on make_engine(url,
sqlite_synchronous=...), store.migrate(), actors through safegrade.services.actors, open_context.
"""

from __future__ import annotations

import cProfile
import os
import platform
import pstats
import resource
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from safegrade.clock import TestClock  # noqa: E402
from safegrade.demo.synthetic import synthetic_rows, write_csv  # noqa: E402
from safegrade.rules import Rules, load_rules  # noqa: E402
from safegrade.services.actors import add_actor, ensure_system_actor  # noqa: E402
from safegrade.services.context import Context, open_context  # noqa: E402
from safegrade.services.ledger import import_ledger  # noqa: E402
from safegrade.settings import Settings, load_settings  # noqa: E402
from safegrade.store import Store, make_engine  # noqa: E402

RULES_DIR = ROOT / "rules"
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2023, 6, 1, 9, 0, tzinfo=TZ)
ACTOR = "bench-bureau"  # role bureau: may import ledgers and fire every regulator event, in every district
CODE_HEADER = "统一社会信用代码"

_rules: Rules | None = None


def rules() -> Rules:
    global _rules
    if _rules is None:
        _rules = load_rules(RULES_DIR)
    return _rules


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def settings_for(url: str, base: Path, synchronous: str) -> Settings:
    return load_settings(env={}, database_url=url, base_dir=str(base), rules_dir=str(RULES_DIR),
                         sqlite_synchronous=synchronous)


@dataclass
class World:
    """A migrated SQLite database with a bureau actor, as seen by one context."""

    db: Path
    store: Store
    clock: TestClock
    ctx: Context  # acting as ACTOR

    def close(self) -> None:
        self.store.engine.dispose()


def open_world(db: Path, synchronous: str, clock: TestClock | None = None) -> World:
    """A context on an existing database (e.g. a copy of a template world)."""
    url = sqlite_url(db)
    store = Store(make_engine(url, sqlite_synchronous=synchronous))
    clock = clock or TestClock(START)
    ctx = open_context(settings_for(url, db.parent, synchronous), actor=ACTOR, clock=clock, store=store,
                       rules=rules())
    ctx.actor()  # load (and cache) the actor outside any timed region
    return World(db, store, clock, ctx)


def new_world(db: Path, synchronous: str = "full") -> World:
    """A fresh database: migrated, with the system actor and a bureau actor."""
    url = sqlite_url(db)
    store = Store(make_engine(url, sqlite_synchronous=synchronous))
    store.migrate()
    clock = TestClock(START)
    settings = settings_for(url, db.parent, synchronous)
    bootstrap = open_context(settings, clock=clock, store=store, rules=rules())
    ensure_system_actor(bootstrap)
    add_actor(bootstrap, ACTOR, "bureau")
    ctx = open_context(settings, actor=ACTOR, clock=clock, store=store, rules=rules())
    ctx.actor()
    return World(db, store, clock, ctx)


def populate(world: World, n: int, seed: int, workdir: Path) -> list[str]:
    """Register n synthetic enterprises through a ledger import; returns their credit codes.

    The clock then moves one hour on, so that later events come after the `register` events."""
    rows = synthetic_rows(n, seed=seed, rules=rules())
    ledger = workdir / f"ledger-{seed}-{n}.csv"
    write_csv(rows, ledger)
    import_ledger(world.ctx, [ledger])
    ledger.unlink()
    world.clock.advance(timedelta(hours=1))
    return [r[CODE_HEADER] for r in rows]


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy of a SQLite database (online backup API; the WAL is folded in)."""
    source = sqlite3.connect(src)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return dst


def raw_connection(db: Path, synchronous: str) -> sqlite3.Connection:
    """A stdlib sqlite3 connection set up as safegrade's engine sets up its connections."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    return conn


# --- measuring ----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def rss_mb() -> tuple[float, float]:
    """(current RSS, high-water mark) of this process in MB, from /proc (ru_maxrss elsewhere)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak


_peak_before_reset = 0.0


def reset_peak() -> bool:
    """Start a new high-water mark (Linux clear_refs 5), remembering the old one for process_peak_mb."""
    global _peak_before_reset
    _peak_before_reset = max(_peak_before_reset, rss_mb()[1])
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def process_peak_mb() -> float:
    """The high-water mark of this whole process, across reset_peak() calls."""
    return max(_peak_before_reset, rss_mb()[1])


@dataclass(frozen=True)
class ProfileLine:
    where: str
    calls: int
    cum_share: float   # of the profiled total
    own_share: float


@dataclass(frozen=True)
class Profile:
    what: str
    total: float               # seconds, under the profiler (slower than unprofiled)
    lines: list[ProfileLine]   # project functions by cumulative time
    own: list[ProfileLine]     # any functions (libraries, C) by own time
    sqlite_share: float        # time inside the sqlite3 C module (execute, executemany, commit, fetch)
    sqlite_calls: dict[str, int]


def _where(key: tuple[str, int, str]) -> str:
    file, line, name = key
    if file == "~":
        return name
    path = Path(file)
    parts = path.parts
    if "site-packages" in parts:
        return f"{'/'.join(parts[parts.index('site-packages') + 1:])}:{line} {name}"
    try:
        return f"{path.relative_to(ROOT)}:{line} {name}"
    except ValueError:
        return f"{path.name}:{line} {name}"


def profile(what: str, fn: Callable[[], Any], *, top: int = 12, own_top: int = 10,
            prefixes: Sequence[str] = ("safegrade/", "states/")) -> Profile:
    """Run fn under cProfile; the project's functions with the largest cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    project = [str(ROOT / p) for p in prefixes]
    lines = []
    for key, (_cc, nc, tt, ct, _callers) in raw.items():
        if any(key[0].startswith(p) for p in project):
            lines.append(ProfileLine(_where(key), nc, ct / total, tt / total))
    lines.sort(key=lambda line: -line.cum_share)
    own = sorted((ProfileLine(_where(key), nc, ct / total, tt / total) for key, (_cc, nc, tt, ct, _c) in raw.items()),
                 key=lambda line: -line.own_share)[:own_top]
    sqlite_time, sqlite_calls = 0.0, {}
    for key, (_cc, nc, tt, _ct, _callers) in raw.items():
        if key[0] == "~" and "sqlite3." in key[2]:
            sqlite_time += tt
            name = key[2].replace("<method ", "").replace(" objects>", "").replace("'", "")
            sqlite_calls[name] = nc
    return Profile(what, total, lines[:top], own, sqlite_time / total, sqlite_calls)


def profile_markdown(p: Profile) -> list[str]:
    out = [f"Profile of {p.what}: {p.total:.2f} s under cProfile (about twice the unprofiled time); "
           f"{p.sqlite_share:.0%} of it is inside the sqlite3 C module "
           f"({', '.join(f'{k}: {v:,} calls' for k, v in sorted(p.sqlite_calls.items()))}).", "",
           "| function (cumulative, includes callees) | calls | cumulative | own |", "|---|---:|---:|---:|"]
    for line in p.lines:
        out.append(f"| `{line.where}` | {line.calls:,} | {line.cum_share:.0%} | {line.own_share:.0%} |")
    out += ["", "The same profile, the functions of any module with the most time of their own:", "",
            "| function (own time, callees excluded) | calls | own | cumulative |", "|---|---:|---:|---:|"]
    for line in p.own:
        out.append(f"| `{line.where}` | {line.calls:,} | {line.own_share:.0%} | {line.cum_share:.0%} |")
    return out


# --- formatting ---------------------------------------------------------------------------------


def rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def fmt_rate(value: float, unit: str = "/s") -> str:
    return f"{value:,.0f}{unit}"


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def fmt_mb(mb: float) -> str:
    return f"{mb:,.0f} MB"


def share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def environment() -> dict[str, str]:
    import openpyxl
    import sqlalchemy
    import sqlmodel

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "sqlmodel": sqlmodel.__version__,
        "openpyxl": openpyxl.__version__,
        "cpus": f"{os.cpu_count()} (usable by this process: {usable})",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "executable": sys.executable,
    }


def table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str | None = None) -> list[str]:
    align = align or ("l" + "r" * (len(header) - 1))
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


@dataclass
class Section:
    """One benchmark's part of BENCHMARKS.md: its rows of the summary table and its own text."""

    title: str
    summary: list[list[str]]  # what, measured, limit measured here, target, verdict
    body: list[str]
    figures: dict[str, float]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def spread(values: Sequence[float], fmt: Callable[[float], str]) -> str:
    """'1,179/s' for one value; 'median (min–max of n)' for several."""
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(median(values))} ({fmt(min(values))}–{fmt(max(values))}, {len(values)} runs)"
