"""`safegrade web`: the HTTP API (and later the pages) served by uvicorn on this machine's database."""

from __future__ import annotations

import os
import sys

import typer

from safegrade.cli.app import app, err, options, out
from safegrade.settings import find_config

# the factory uvicorn imports in each worker (its settings come through the environment set here)
FACTORY = "safegrade.api.app:app_from_environment"


@app.command("web")
def web(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (监听地址)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on (端口)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (工作进程数)."),
) -> None:
    """Serve the HTTP API with uvicorn (启动 HTTP 接口服务).

    /api/v1 on the embedded SQLite default or on PostgreSQL; refuses to start without a strong signing secret
    (SAFEGRADE_WEB_SECRET or its file)."""
    from safegrade.auth import signing_secret

    opts = options(ctx)
    settings = opts.settings()
    signing_secret(settings)  # refused here, before a worker starts, when missing or weak
    ctx_ = opts.context()  # refuses an outdated schema now, with its hint, not in every worker
    ctx_.store.engine.dispose()
    config = find_config(opts.config, dict(os.environ))
    if config is not None:
        os.environ["SAFEGRADE_CONFIG"] = str(config.resolve())
    if opts.db:
        os.environ["SAFEGRADE_DB_URL"] = opts.db
    if settings.db_url.startswith("sqlite") and workers > 1:
        err.print("warning: several workers on SQLite take turns to write (one writer at a time); use PostgreSQL "
                  "for more", markup=False)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (the address printed, not bound)
    out.print(f"safegrade API on http://{shown}:{port}/api/v1 (OpenAPI: /api/v1/openapi.json); "
              f"base URL {settings.web.base_url}; database {_redacted(settings.db_url)}; Ctrl-C to stop",
              markup=False)
    sys.stdout.flush()
    import uvicorn

    uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers, proxy_headers=True,
                forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"), server_header=False,
                log_level="info")


def _redacted(url: str) -> str:
    """The database URL without its password."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"

