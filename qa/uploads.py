"""Taking uploaded article files and zips into the index folder, safely and within a size bound.

Everything is written under the given uploads folder (inside `QA_INDEX_DIR`): file
names are reduced to safe characters, zip entries with absolute paths, `..`, drive
letters or symbolic links are skipped with a note, and the total size is bounded
both by what a zip declares and by the bytes actually copied, so a zip bomb stops.
Ingesting what was saved is the caller's job.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path

from .errors import UploadError
from .loaders import SUPPORTED_SUFFIXES

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # all files of one upload together, zip contents counted uncompressed


def safe_name(name: str) -> str:
    """A file or folder name with only letters, digits, dot, dash and underscore, never hidden or empty."""
    cleaned = re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("._")[:100]
    return cleaned or "article"


def copy_bounded(source, target: Path, budget: int) -> int:
    """Copy a stream into `target`, stopping with an error once more than `budget` bytes came."""
    written = 0
    with open(target, "wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > budget:
                out.close()
                target.unlink()
                raise UploadError(f"The upload is larger than {MAX_UPLOAD_BYTES // 2**20} MB in all; split it up.")
            out.write(chunk)
    return written


def extract_zip(archive: Path, folder: Path, budget: int) -> tuple[int, list[str]]:
    """Extract the articles in a zip under `folder`; unsafe or unsupported entries are skipped with a note."""
    notes, written = [], 0
    try:
        zipped = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise UploadError(f"{archive.name} is not a readable zip file.") from None
    with zipped:
        entries = [e for e in zipped.infolist() if not e.is_dir()]
        if sum(e.file_size for e in entries) > budget:  # declared sizes first; copy_bounded enforces the real ones
            raise UploadError(f"{archive.name} unpacks to more than {MAX_UPLOAD_BYTES // 2**20} MB; split it up.")
        for entry in entries:
            parts = entry.filename.replace("\\", "/").split("/")
            if entry.filename.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts:
                notes.append(f"skipped {entry.filename}: unsafe path in the zip")
            elif stat.S_ISLNK(entry.external_attr >> 16):
                notes.append(f"skipped {entry.filename}: symbolic link")
            elif Path(entry.filename).suffix.lower() not in SUPPORTED_SUFFIXES:
                notes.append(f"skipped {entry.filename}: not an article file")
            else:
                target = folder.joinpath(*[safe_name(p) for p in parts if p not in ("", ".")])
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(entry) as source:
                    written += copy_bounded(source, target, budget - written)
    return written, notes


def save_uploads(files: list[str], uploads: Path) -> tuple[list[Path], list[str]]:
    """Copy uploaded files (and the articles inside zips) under `uploads`; returns what to ingest and notes."""
    uploads.mkdir(parents=True, exist_ok=True)
    saved, notes, used = [], [], 0
    for given in files:
        path = Path(given)
        name = safe_name(path.name)
        suffix = path.suffix.lower()
        if suffix == ".zip":
            folder = uploads / safe_name(path.stem)
            written, zip_notes = extract_zip(path, folder, MAX_UPLOAD_BYTES - used)
            used += written
            notes += zip_notes
            saved.append(folder)
        elif suffix in SUPPORTED_SUFFIXES:
            with open(path, "rb") as source:
                used += copy_bounded(source, uploads / name, MAX_UPLOAD_BYTES - used)
            saved.append(uploads / name)
        else:
            notes.append(f"skipped {path.name}: not an article file ({', '.join(SUPPORTED_SUFFIXES)} or .zip)")
    return saved, notes
