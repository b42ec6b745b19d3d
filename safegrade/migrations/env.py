"""Alembic environment: SQLModel's metadata, batch mode for SQLite, types compared."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import safegrade.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from safegrade.models import metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=… revision --autogenerate` while developing
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///var/alembic-dev.db")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
