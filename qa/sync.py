"""What each machine needs to keep its side indexes equal to a shared Chroma collection.

The BM25 index and the near-duplicate signatures live beside the store, one copy per
machine, while the articles may sit on a Chroma server that many machines write to.
So Chroma also holds a manifest: a second collection, `<collection>-articles`, with
one row per article ever written (its source, content hash, when and by whom it
was last written, and whether it was deleted). Every write through `NewsStore` ends
by stamping the articles it touched. Each machine remembers, in its side index, the
stamp it last applied for every article and when it last looked; syncing reads only
the stamps written since that look (less `CLOCK_SKEW_SECONDS`, for machines whose
clocks differ and stamps that arrive late, on a full look; less `RECENT_LOOK_SECONDS`
on the looks between) and re-reads from Chroma just the
articles whose stamp is not the one it applied. Syncing therefore costs what changed, not the
collection. What to do with the changed articles is `NewsStore`'s job.
Left out: machines whose clocks differ by more than `CLOCK_SKEW_SECONDS`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import sidedb

MANIFEST_SUFFIX = "-articles"
# Stamps carry the writer's clock; a reader reads the stamps written since its last look less this,
# so a writer whose clock runs up to a minute behind, or whose stamp reached Chroma late, is still
# seen (NTP keeps machines within milliseconds). A full look therefore reads the last minute's stamps again.
CLOCK_SKEW_SECONDS = 60.0
# Re-reading that minute on every look made each question that came due for one wait 3.2 s in the minute
# after 65k articles were stamped (9.7 s for 330k; bench/scale.py). So a process makes that full look on
# its first look and then once every FULL_LOOK_SECONDS, from the previous full look less the skew; the
# looks between re-read only RECENT_LOOK_SECONDS before the last look. A write stamped on a clock that
# lags by more than that, or whose stamp lands that late, is applied by the next full look.
RECENT_LOOK_SECONDS = 5.0
FULL_LOOK_SECONDS = 30.0
# A long-running `qa serve` checks for other machines' writes before a question when its last
# check is older than this; each check is one small Chroma query.
SYNC_INTERVAL_SECONDS = 2.0
PAGE = 5000
STAMP_BATCH = 2000  # rows per upsert: Chroma refuses batches over its maximum (5,461 for the embedded store)
WRITER = uuid.uuid4().hex  # this process, so a reader can tell its own writes from another's
SCHEMA = """
CREATE TABLE IF NOT EXISTS synced_article (
    source TEXT PRIMARY KEY, article_hash TEXT NOT NULL, written REAL NOT NULL, deleted INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sync_mark (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""


@dataclass(frozen=True)
class Stamp:
    """The manifest's word on one article: its content as last written, or that it was deleted."""

    source: str
    article_hash: str
    written: float
    writer: str = ""
    deleted: bool = False

    @property
    def key(self) -> tuple:
        return self.article_hash, self.written, self.deleted


def manifest_name(collection: str) -> str:
    return collection + MANIFEST_SUFFIX


class Manifest:
    """The manifest collection: stamps written after every write, read back by time."""

    def __init__(self, collection):
        self.collection = collection  # a raw chromadb collection, created with a 1-dimensional space

    def stamp(self, articles: dict[str, str], *, deleted: bool = False) -> list[Stamp]:
        """Record that the articles (source -> content hash) were just written, or deleted."""
        if not articles:
            return []
        items, stamps = list(articles.items()), []
        for start in range(0, len(items), STAMP_BATCH):
            # Timed per batch, so a stamp lands within one upsert of the time it carries.
            now = time.time()
            batch = [Stamp(source, content_hash, now, WRITER, deleted)
                     for source, content_hash in items[start : start + STAMP_BATCH]]
            stamps += batch
            self.collection.upsert(
                ids=[s.source for s in batch],
                embeddings=[[1.0]] * len(batch),  # Chroma needs a vector per row; the manifest is read by metadata
                metadatas=[
                    {"source": s.source, "article_hash": s.article_hash, "written": s.written, "writer": s.writer,
                     "deleted": s.deleted}
                    for s in batch
                ],
            )
        return stamps

    def since(self, moment: float) -> list[Stamp]:
        """The stamps written at or after `moment` (by the writers' clocks)."""
        return list(self._pages(where={"written": {"$gte": moment}}))

    def every(self) -> Iterator[Stamp]:
        return self._pages()

    def _pages(self, where: dict | None = None) -> Iterator[Stamp]:
        """Stamps a page at a time: Chroma fails on a `get` of more rows than SQLite takes variables (32,766)."""
        offset = 0
        while True:
            page = self.collection.get(where=where, include=["metadatas"], limit=PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            yield from (_stamp(m) for m in metadatas)
            if len(metadatas) < PAGE:
                return
            offset += PAGE

    def count(self) -> int:
        return self.collection.count()


def _stamp(metadata: dict) -> Stamp:
    return Stamp(
        metadata["source"], metadata.get("article_hash", ""), float(metadata.get("written", 0.0)),
        metadata.get("writer", ""), bool(metadata.get("deleted", False)),
    )


class SyncState:
    """What this machine's side indexes hold: the stamp applied per article, and when the manifest was last read."""

    def __init__(self, path: Path):
        self._db = sidedb.connect(path, lambda db: db.executescript(SCHEMA))
        self._lock = threading.Lock()
        self.checked_at = 0.0  # monotonic time of this process's last look at the manifest

    def applied(self, sources: Iterable[str]) -> dict[str, tuple]:
        """source -> the key of the stamp applied, for those of `sources` that have one."""
        sources, found = list(sources), {}
        with self._lock:
            for start in range(0, len(sources), 500):
                batch = sources[start : start + 500]
                rows = self._db.execute(
                    "SELECT source, article_hash, written, deleted FROM synced_article "
                    f"WHERE source IN ({', '.join('?' * len(batch))})", batch,
                )
                found.update({row[0]: (row[1], row[2], bool(row[3])) for row in rows})
        return found

    def record(self, stamps: Iterable[Stamp], *, replace_all: bool = False) -> None:
        """Note stamps as applied (all of them, with `replace_all`)."""
        stamps = list(stamps)
        with self._lock, self._db:
            if replace_all:
                self._db.execute("DELETE FROM synced_article")
                self._db.execute("DELETE FROM sync_mark")
            self._db.executemany(
                "INSERT OR REPLACE INTO synced_article(source, article_hash, written, deleted) VALUES (?, ?, ?, ?)",
                [(s.source, s.article_hash, s.written, int(s.deleted)) for s in stamps],
            )

    def looked(self, moment: float) -> None:
        """Note that every stamp written before `moment` (this machine's clock) has been read and applied."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO sync_mark(name, value) VALUES ('looked', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)",
                (moment,),
            )

    def last_look(self) -> float:
        """When the manifest was last read into these side indexes (time.time()); 0 before the first sync."""
        with self._lock:
            row = self._db.execute("SELECT value FROM sync_mark WHERE name = 'looked'").fetchone()
        return row[0] if row else 0.0

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM synced_article").fetchone()[0]

    def due(self) -> bool:
        """Whether the last look at the manifest is older than SYNC_INTERVAL_SECONDS."""
        return time.monotonic() - self.checked_at >= SYNC_INTERVAL_SECONDS

    def close(self) -> None:
        with self._lock:
            self._db.close()


def unapplied(stamps: Iterable[Stamp], state: SyncState) -> list[Stamp]:
    """The newest stamp of each article whose stamp differs from the one applied here."""
    newest: dict[str, Stamp] = {}
    for stamp in stamps:
        if stamp.source not in newest or stamp.written > newest[stamp.source].written:
            newest[stamp.source] = stamp
    applied = state.applied(newest)
    return [s for s in newest.values() if applied.get(s.source) != s.key]
