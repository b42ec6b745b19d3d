"""Output paths and --db behave the same everywhere: a file is written only into a folder that exists (a
missing one is refused with the path, as one line, and nothing is made), and only `init` creates a
database — every other command refuses a missing SQLite file and leaves no file or folder behind."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.safegrade.cli.conftest import CAMPAIGN


def tree(path):
    """The files and folders under `path`, but SQLite's own companions of a database (-wal, -shm), which come
    and go as connections open and close whatever the command does."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if not p.name.endswith(("-wal", "-shm")))


def one_line_refusal(result, *texts):
    code, out, err = result
    assert code == 1
    assert out == ""
    assert err.startswith("safegrade: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    for text in texts:
        assert text in err, text


# --- --db: reads never create a database --------------------------------------------------------------

READS_AND_WRITES = [
    ["enterprise", "list"],
    ["enterprise", "show", "91120114MA00000017"],
    ["campaign", "list"],
    ["finding", "list"],
    ["deadlines", "list"],
    ["reminders", "list"],
    ["audit", "verify"],
    ["audit", "show", "91120114MA00000017"],
    ["ledger", "export", "台账.xlsx"],
    ["report", "circular", CAMPAIGN, "--format", "md"],
    ["report", "districts", CAMPAIGN, "--json"],
    ["actor", "list"],
    ["--actor", "boss", "actor", "add", "wq", "--role", "district", "--district", "武清"],
    ["actor", "add", "boss", "--role", "bureau"],
]


@pytest.mark.parametrize("args", READS_AND_WRITES, ids=lambda a: " ".join(a[:3]))
def test_a_missing_sqlite_database_is_refused_and_nothing_is_created(cli, tmp_path, args):
    before = tree(tmp_path)
    missing = tmp_path / "x" / "none.db"
    if "--json" in args:  # a global option: before the command
        args = ["--json", *[a for a in args if a != "--json"]]
    result = cli("--db", f"sqlite:///{missing}", *args)
    one_line_refusal(result, f"no database at {missing}", "create it with `safegrade init`")
    assert not missing.parent.exists()
    assert tree(tmp_path) == before


def test_a_missing_database_named_by_the_environment_is_refused_too(cli, tmp_path):
    # the cli fixture names tmp_path/cli.db through SAFEGRADE_DB_URL; nothing made it yet
    one_line_refusal(cli("enterprise", "list"), f"no database at {tmp_path / 'cli.db'}", "safegrade init")
    assert not (tmp_path / "cli.db").exists()
    code, out, _ = cli("--json", "enterprise", "list")
    assert code == 1
    assert out == ""


def test_init_creates_the_database_and_its_folder_then_every_command_finds_it(cli, tmp_path):
    made = tmp_path / "new" / "deeper" / "sg.db"
    code, out, err = cli("--db", f"sqlite:///{made}", "init")
    assert code == 0, err
    assert made.is_file()
    assert str(made) in out
    code, out, err = cli("--db", f"sqlite:///{made}", "--json", "enterprise", "list")
    assert code == 0, err
    assert json.loads(out) == []


def test_an_empty_file_is_a_database_without_the_schema_not_a_missing_one(cli, tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    one_line_refusal(cli("--db", f"sqlite:///{empty}", "enterprise", "list"), "has no safegrade schema",
                     "safegrade init")


# --- output paths: a missing folder is refused with the path ------------------------------------------

def writers(where, code):
    """Each command that writes a file, writing it to `where`, and the option (or argument) that names it."""
    return [
        (["report", "circular", CAMPAIGN, "--format", "docx", "--out", str(where / "c.docx")], "--out"),
        (["report", "circular", CAMPAIGN, "--format", "md", "--out", str(where / "c.md")], "--out"),
        (["report", "loop", code, "--out", str(where / "loop.html")], "--out"),
        (["report", "loop", "--campaign", CAMPAIGN, "--out", str(where / "loop.xlsx")], "--out"),
        (["report", "districts", CAMPAIGN, "--out", str(where / "d.json")], "--out"),
        (["audit", "export", str(where / "trail.jsonl")], "FILE"),
        (["--actor", "boss", "ledger", "export", str(where / "台账.xlsx")], "FILE"),
    ]


def test_every_writer_refuses_a_missing_folder_and_makes_nothing(opened, tmp_path):
    cli, code = opened
    missing = tmp_path / "no" / "such"
    before = tree(tmp_path)
    for args, option in writers(missing, code):
        target = args[args.index("--out") + 1] if "--out" in args else args[-1]
        one_line_refusal(cli("--as-of", "2023-09-15", *args),
                         f"{option} {target}: folder {missing} does not exist")
        assert tree(tmp_path) == before, args
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    for args, option in writers(tmp_path / "file", code):
        target = args[args.index("--out") + 1] if "--out" in args else args[-1]
        one_line_refusal(cli("--as-of", "2023-09-15", *args), f"{option} {target}: {tmp_path / 'file'} is not a folder")


def test_every_writer_writes_into_a_folder_that_exists(opened, tmp_path):
    cli, code = opened
    there = tmp_path / "out"
    there.mkdir()
    for args, _ in writers(there, code):
        result = cli("--as-of", "2023-09-15", *args)
        assert result[0] == 0, (args, result[2])
    assert sorted(p.name for p in there.iterdir()) == sorted(
        ["c.docx", "c.md", "loop.html", "loop.xlsx", "d.json", "trail.jsonl", "台账.xlsx"])


def test_the_default_report_folder_is_made(opened, tmp_path):
    cli, _ = opened
    assert not (tmp_path / "var").exists()
    code, out, err = cli("--as-of", "2023-09-15", "report", "districts", CAMPAIGN)
    assert code == 0, err
    assert (tmp_path / "var" / "reports").is_dir()
    assert "var/reports/districts-" in out
