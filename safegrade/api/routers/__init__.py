"""The API's routes, one module per noun; `ROUTERS` is what the app mounts under /api/v1, in this order."""

from __future__ import annotations

from fastapi import APIRouter

from safegrade.api.routers import (
    audit,
    auth,
    campaigns,
    deadlines,
    enterprises,
    findings,
    imports,
    reminders,
    reports,
)

ROUTERS: tuple[APIRouter, ...] = (auth.router, enterprises.router, findings.router, campaigns.router,
                                  imports.router, deadlines.router, reminders.router, reports.router,
                                  audit.router)
