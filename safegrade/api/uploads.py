"""Uploaded files at the API's edge: each streamed in chunks to a temporary file of its own while its SHA-256
is computed, refused past the size limit (413 `too_large`) or outside the allowed types (415
`unsupported_type`: the declared type and the first bytes must agree), named by the base name of the client's
file name only (a name such as `../../etc/passwd` or `..\\x` is never used as a path), and removed whatever
happens when the request is done (`received` is a context manager).

A service then reads the temporary files by path, as it reads the CLI's files: the evidence store keeps
evidence by SHA-256, an import reads a ledger or assessments. A service names a file by its path; `located`
turns the temporary folder back into the user's file name in what it reports (each upload sits in a folder of
its own under one temporary folder, so two uploads of the same name do not collide).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, Response, UploadFile
from fastapi.routing import APIRoute

from safegrade.api import problems
from safegrade.errors import InputErrors, InvalidInput, Problem
from safegrade.settings import Settings

CHUNK = 1 << 16
MAX_FILES = 20
MAX_NAME = 200  # characters of a kept file name
OCTET = "application/octet-stream"
ZIP = b"PK\x03\x04"
OFFICE_ZIP = ("application/vnd.openxmlformats-officedocument.", "application/zip", "application/x-zip-compressed")

# the types recognised by their first bytes: (signature, the declared types it agrees with)
SIGNATURES: tuple[tuple[bytes, str, tuple[str, ...]], ...] = (
    (b"%PDF-", "application/pdf", ("application/pdf",)),
    (b"\x89PNG\r\n\x1a\n", "image/png", ("image/png",)),
    (b"\xff\xd8\xff", "image/jpeg", ("image/jpeg", "image/jpg", "image/pjpeg")),
    (b"GIF87a", "image/gif", ("image/gif",)),
    (b"GIF89a", "image/gif", ("image/gif",)),
    (ZIP, "application/zip", OFFICE_ZIP),
)
mimetypes.add_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
mimetypes.add_type("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
mimetypes.add_type("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx")


@dataclass(frozen=True, slots=True)
class Received:
    """One uploaded file as kept for the request: its temporary path (named by `name`), the base name of the
    client's file name, its SHA-256, size and type (the declared one, agreed with its first bytes)."""

    path: Path
    name: str
    sha256: str
    size: int
    media_type: str


def base_name(raw: str | None, fallback: str = "upload") -> str:
    """The last part of a client's file name, whichever separator it uses, with no control characters, no
    leading dots or spaces and at most MAX_NAME characters; `fallback` when nothing is left ('..', '')."""
    last = re.split(r"[\\/]", raw or "")[-1]
    kept = "".join(c for c in unicodedata.normalize("NFC", last)
                   if unicodedata.category(c)[0] != "C").strip().lstrip(". ").rstrip(" ")
    if not kept or set(kept) <= {"."}:
        return fallback
    if len(kept) > MAX_NAME:
        stem, dot, ext = kept.rpartition(".")
        kept = (stem[:MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 16 else kept[:MAX_NAME]
    return kept


def max_bytes(settings: Settings) -> int:
    return int(settings.web.uploads.max_bytes)


def allowed_types(settings: Settings) -> list[str]:
    return [t.strip().lower() for t in settings.web.uploads.allowed_types]


def declared_type(upload: UploadFile, name: str) -> str:
    """The type the client declared for the part; by the file name's suffix when it declared none (or only
    application/octet-stream)."""
    given = (upload.content_type or "").split(";")[0].strip().lower()
    if given and given != OCTET:
        return given
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return (guessed or OCTET).lower()


def sniffed(head: bytes) -> tuple[str, tuple[str, ...]] | None:
    for signature, kind, agrees in SIGNATURES:
        if head.startswith(signature):
            return kind, agrees
    return None


def _agrees(declared: str, head: bytes) -> bool:
    """The declared type and the first bytes tell the same: a type recognised by its bytes must have them, and
    bytes of a recognised type must be declared as that type."""
    found = sniffed(head)
    if found is not None:
        return declared in found[1] or any(declared.startswith(p) for p in found[1] if p.endswith("."))
    for signature, _, agrees in SIGNATURES:  # declared as a signed type, but without its signature
        if declared in agrees or (signature == ZIP and declared.startswith(OFFICE_ZIP[0])):
            return False
    return True


def too_large(name: str, limit: int) -> InvalidInput:
    return InvalidInput(f"{{files}}: {name} is larger than {limit:,} bytes; nothing was kept", code="too_large",
                        field="files", value=name, allowed=f"at most {limit} bytes a file")


def unsupported(name: str, declared: str, allowed: Sequence[str], why: str = "") -> InvalidInput:
    return InvalidInput(f"{{files}}: {name} is {declared}{why}; allowed: {', '.join(allowed)}",
                        code="unsupported_type", field="files", value=name, allowed=list(allowed))


def _store(upload: UploadFile, target: Path, limit: int) -> tuple[str, int, bytes]:
    """Copy the part to `target` in chunks while hashing it; its SHA-256, size and first bytes."""
    digest, size, head = hashlib.sha256(), 0, b""
    upload.file.seek(0)
    with target.open("xb") as out:
        for chunk in iter(lambda: upload.file.read(CHUNK), b""):
            size += len(chunk)
            if size > limit:
                raise too_large(target.name, limit)
            if len(head) < 16:
                head += chunk[:16 - len(head)]
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size, head


@contextmanager
def received(settings: Settings, uploads: Sequence[UploadFile], *, types: Sequence[str] | None = None,
             suffixes: Sequence[str] | None = None) -> Iterator[list[Received]]:
    """The uploads kept as temporary files, checked for size and type (`types`: media types, by default the
    settings' allowed types; or `suffixes`: file name endings, for imports), and removed when the block ends,
    whatever happens in it."""
    if not uploads:
        raise InvalidInput("send one or more {files}", code="required", field="files", value=[],
                           allowed="one or more files")
    if len(uploads) > MAX_FILES:
        raise InvalidInput(f"{{files}}: {len(uploads)} files; send at most {MAX_FILES} at a time",
                           code="too_many_files", field="files", value=len(uploads), allowed=f"1 to {MAX_FILES}")
    limit = max_bytes(settings)
    allowed = list(types) if types is not None else allowed_types(settings)
    folder = Path(tempfile.mkdtemp(prefix="safegrade-upload-"))
    try:
        kept = []
        for n, upload in enumerate(uploads):
            name = base_name(upload.filename, fallback=f"upload-{n + 1}")
            declared = declared_type(upload, name)
            if suffixes is not None:
                if not name.lower().endswith(tuple(suffixes)):
                    raise unsupported(name, f"a .{name.rpartition('.')[2] or '?'} file", suffixes)
            elif declared not in allowed:
                raise unsupported(name, declared, allowed)
            (folder / str(n)).mkdir()
            target = folder / str(n) / name
            sha, size, head = _store(upload, target, limit)
            if suffixes is not None:
                declared = mimetypes.guess_type(name, strict=False)[0] or declared
            if not _agrees(declared, head):
                raise unsupported(name, declared, allowed if suffixes is None else suffixes,
                                  " by its name or declared type, but its content is not")
            kept.append(Received(target, name, sha, size, declared))
        yield kept
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def local_text(text: str, kept: Sequence[Received]) -> str:
    """`text` with each kept file's temporary path written as the user's file name."""
    for r in sorted(kept, key=lambda r: -len(str(r.path))):
        text = text.replace(str(r.path), r.name)
    return text


def located(exc: InputErrors, kept: Sequence[Received]) -> InputErrors:
    """The same refusal, each of its problems naming the user's file rather than the temporary one."""
    exc.problems = [_located(p, kept) for p in exc.problems]
    exc.message = local_text(exc.message, kept)
    exc.args = (exc.message,)
    if isinstance(exc.value, list):
        exc.value = [local_text(str(v), kept) for v in exc.value]
    return exc


def _located(p: Problem | str, kept: Sequence[Received]) -> Problem | str:
    if not isinstance(p, Problem):
        return local_text(p, kept)
    return Problem(local_text(p.file, kept), p.row, p.column, p.value, local_text(p.reason, kept), hint=p.hint,
                   field=p.field)


class UploadRoute(APIRoute):
    """A route that takes files: a request whose declared length is beyond what it could ever accept (the
    most files, each at the limit) is refused 413 before its body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            length = request.headers.get("content-length", "")
            settings: Settings = request.app.state.safegrade.settings
            ceiling = max_bytes(settings) * MAX_FILES + (1 << 20)
            if length.isdigit() and int(length) > ceiling:
                return problems.error_response(too_large("the request", max_bytes(settings) * MAX_FILES), request)
            return await handler(request)

        return guarded
