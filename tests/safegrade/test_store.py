"""The store: schema migrations on both backends, SQLite settings, aware times, error translation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text

from safegrade.errors import PLAIN, Conflict, SchemaOutdated
from safegrade.models import Actor, metadata
from safegrade.store import Store, make_engine, sqlite_file


@pytest.fixture
def store(db_url):
    s = Store(make_engine(db_url))
    yield s
    s.engine.dispose()


def test_a_fresh_database_is_refused_until_init(store):
    with pytest.raises(SchemaOutdated, match="safegrade init"):
        store.require_schema()


def test_only_migrate_creates_a_sqlite_database_and_its_folder(tmp_path):
    path = tmp_path / "x" / "none.db"
    s = Store(make_engine(f"sqlite:///{path}"))
    with pytest.raises(SchemaOutdated) as refused:
        s.require_schema()
    error = refused.value
    assert (error.code, error.field, error.value, error.hint) == ("no_database", "database_url", str(path),
                                                                   "init_database")
    assert error.render(PLAIN) == f"no database at {path}; create it by initialising the database"
    assert list(tmp_path.iterdir()) == []  # neither the file nor its folder
    s.migrate()
    assert path.is_file()
    s.require_schema()
    s.engine.dispose()


@pytest.mark.parametrize(("url", "file"), [
    ("sqlite:////srv/sg/safegrade.db", "/srv/sg/safegrade.db"),
    ("sqlite+pysqlite:///relative/sg.db", "relative/sg.db"),
    ("sqlite://", None),
    ("sqlite:///:memory:", None),
    ("sqlite:///file:sg.db?mode=ro&uri=true", None),
    ("postgresql+psycopg://user@host/db", None),
])
def test_the_file_of_a_sqlite_url(url, file):
    assert sqlite_file(url) == (None if file is None else Path(file))


def test_init_creates_and_repeats_harmlessly(store):
    assert store.migrate() == (None, store.head_revision())
    assert store.migrate() == (store.head_revision(), store.head_revision())
    store.require_schema()


def test_the_migrations_build_exactly_the_models(store):
    store.migrate()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_url):
    s = Store(make_engine(sqlite_url))
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL by default
    s.engine.dispose()


def test_times_are_stored_aware_and_come_back_in_utc(store):
    store.migrate()
    shanghai = timezone(timedelta(hours=8))
    with store.write() as session:
        session.execute(insert(Actor), [{"name": "a", "role": "bureau", "created_by": "t",
                                         "created_at": datetime(2023, 6, 1, 9, 0, 0, 123456, tzinfo=shanghai)}])
    with store.read() as session:
        back = session.execute(select(Actor.created_at)).scalar_one()
    assert back == datetime(2023, 6, 1, 1, 0, 0, 123456, tzinfo=UTC)
    assert back.tzinfo is not None


def test_naive_times_are_refused(store):
    store.migrate()
    with pytest.raises(Exception, match="naive datetime"), store.write() as session:
        session.execute(insert(Actor), [{"name": "a", "role": "bureau", "created_by": "t",
                                         "created_at": datetime(2023, 6, 1, 9, 0)}])  # noqa: DTZ001


def test_a_duplicate_becomes_a_conflict_and_nothing_is_half_written(store):
    store.migrate()
    row = {"name": "a", "role": "bureau", "created_by": "t", "created_at": datetime(2023, 6, 1, tzinfo=UTC)}
    with store.write() as session:
        session.execute(insert(Actor), [row])

    def write_b_and_the_duplicate() -> None:
        with store.write() as session:
            session.execute(insert(Actor), [{**row, "name": "b"}])
            session.execute(insert(Actor), [row])

    with pytest.raises(Conflict):
        write_b_and_the_duplicate()
    with store.read() as session:
        assert session.execute(text("select count(*) from actor")).scalar_one() == 1


def test_0005_renames_sweep_run_to_job_run_keeping_its_rows(store):
    """A database at 0004 with runs recorded: upgraded, the same rows are in job_run, which goes on numbering."""
    from alembic import command
    from sqlalchemy import inspect

    cfg = store._alembic()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.execute(text("insert into sweep_run (job, as_of, started_at, finished_at, source, counts, error) values "
                          "('daily', '2023-06-01 00:00:00', '2023-06-01 00:00:01', '2023-06-01 00:00:02', 'scheduler',"
                          " '{\"sent\": 2}', null), ('nightly_audit', '2023-06-01 18:30:00', '2023-06-01 18:30:00',"
                          " '2023-06-01 18:30:09', 'scheduler', '{}', 'AuditBroken: x')"))
    assert store.migrate() == ("0004", store.head_revision())
    with store.engine.connect() as conn:
        rows = conn.execute(text("select id, job, source, counts, error from job_run order by id")).all()
        assert [(r[0], r[1], r[2], r[4]) for r in rows] == [(1, "daily", "scheduler", None),
                                                            (2, "nightly_audit", "scheduler", "AuditBroken: x")]
        tables = inspect(conn).get_table_names()
        assert "job_run" in tables
        assert "sweep_run" not in tables
        assert inspect(conn).get_pk_constraint("job_run")["name"] == "pk_job_run"
        assert [i["name"] for i in inspect(conn).get_indexes("job_run")] == ["ix_job_run_job"]
    with store.engine.begin() as conn:
        new = conn.execute(text("insert into job_run (job, as_of, started_at, source, counts) values "
                                "('daily', '2023-06-02 00:00:00', '2023-06-02 00:00:00', 'cli', '{}') returning id"))
        assert new.scalar_one() == 3
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
def test_0007_adds_validity_ended_on_and_a_trail_recorded_before_it_still_verifies(store):
    """A database one revision before 0007 with an enterprise that expired then (its trail knows no
    validity_ended_on): upgraded, the column is empty, the trail still replays to the row, and the grade
    reads expired from the state."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from safegrade.audit import trail
    from safegrade.audit.chain import GENESIS
    from safegrade.models import AuditEvent, Enterprise, table
    from states import grade

    cfg = store._alembic()
    before = ScriptDirectory.from_config(cfg).get_revision("0007").down_revision
    assert isinstance(before, str)
    at, code = datetime(2023, 6, 1, tzinfo=UTC), "91120114MA00000017"
    old = {"credit_code": code, "name": "天津市测试0001机械有限公司", "district": "120114", "sector": "machinery",
           "in_gongmao": True, "level": "三级", "certificate_no": "津AQBJXⅢ202000001", "graded_on": "2020-03-01",
           "valid_until": "2023-02-28", "address": "", "contact": "", "phone": "", "remarks": "", "open_findings": 0,
           "open_major_hazards": 0, "last_result": None, "publicity_ends_on": None, "revocation_reason": None,
           "revoked_on": None, "regrade_from": None, "flags": []}  # the tracked fields before 0007
    actor = trail.Actor("boss", "bureau", "cli")
    first = trail.new_event(enterprise_id=1, code=code, seq=1, event="register", from_state=None, to_state="graded",
                            actor=actor, reason="台账导入", payload={"data": {}, "after": old}, at=at,
                            rules_version="old", prev_hash=GENESIS)
    second = trail.new_event(enterprise_id=1, code=code, seq=2, event="expire", from_state="graded",
                             to_state="expired", actor=actor, reason="有效期届满", payload={"data": {}, "before": {},
                             "after": {}}, at=at + timedelta(hours=1), rules_version="old", prev_hash=first["hash"])
    row = {**old, "graded_on": date(2020, 3, 1), "valid_until": date(2023, 2, 28), "id": 1,
           "state": "expired", "version": 2, "created_at": at, "updated_at": at + timedelta(hours=1)}
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
        conn.execute(insert(table(Enterprise)), [row])
        conn.execute(insert(table(AuditEvent)), [first, second])
    assert store.migrate() == (before, store.head_revision())
    with store.read() as session:
        upgraded = session.execute(select(table(Enterprise))).mappings().one()
        report = trail.verify(session)
    assert report.ok, report.breaks
    assert upgraded["validity_ended_on"] is None
    assert grade(upgraded["state"], upgraded["validity_ended_on"], upgraded["valid_until"], at.date()) == "expired"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_the_schema_check_reads_what_alembic_reads(store, tmp_path):
    """require_schema reads the version table and the scripts' heads without alembic: the same answers."""
    from safegrade.store import _head_from_files

    assert _head_from_files() == store.head_revision()
    assert store._quick_revisions() == (None, store.head_revision())
    store.migrate()
    assert store._quick_revisions() == (store.current_revision(), store.head_revision())
    # scripts written otherwise (annotated, a second head, a merge) are left to alembic
    (tmp_path / "a.py").write_text("revision: str = 'a'\ndown_revision: str | None = None\n")
    (tmp_path / "b.py").write_text("revision = \"b\"\ndown_revision = 'a'\n")
    assert _head_from_files(tmp_path) == "b"
    (tmp_path / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\n")
    assert _head_from_files(tmp_path) is None
    (tmp_path / "c.py").write_text("revision = 'c'\ndown_revision = ('a', 'b')\n")
    assert _head_from_files(tmp_path) is None
