"""Prefect flows: thin orchestration over safegrade's services. The database holds the truth; each
flow is an idempotent sweep, safe to re-run. The embedded scheduler calls the same service functions
without a Prefect server; `.fn()` runs a flow's body with none."""
