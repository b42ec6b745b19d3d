"""`safegrade init`: create or upgrade the schema, and the system actor the flows act as."""

from __future__ import annotations

from typing import Any

from safegrade.services.actors import ensure_system_actor
from safegrade.services.context import Context


def init_database(ctx: Context) -> dict[str, Any]:
    before, after = ctx.store.migrate()
    created = ensure_system_actor(ctx)
    return {"database": ctx.store.engine.url.render_as_string(hide_password=True), "schema_before": before,
            "schema": after, "system_actor_created": created}
