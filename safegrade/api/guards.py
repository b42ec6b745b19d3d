"""What no request may carry into the services: a NUL character in its path, its query or a JSON body's text.

No text of ours holds a NUL, PostgreSQL refuses one in any text column (SQLite would store it and cut the
text short in some readers), and a name with a NUL can be made to look like another. It is refused here,
once, as invalid input (422) located at the field that carries it, before any route reads the request.
A JSON body is small and read whole by its route anyway: it is read here, checked, and handed on as it came.
Other bodies (uploads) are streamed through untouched.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safegrade.api.problems import Location, ProblemItem, problem_response

MAX_JSON_BYTES = 1 << 20  # a JSON body larger than this is left to its route (which refuses it or streams it)


def _nul_at(value: Any, where: str = "body") -> str | None:
    """The location (dotted) of the first text holding a NUL in a parsed JSON value, or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, where) if "\x00" in key else _nul_at(item, f"{where}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_at(item, f"{where}.{i}")
            if found:
                return found
    return None


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        for where, raw in (("path", raw_path), ("query", scope.get("query_string", b""))):
            if b"\x00" in unquote_to_bytes(raw):
                await self._refuse(scope, receive, send, where)
                return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        length = headers.get(b"content-length")
        if content_type != b"application/json" or (length and length.isdigit() and int(length) > MAX_JSON_BYTES):
            await self.app(scope, receive, send)
            return
        body, messages = b"", list[Message]()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False) or len(body) > MAX_JSON_BYTES:
                break
        nul_at: str | None = None
        if b"\\u0000" in body or b"\x00" in body:  # cheap first: most bodies never parse twice
            try:
                nul_at = _nul_at(json.loads(body))
            except ValueError:
                nul_at = None  # not JSON: the route's own parsing refuses it
        if nul_at:
            await self._refuse(scope, receive, send, nul_at)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        message = f"{where}: a NUL character (\\u0000) is not allowed in text"
        response = problem_response(422, "nul_character", message, instance=scope.get("path"),
                                    errors=[ProblemItem(location=Location(field=where), message=message)])
        await response(scope, receive, send)
