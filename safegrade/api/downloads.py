"""Downloads: a file or bytes sent back as an attachment under a user's file name (Chinese allowed, RFC 6266 /
RFC 5987), and files generated into a temporary folder that is removed once the response is sent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}


def attachment(name: str) -> dict[str, str]:
    """The Content-Disposition of an attachment named `name`: an ASCII stand-in and the UTF-8 name."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name) or "download"
    return {"Content-Disposition": f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"}


def bytes_download(data: bytes, name: str, fmt: str) -> Response:
    return Response(data, media_type=MEDIA_TYPES[fmt], headers=attachment(name))


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary folder for a generated file, removed when the block fails; on success hand it to
    `file_download`, which removes it after the response is sent."""
    folder = Path(tempfile.mkdtemp(prefix="safegrade-report-"))
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def file_download(path: Path, folder: Path, name: str, fmt: str) -> FileResponse:
    """`path` as an attachment named `name`; `folder` (which holds it) removed once it is sent."""
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], headers=attachment(name),
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
