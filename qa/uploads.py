"""Taking uploaded article files and zips into the index folder: safely, within a size bound, in their own namespace.

An upload is first written into a hidden staging folder under the uploads folder (inside
`QA_INDEX_DIR`) and moved into place only once all of it was read, so an upload refused as
a whole (too large, not a zip) leaves nothing behind. File names keep their letters, in any
script, and their extension; other characters become "_", leading dots go, and a name is
cut to MAX_NAME_CHARS with its extension kept. Zip entries with absolute paths, `..`, drive
letters or symbolic links are skipped with a note, and so are entries that are damaged,
encrypted or compressed in a way this Python cannot read (the rest of the zip is taken).
The total size is bounded both by what a zip declares and by the bytes actually copied,
so a zip bomb stops.

Uploads replace nothing they did not upload themselves. A name a different upload already
has gets the next free one (`report.txt`, then `report-2.txt`); the same bytes under the
same name are that upload again and keep its name, so they ingest as unchanged. And
`ingest_uploads` ingests in the UPLOADS namespace (`loaders.iter_articles`): every source
starts "uploads/<stored name>", records included, so no uploaded record id can name an
article the operator ingested. Gradio's own copies of uploads are `incoming.py`'s business.
"""

from __future__ import annotations

import filecmp
import itertools
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UploadError
from .loaders import SUPPORTED_SUFFIXES

if TYPE_CHECKING:
    from .ingestion import IngestSummary
    from .settings import Settings

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # all files of one upload together, zip contents counted uncompressed
MAX_NAME_CHARS = 100  # a stored file or folder name, extension included
MAX_NAME_BYTES = 200  # the same in UTF-8, below the 255 bytes file systems take, with room for "-2"
UPLOADS = "uploads"  # the uploads folder's name in QA_INDEX_DIR, and the first part of every uploaded source
STAGING = ".staging-"  # an upload being written; hidden, so no ingest of the folder reads it half-done
KEPT_SUFFIXES = (*SUPPORTED_SUFFIXES, ".zip")  # extensions a shortened name keeps


def uploads_folder(settings: Settings) -> Path:
    return Path(settings.index_dir) / UPLOADS


def safe_name(name: str) -> str:
    """A file or folder name of letters (any script), digits, dot, dash and underscore; never hidden or empty,
    at most MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes long, its article or zip extension kept."""
    cleaned = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", name)).strip("._")
    stem, suffix = os.path.splitext(cleaned)
    if suffix.lower() not in KEPT_SUFFIXES:
        stem, suffix = cleaned, ""
    stem = stem[: MAX_NAME_CHARS - len(suffix)]
    while len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return (stem.rstrip("._") or "article") + suffix


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
    """Extract the articles in a zip under `folder`; unsafe, unsupported or unreadable entries are skipped, noted."""
    notes, written, unreadable = [], 0, 0
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError):
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
                target = unused_path(folder.joinpath(*[safe_name(p) for p in parts if p not in ("", ".")]))
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with zipped.open(entry) as source:
                        written += copy_bounded(source, target, budget - written)
                except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as error:
                    target.unlink(missing_ok=True)  # a damaged entry is found only while reading it
                    notes.append(f"skipped {entry.filename} in {archive.name}: {why_unreadable(entry, error)}")
                    unreadable += 1
    remove_empty_folders(folder)
    if unreadable:
        notes.append(f"the other entries of {archive.name} were read as usual")
    return written, notes


def why_unreadable(entry: zipfile.ZipInfo, error: Exception) -> str:
    """What to tell the uploader about a zip entry that could not be read."""
    if entry.flag_bits & 0x1:
        return "encrypted; zip it again without a password"
    if isinstance(error, NotImplementedError):
        return f"compressed with a method this server cannot read (zip method {entry.compress_type}); use deflate"
    if "CRC" in str(error):
        return "damaged (its CRC-32 check failed); zip it again from the original file"
    return f"damaged ({error}); zip it again from the original file"


def remove_empty_folders(folder: Path) -> None:
    """Remove `folder` and the folders under it that hold no file, deepest first."""
    if folder.is_dir():
        for path in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            if not any(path.iterdir()):
                path.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()


def numbered(path: Path, number: int) -> Path:
    """`path` itself for 1, else with "-<number>" before its extension: report.txt, report-2.txt, ..."""
    if number == 1:
        return path
    stem, suffix = os.path.splitext(path.name)
    if suffix.lower() not in KEPT_SUFFIXES:
        stem, suffix = path.name, ""
    return path.with_name(f"{stem}-{number}{suffix}")


def unused_path(path: Path) -> Path:
    """`path`, or the first numbered variant of it that does not exist yet."""
    return next(p for p in (numbered(path, n) for n in itertools.count(1)) if not p.exists())


def same_content(a: Path, b: Path) -> bool:
    """Whether two files, or two folders file by file, hold the same bytes."""
    if a.is_file() and b.is_file():
        return filecmp.cmp(a, b, shallow=False)
    if a.is_dir() and b.is_dir():
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        if files != sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()):
            return False
        return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)
    return False


def place(staged: Path, folder: Path) -> Path:
    """Move a staged file or folder into `folder` under its name, or the next free one when a different upload has
    that name; the same content as the upload already there is that upload again, and keeps its name."""
    for number in itertools.count(1):
        target = numbered(folder / staged.name, number)
        if same_content(staged, target):
            return target
        if target.exists():
            continue
        try:
            if staged.is_dir():
                staged.rename(target)  # refused when the name was taken meanwhile by a folder with files in it
            else:
                os.link(staged, target)  # refused when the name was taken meanwhile
            return target
        except FileExistsError:
            continue
        except OSError:
            if target.exists():
                continue
            raise


def save_uploads(files: list[str], uploads: Path) -> tuple[list[Path], list[str]]:
    """Copy uploaded files (and the articles inside zips) under `uploads`; returns what to ingest and notes.

    All of the upload is read into a staging folder first: when it is refused as a whole, nothing stays.
    """
    uploads.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=uploads))
    try:
        staged, notes = _stage(files, staging)
        saved = []
        for given, item in staged:
            target = place(item, uploads)
            if target.name != item.name:
                notes.append(f"saved {given} as {UPLOADS}/{target.name}: another upload is already called {item.name}")
            saved.append(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return saved, notes


def _stage(files: list[str], staging: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """Write the upload's articles into `staging`: (name given, path staged) for each file or zip, and notes."""
    staged, notes, used = [], [], 0
    for given in files:
        path = Path(given)
        suffix = path.suffix.lower()
        if suffix not in KEPT_SUFFIXES:
            notes.append(f"skipped {path.name}: not an article file ({', '.join(SUPPORTED_SUFFIXES)} or .zip)")
            continue
        if not path.is_file():
            raise UploadError(f"{path.name} is no longer on the server (uploads not added soon are cleared); "
                              "choose the file again.")
        if suffix == ".zip":
            folder = unused_path(staging / safe_name(path.stem))
            written, zip_notes = extract_zip(path, folder, MAX_UPLOAD_BYTES - used)
            used += written
            notes += zip_notes
            if folder.is_dir():
                staged.append((path.name, folder))
        else:
            target = unused_path(staging / safe_name(path.name))
            with open(path, "rb") as source:
                used += copy_bounded(source, target, MAX_UPLOAD_BYTES - used)
            staged.append((path.name, target))
    return staged, notes


def ingest_uploads(
    files: list[str], settings: Settings, *, progress: bool = True
) -> tuple[IngestSummary | None, list[str]]:
    """Save an upload under the index's uploads folder and ingest it in the UPLOADS namespace.

    Returns the ingest summary (None when nothing was left to ingest) and the notes on what was skipped or renamed.
    """
    from .api import get_pipeline, reporting_full_disk
    from .ingestion import ingest_articles

    with reporting_full_disk(settings, "add the files again"):  # saving the files needs room as well
        saved, notes = save_uploads(files, uploads_folder(settings))
    if not saved:
        return None, notes
    pipeline = get_pipeline(settings)
    with reporting_full_disk(pipeline.settings, "add the files again"):
        summary = ingest_articles(
            saved, pipeline.store, pipeline.embeddings, pipeline.settings, progress=progress, namespace=UPLOADS
        )
    return summary, notes
