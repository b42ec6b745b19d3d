"""Prefect flows: the `@flow` wrappers of the jobs in safegrade.services.jobs, and `serve`, which registers
them as deployments. The database holds the truth; each flow is an idempotent sweep, safe to re-run. The
embedded scheduler runs the same job functions without Prefect; `.fn()` runs a flow's body with no server.

Prefect must never phone home: set here, before any module of the package imports it."""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
