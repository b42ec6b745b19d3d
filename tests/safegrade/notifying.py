"""Test helpers for delivery: a real local SMTP server, a local HTTP endpoint, a port nobody listens on,
outbox rows inserted with Core (the sweep that fills them is another module's), contexts with channels."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from safegrade.models import Enterprise, Reminder, table
from safegrade.services.context import Context
from safegrade.settings import load_settings
from tests.conftest import RULES_DIR


def free_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    """What the local SMTP server received, as parsed e-mails."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def url(self, to: str = "officer@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=noreply@safegrade.example&to={to}"

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@contextmanager
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class HttpSink:
    """What the local HTTP endpoint received: (path, JSON or form body) per request; `status` it answers."""

    port: int = 0
    requests: list[tuple[str, Any]] = field(default_factory=list)
    status: int = 200

    def url(self, scheme: str = "json", path: str = "/hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@contextmanager
def http_server() -> Iterator[HttpSink]:
    sink = HttpSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body: Any = (json.loads(raw) if "json" in (self.headers.get("Content-Type") or "")
                         else raw.decode("utf-8"))
            sink.requests.append((self.path, body))
            self.send_response(sink.status)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


def with_channels(ctx: Context, channels: Sequence[Any], base_dir: Path, **retry: float) -> Context:
    """`ctx` with these notification channels and retry settings (validated as config.yaml would be)."""
    ctx.settings = load_settings(env={}, database_url=ctx.settings.database_url, base_dir=str(base_dir),
                                 rules_dir=str(RULES_DIR),
                                 notifications={"channels": list(channels), "retry": retry})
    return ctx


def enterprise_id(ctx: Context, credit_code: str) -> int:
    e = table(Enterprise)
    with ctx.store.read() as session:
        return int(session.execute(select(e.c.id).where(e.c.credit_code == credit_code)).scalar_one())


def queue(ctx: Context, n: int = 1, *, audience: str = "enterprise", credit_code: str | None = None,
          district: str | None = "120114", due_on: date = date(2023, 6, 8), step: str = "-7",
          at: datetime | None = None, first: int = 1, kind: str = "finding") -> list[int]:
    """Insert `n` pending reminders due now (or at `at`), as the sweep would; their ids."""
    at = at or ctx.now()
    company = enterprise_id(ctx, credit_code) if credit_code else None
    rows: list[dict[str, Any]] = [
        {"kind": kind, "subject": f"{kind}:{i}", "due_on": due_on, "step": step, "audience": audience,
         "enterprise_id": company, "district": district, "title": f"整改期限提醒（第{i}号）",
         "body": f"请于{due_on:%Y年%m月%d日}前完成第{i}号问题整改并提交整改材料。", "queued_at": at, "updated_at": at,
         "status": "pending", "attempts": 0, "next_attempt_at": at, "delivered_to": []}
        for i in range(first, first + n)]
    r = table(Reminder)
    with ctx.store.write() as session:
        session.execute(insert(r), rows)
        return [int(i) for i in session.execute(
            select(r.c.id).where(r.c.subject.in_([row["subject"] for row in rows]), r.c.audience == audience)
            .order_by(r.c.id)).scalars()]


def row_of(ctx: Context, reminder_id: int) -> dict[str, Any]:
    r = table(Reminder)
    with ctx.store.read() as session:
        return dict(session.execute(select(r).where(r.c.id == reminder_id)).mappings().one())


def outbox_lines(folder: Path) -> list[dict[str, Any]]:
    """Every message the file channel wrote in `folder`, file by file (days in order)."""
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
