"""The SQLite file beside the store that holds the derived side indexes, opened safely.

The BM25 index, the near-duplicate signatures and the sync state (`lexical`,
`duplicates`, `sync`) share one file per collection. Everything in it can be
rebuilt from Chroma, so a damaged file (cut short, overwritten, "database disk image
is malformed" confirmed by SQLite's quick_check) is set aside as `<name>.damaged` and
a new empty one is started; the store's sync then refills it. Left out: repairing
Chroma's own files, which hold the only copy of the articles (`store.open_store` says
what to do instead).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
_opening = threading.Lock()  # two side indexes of one process must not both set a file aside
# (device, inode) of every side index file this process has connected to. Its header is read only before
# the first connection: closing any descriptor of a file drops every POSIX lock the process holds on it,
# SQLite's included, and without its shared lock another process closing its last connection takes this
# one for gone, checkpoints and deletes the WAL under it, and the writes that follow are lost.
_connected: set[tuple[int, int]] = set()
HEADER_BYTES = 100
OPEN_ATTEMPTS = 3
RETRY_SECONDS = 0.5


def connect(path: Path, prepare: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    """A WAL-mode connection to the side index at `path`, made ready by `prepare` (its tables).

    When the file is damaged, whether its header shows it or SQLite's own check confirms an
    error met while preparing, it is set aside first and `prepare` runs on a new, empty file.
    An error the check does not confirm (another process was mid-write) is retried, then raised.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _opening:
        if _file_id(path) not in _connected and (reason := damage(path)):
            _set_aside(path, reason)
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            try:
                db = _open(path, prepare)
                break
            except sqlite3.DatabaseError as error:
                if reason := confirmed_damage(path):
                    _set_aside(path, f"{error}; {reason}")
                    db = _open(path, prepare)
                    break
                if attempt == OPEN_ATTEMPTS:
                    raise
                log.warning("%s could not be opened (%s); trying again", path, error)
                time.sleep(RETRY_SECONDS)
        _connected.add(_file_id(path))
        return db


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def confirmed_damage(path: Path) -> str:
    """What SQLite's quick_check finds wrong with the file (read-only), or "" when it finds nothing."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60) as db:
            found = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as error:
        return str(error)
    return "" if found == ["ok"] else "; ".join(found)


def changed(db: sqlite3.Connection, part: str) -> None:
    """Note, inside the writing transaction, that `part` ("lexical", "duplicates") of the file changed."""
    db.execute("INSERT INTO side_version(part, n) VALUES (?, 1) ON CONFLICT(part) DO UPDATE SET n = n + 1", (part,))


def version(db: sqlite3.Connection, part: str) -> int:
    """How many times `part` changed, from any connection of any process: what is read from it is kept until
    this moves. (SQLite's data_version moves on every commit to the file, the sync state's included, which
    the questions of a `qa serve` make every few seconds.)"""
    row = db.execute("SELECT n FROM side_version WHERE part = ?", (part,)).fetchone()
    return row[0] if row else 0


def _open(path: Path, prepare: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, timeout=60)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # concurrent ingest processes wait instead of failing
        db.execute("CREATE TABLE IF NOT EXISTS side_version (part TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        prepare(db)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


def damage(path: Path) -> str:
    """Why the file at `path` cannot be a whole SQLite database, or "" when it may be.

    Reads only the 100-byte header: a file shorter than the page count its header
    vouches for was cut short, and one without the SQLite magic was overwritten.
    Never while this process holds a connection to the file (see `_connected`).
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as file:
            header = file.read(HEADER_BYTES)
    except FileNotFoundError:
        return ""
    if size == 0:
        return ""
    if len(header) < HEADER_BYTES or not header.startswith(b"SQLite format 3\x00"):
        return "not an SQLite database"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is only vouched for when the change counter matches "version valid for".
    if header[24:28] == header[92:96] and size < pages * page_size:
        return f"cut short ({size} of {pages * page_size} bytes)"
    return ""


def _set_aside(path: Path, reason: str) -> None:
    """Move the damaged file (and its WAL) out of the way, keeping the last damaged copy for inspection."""
    log.warning("%s is damaged (%s); it is set aside as %s.damaged and rebuilt from Chroma", path, reason, path.name)
    os.replace(path, path.with_name(path.name + ".damaged"))
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
