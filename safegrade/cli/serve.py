"""`safegrade serve`: the scheduled jobs as Prefect deployments on a Prefect server (scale-out)."""

from __future__ import annotations

import os
import sys

import typer

from safegrade.cli.app import app, emit, options, out
from safegrade.errors import ConfigError
from safegrade.services.jobs import JOBS
from safegrade.settings import find_config


@app.command("serve")
def serve(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="List the deployments; contact no server."),
) -> None:
    """Register daily, reminder-retry and nightly-audit with their cron schedules on the Prefect server at
    PREFECT_API_URL and run their flow runs (stop with Ctrl-C). Use PostgreSQL for safegrade's database."""
    opts = options(ctx)
    settings = opts.settings()
    config = find_config(opts.config, dict(os.environ))
    rows = [{"deployment": f"{job.flow}/{job.deployment}", "cron": job.crontab(settings),
             "timezone": str(settings.scheduler.timezone), "description": job.description} for job in JOBS]
    if dry_run:
        if not emit(opts, rows):
            for r in rows:
                out.print(f"{r['deployment']:45} {r['cron'] or '(on demand)':15} {r['timezone']}  {r['description']}",
                          markup=False)
        return
    api = os.environ.get("PREFECT_API_URL")
    if not api:
        raise ConfigError("safegrade serve registers deployments on a Prefect server: set PREFECT_API_URL (e.g. "
                          "http://127.0.0.1:4200/api after `prefect server start`); the embedded default needs no "
                          "server: `safegrade scheduler run`")
    if settings.db_url.startswith("sqlite"):
        out.print("warning: safegrade's database is SQLite; workers on several machines need PostgreSQL "
                  "(SAFEGRADE_DB_URL=postgresql+psycopg://…)", markup=False)
    if opts.db:  # the flow runs read config.yaml; a --db given here reaches them through the environment
        os.environ["SAFEGRADE_DB_URL"] = opts.db
    out.print(f"serving {len(rows)} deployments on {api}", markup=False)
    sys.stdout.flush()
    # The flows are a layer above this package: hand the process over to their own entry point.
    os.execv(sys.executable, [sys.executable, "-m", "flows.serve", *(["--config", str(config)] if config else [])])
