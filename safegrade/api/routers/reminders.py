"""(routes of this noun: written by the helper that owns it this session)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
