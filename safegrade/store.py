"""The database: engines, transactions, schema migrations, and the one place where database errors
become domain errors. Only the store commits: services do their work inside `store.write()`.

SQLite runs in WAL mode with foreign keys on, a busy timeout and BEGIN IMMEDIATE for writers (a
deferred BEGIN that later upgrades to a write lock fails with "database is locked" under
contention); readers use a plain deferred BEGIN. The same code runs on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from safegrade.errors import Conflict, InvalidInput, SchemaOutdated, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=\n]*)?=\s*(None|'[^']*'|"[^"]*")\s*$""", re.MULTILINE)


def _head_from_files(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The one head of the migration scripts, read from their `revision =` and `down_revision =` lines
    (without importing alembic, which the schema check of every command would otherwise load); None
    when the scripts do not show exactly one head (alembic then decides)."""
    revisions, parents = set(), set()
    for script in versions.glob("*.py"):
        found = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        if script.name == "__init__.py":
            continue
        if "revision" not in found or "down_revision" not in found:
            return None  # a script written otherwise: alembic reads it
        revisions.add(found["revision"].strip("'\""))
        parents.add(found["down_revision"].strip("'\""))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite database URL; None for another database, or one in memory (or given as a URI,
    whose file SQLite itself resolves)."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def make_engine(url: str, *, sqlite_synchronous: str = "full", echo: bool = False) -> Engine:
    """An engine for `url`; nothing is built at import time, callers own the engine. It makes no file and no
    folder: connecting to a SQLite file that does not exist would create it, so `Store.require_schema`
    refuses one first and only `Store.migrate` (`safegrade init`) creates the database."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get("safegrade_readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def translate(exc: Exception) -> Exception:
    """A database error as a domain error, with what to do about it."""
    text = str(getattr(exc, "orig", exc))
    if isinstance(exc, StaleDataError):
        return Conflict(f"the record was changed by someone else meanwhile; reload and try again ({text})")
    if isinstance(exc, IntegrityError):
        if "audit_event" in text and "seq" in text:
            return Conflict("another change to this enterprise was recorded at the same moment; try again")
        return Conflict(f"the database refused a duplicate or a broken reference: {text}")
    if isinstance(exc, OperationalError):
        lowered = text.lower()
        if "no such table" in lowered or "does not exist" in lowered and "relation" in lowered:
            return SchemaOutdated(f"the database has no safegrade schema ({text}); run `safegrade init`")
        if "locked" in lowered or "could not serialize" in lowered or "deadlock" in lowered:
            return Conflict(f"the database is busy with another writer; try again ({text})")
    if isinstance(exc, DataError):  # a value the database cannot hold (a number out of range, a NUL in text)
        return InvalidInput(f"a value the database cannot hold: {text.splitlines()[0] if text else text}",
                            code="value_not_storable")
    if isinstance(exc, DBAPIError) and "UndefinedTable" in type(getattr(exc, "orig", None)).__name__:
        return SchemaOutdated(f"the database has no safegrade schema ({text}); run `safegrade init`")
    return StoreError(f"database error: {text}")


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(safegrade_readonly=True)
        self._write_sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self._reader, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(self) -> AbstractContextManager[Session]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        return self._transaction(self._write_sessions)

    def read(self) -> AbstractContextManager[Session]:
        """One read transaction (a deferred BEGIN on SQLite: it does not block writers)."""
        return self._transaction(self._read_sessions)

    @staticmethod
    @contextmanager
    def _transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
        session = sessions()
        try:
            with session.begin():
                yield session
        except (DBAPIError, StaleDataError) as exc:
            raise translate(exc) from exc
        finally:
            session.close()

    # --- schema -----------------------------------------------------------------------------------

    def _alembic(self) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self._alembic()).get_current_head()
        assert head is not None, "the migrations folder has no revision"
        return head

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except DBAPIError as exc:
            raise translate(exc) from exc

    def migrate(self) -> tuple[str | None, str]:
        """Create or upgrade the schema to the newest revision; returns (before, after). A SQLite database
        that does not exist yet is created here, and its folder with it: `safegrade init` is the one command
        that makes a database."""
        from alembic import command

        path = sqlite_file(self.engine.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        before = self.current_revision()
        cfg = self._alembic()
        sqlite = self.dialect == "sqlite"
        with self.engine.connect() as conn:
            # SQLite rebuilds a table to change a column; while it does, the table that others reference is
            # gone for a moment. Its documented procedure: foreign keys off outside the transaction, the
            # references checked before the commit, foreign keys on again.
            raw: Any = conn.connection.driver_connection
            if sqlite:
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if sqlite else []
                    if broken:
                        raise StoreError(f"the upgrade would break references (table, row, parent): {broken[:5]}; "
                                         "nothing was changed")
            finally:
                if sqlite:
                    raw.execute("PRAGMA foreign_keys=ON")
        return before, self.head_revision()

    def _quick_revisions(self) -> tuple[str | None, str]:
        """(current, head) as `current_revision()` and `head_revision()` give them, read without alembic
        where the version table holds at most one row and the scripts show one head."""
        head = _head_from_files()
        try:
            with self._reader.connect() as conn:
                rows = (conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
                        if inspect(conn).has_table("alembic_version") else [])
        except DBAPIError as exc:
            raise translate(exc) from exc
        if head is None or len(rows) > 1:
            return self.current_revision(), self.head_revision()
        return (rows[0] if rows else None), head

    def require_database(self) -> None:
        """Refuse a SQLite database file that does not exist, before connecting would create an empty one
        (and leave it behind for the next command to find)."""
        path = sqlite_file(self.engine.url)
        if path is not None and not path.is_file():
            raise SchemaOutdated(f"no database at {path}", code="no_database", field="database_url",
                                 value=str(path), hint="init_database")

    def require_schema(self) -> None:
        """Refuse to work on a database that does not exist or that `safegrade init` has not brought up to
        date."""
        self.require_database()
        current, head = self._quick_revisions()
        if current != head:
            where = self.engine.url.render_as_string(hide_password=True)
            state = "has no safegrade schema" if current is None else f"is at schema {current}, not {head}"
            raise SchemaOutdated(f"the database {where} {state}; run `safegrade init` to create or upgrade it")
