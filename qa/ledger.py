"""What the last ingest into an index read, so re-ingesting unchanged files reads only their stats.

After an ingest that ran to the end, `record` writes beside the embedded index
(`ingested-<collection>.json`) the paths it was given, the settings that decide
passages and vectors, the stat of every file under those paths and the summary's
counts. `recall` gives those counts back, without opening the store or loading a
model, when the same paths hold the same files with the same stats and the index has
not been written since: every write through `NewsStore` deletes the record first, and
Chroma's own file must have the stat it had (not replaced, restored or damaged). A
file's size, modification time, change time and inode together change whenever its
content does (the check git makes), and the change time cannot be set back. Anything
else returns None, and the ingest compares content hashes as usual.

Left out: a Chroma server, which other machines write to unseen; reusing the record
for the unchanged files of a corpus where one file changed (the hash comparison
already skips those without model work).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from .settings import Settings

LEDGER_VERSION = 1  # bump when what is recorded, or what it stands for, changes


def ledger_path(settings: Settings) -> Path | None:
    """Where the record of the last ingest lives; None for a Chroma server."""
    if settings.chroma_host:
        return None
    return settings.index_dir / f"ingested-{settings.collection}.json"


def snapshot(paths: Iterable[str | Path]) -> dict[str, list[int]]:
    """path -> (size, mtime, ctime, inode) of every file under the paths, hidden ones too (a change there counts)."""
    found = {}
    for given in paths:
        top = os.path.abspath(given)
        if os.path.isfile(top):
            found[top] = _stat(top)
            continue
        for folder, _, names in os.walk(top):
            for name in names:
                file = os.path.join(folder, name)
                found[file] = _stat(file)
    return found


def record(paths: Iterable[str | Path], settings: Settings, namespace: str, files: dict[str, list[int]],
           counts: dict[str, Any]) -> None:
    """Write the record of an ingest that just finished: `files` as `snapshot` saw them before it read them,
    and `counts`, what `recall` will give back."""
    path = ledger_path(settings)
    if path is None:
        return
    entry = {"key": _key(paths, settings, namespace), "files": files, "index": _index_stat(settings),
             "counts": counts}
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(entry), encoding="utf-8")
    os.replace(tmp, path)  # a reader sees the old record or the new one, never half of one


def recall(paths: Iterable[str | Path], settings: Settings, namespace: str) -> dict[str, Any] | None:
    """The recorded counts, if re-ingesting `paths` now would change nothing; else None."""
    path = ledger_path(settings)
    if path is None:
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    paths = list(paths)
    if entry.get("index") != _index_stat(settings) or not entry["index"]:
        return None  # Chroma's file was replaced, restored or damaged since
    if entry.get("key") != _key(paths, settings, namespace) or entry.get("files") != snapshot(paths):
        return None
    return entry["counts"]


def forget(path: Path | None) -> None:
    """Drop the record: the index is being written, so it may no longer hold what the record says."""
    if path is not None:
        path.unlink(missing_ok=True)


def _key(paths: Iterable[str | Path], settings: Settings, namespace: str) -> list:
    given = [os.path.abspath(p) for p in paths]
    return [LEDGER_VERSION, given, namespace, settings.chunk_chars, settings.chunk_overlap,
            settings.embedding_model, settings.embedding_backend]


def _index_stat(settings: Settings) -> list[int]:
    return _stat(str(settings.index_dir / "chroma.sqlite3"))


def _stat(file: str) -> list[int]:
    try:
        s = os.stat(file)
    except OSError:
        return []
    return [s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino]
