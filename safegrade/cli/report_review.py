"""`report loop` and `report districts`: closed-loop evidence and district oversight."""

from __future__ import annotations
