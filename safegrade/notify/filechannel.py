"""The file channel: `file://FOLDER` as an Apprise schema, for the embedded default and for tests.

Each message is appended as one JSON line (key, title, body, audience, district, enterprise, at) to
FOLDER/YYYY-MM-DD.jsonl, the day being the message's `at` in the deployment's time zone. It is
idempotent by key: a message whose key is in any file of the folder is not written again, so this
channel delivers exactly once even when the outbox sends a message twice (after a crash, or a lease
taken over). Writers in several threads or processes take an exclusive lock on FOLDER/.lock; each
process keeps the keys it has read and reads only what was appended since, so a send stays cheap as
the folder grows. A line torn by a crash (no newline at its end) does not count as delivered: the next
writer ends it and it is skipped, so the message is written again whole.

The channel is registered with `apprise.decorators.notify(on="file")`, so it goes through the same
Apprise call as every other channel. Apprise hands a plugin only title and body: the whole record
travels in `RECORD`, a context variable that `safegrade.notify.channels.deliver` sets around the call (Apprise
runs plugins in worker threads with a copy of the caller's context). POSIX only (fcntl).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

SCHEME = "file"
RECORD: ContextVar[dict[str, Any] | None] = ContextVar("safegrade_file_channel_record", default=None)
_log = logging.getLogger("apprise")  # the logger whose records Apprise keeps with the call's result
_lock = threading.Lock()


@dataclass
class _Folder:
    """What this process has read of one folder: each file's inode and offset, and the keys seen."""

    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)


_folders: dict[Path, _Folder] = {}


def folder_of(meta: dict[str, Any]) -> Path:
    """The absolute folder of a `file:///abs/path` URL as Apprise parsed it (host + path, still quoted)."""
    return Path(unquote("/" + str(meta.get("host") or "") + str(meta.get("fullpath") or "")))


def day_file(folder: Path, at: str) -> Path:
    """The file of the day of `at` (an ISO date-time in the deployment's time zone)."""
    return folder / f"{datetime.fromisoformat(at).date().isoformat()}.jsonl"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with _lock, open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _refresh(folder: Path) -> set[str]:
    """The keys in the folder's files, reading only what was appended since this process last looked;
    a file replaced, shortened or removed makes it read the folder again from the start."""
    state = _folders.setdefault(folder, _Folder())
    present = {p.name: p.stat() for p in folder.glob("*.jsonl")}
    if any(name not in present or present[name].st_ino != ino or present[name].st_size < offset
           for name, (ino, offset) in state.files.items()):
        state = _folders[folder] = _Folder()
    for name, stat in sorted(present.items()):
        ino, offset = state.files.get(name, (stat.st_ino, 0))
        if stat.st_size > offset:
            with open(folder / name, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read(stat.st_size - offset)
            complete = chunk.rfind(b"\n") + 1  # a last line without its newline is not read yet
            for line in chunk[:complete].splitlines():
                try:
                    state.keys.add(str(json.loads(line)["key"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line torn by a crash: that message was not delivered
            offset += complete
        state.files[name] = (ino, offset)
    return state.keys


def append_once(folder: Path, record: dict[str, Any]) -> bool:
    """Append `record` as one JSON line to its day's file unless its key is already in the folder;
    True if it was written, False if it was there already."""
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        if str(record["key"]) in _refresh(folder):
            return False
        path = day_file(folder, str(record["at"]))
        line = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
        with open(path, "a+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    line = b"\n" + line  # end a line torn by a crash, so that it stays apart
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return True


# the signature of an Apprise @notify plugin, which passes these by name; notify_type and the rest go unused
def send(
    body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any  # noqa: ARG001
) -> bool:
    """The Apprise plugin: write the record that `deliver` put in RECORD; False (with why) if it cannot."""
    record = RECORD.get()
    if record is None:
        _log.warning("the file channel writes only messages sent by safegrade (safegrade.notify.channels.deliver)")
        return False
    folder = folder_of(meta)
    try:
        append_once(folder, {**record, "title": title, "body": body})
    except OSError as exc:
        _log.warning("could not write to %s: %s", folder, exc.strerror or exc)
        return False
    return True


def register() -> None:
    """Register the `file://` schema with Apprise (once per process; its plugin manager is a singleton)."""
    from apprise.decorators import notify
    from apprise.manager_plugins import NotificationManager

    if SCHEME not in NotificationManager():
        notify(on=SCHEME, name="safegrade file channel")(send)
