"""`report circular`: the 通报 of a campaign, built from the database."""

from __future__ import annotations
