"""`safegrade init`: create or upgrade the schema, and the system actor the flows act as."""

from __future__ import annotations

from dataclasses import dataclass

from safegrade.services.actors import ensure_system_actor
from safegrade.services.context import Context


@dataclass(frozen=True, slots=True)
class DatabaseInit:
    database: str  # its URL, without the password
    schema_before: str | None  # the schema revision before (None: an empty database)
    schema: str
    system_actor_created: bool


def init_database(ctx: Context) -> DatabaseInit:
    before, after = ctx.store.migrate()
    created = ensure_system_actor(ctx)
    return DatabaseInit(database=ctx.store.engine.url.render_as_string(hide_password=True), schema_before=before,
                        schema=after, system_actor_created=created)
