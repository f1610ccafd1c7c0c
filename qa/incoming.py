"""Gradio's upload cache (`<QA_INDEX_DIR>/uploads/.incoming`): bounded in size, with names Gradio passes on.

Files reach the server at Gradio's `POST /gradio_api/upload`, which writes each into this
folder before any handler of ours runs, and keeps it until the hourly `delete_cache`
sweep, whether or not anyone adds it to the index. `IncomingGuard`, an ASGI middleware in
front of that route, refuses a request larger than one upload may be (HTTP 413; the
body is read and dropped, never written), and after each upload removes the oldest files until the folder holds
at most MAX_INCOMING_BYTES. It also renames an arriving file whose name starts with a dot:
Gradio would otherwise refuse to hand it to the page's handler (`InvalidPathError`,
shown as a bare "Error"), and `uploads.safe_name` drops the dot anyway. `release_incoming`
deletes the copies an add has used. Saving and ingesting uploads is `uploads.py`'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .uploads import MAX_UPLOAD_BYTES, UPLOADS, uploads_folder

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

MAX_INCOMING_BYTES = 3 * MAX_UPLOAD_BYTES  # about three full uploads waiting to be added; beyond it, oldest go first
MULTIPART_ALLOWANCE = 1024 * 1024  # a request's form headers and boundaries on top of the files themselves
UPLOAD_ROUTE = "/gradio_api/upload"
TOO_LARGE = f"The upload is larger than {MAX_UPLOAD_BYTES // 2**20} MB in all; split it up."


def incoming_folder(settings: Settings) -> Path:
    """Where Gradio keeps the uploads it received (GRADIO_TEMP_DIR), inside the index folder."""
    return (uploads_folder(settings) / ".incoming").resolve()


def prune_incoming(folder: Path, limit: int = MAX_INCOMING_BYTES) -> list[Path]:
    """Remove the oldest files under `folder` until the rest hold at most `limit` bytes; returns those removed."""
    files = []
    for path in folder.rglob("*") if folder.is_dir() else []:
        try:
            info = path.lstat()
        except FileNotFoundError:  # removed meanwhile (an add, or Gradio's own sweep)
            continue
        if path.is_file():
            files.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = []
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        _remove_if_empty(path.parent, folder)
        total -= size
        removed.append(path)
    if removed:
        log.info("removed %d old upload(s) from %s to keep it under %d MB", len(removed), folder, limit // 2**20)
    return removed


def release_incoming(files: Iterable[str], folder: Path) -> None:
    """Delete the given files (an add's inputs) where they are Gradio's copies under `folder`; others are left."""
    for given in files:
        path = Path(os.path.abspath(given))
        if path.is_relative_to(folder) and path.is_file():
            path.unlink(missing_ok=True)
            _remove_if_empty(path.parent, folder)


def undotted(path: Path, folder: Path) -> Path:
    """`path` renamed without its name's leading dots when it is an upload under `folder`, else `path` itself."""
    path = Path(os.path.abspath(path))
    if not path.name.startswith(".") or not path.is_relative_to(folder) or not path.is_file():
        return path
    target = path.with_name(path.name.lstrip(".") or UPLOADS)
    os.replace(path, target)  # the folder is named for the content, so a file already there holds the same bytes
    return target


def _remove_if_empty(path: Path, folder: Path) -> None:
    """Gradio keeps each upload in a folder of its own; drop that folder once it is empty."""
    if path != folder and path.is_relative_to(folder):
        with contextlib.suppress(OSError):  # not empty, or gone
            path.rmdir()


class IncomingGuard:
    """ASGI middleware on Gradio's upload route: a size bound per request and for the folder, names without dots."""

    def __init__(self, app, folder: Path, limit: int = MAX_INCOMING_BYTES):
        self.app, self.folder, self.limit = app, Path(folder), limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != UPLOAD_ROUTE:
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE:
            await _discard_body(receive)  # a client still sending would see a broken pipe, not the answer
            return await _plain_response(send, 413, TOO_LARGE)
        held: dict = {}

        async def renaming_send(message):
            # The route answers with the paths it wrote, as JSON; the page sends them back with its event.
            if message["type"] == "http.response.start":
                held["start"] = message
                return
            if message["type"] == "http.response.body" and "start" in held:
                held["body"] = held.get("body", b"") + message.get("body", b"")
                if message.get("more_body"):
                    return
                start, body = held.pop("start"), held.pop("body")
                if start["status"] == 200:
                    body = await asyncio.to_thread(self._undot, body)
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        try:
            await self.app(scope, receive, renaming_send)
        finally:
            await asyncio.to_thread(prune_incoming, self.folder, self.limit)

    def _undot(self, body: bytes) -> bytes:
        try:
            paths = json.loads(body)
        except ValueError:
            return body
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            return body
        renamed = [str(undotted(Path(p), self.folder)) for p in paths]
        return body if renamed == paths else json.dumps(renamed).encode()


async def _discard_body(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return


async def _plain_response(send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
