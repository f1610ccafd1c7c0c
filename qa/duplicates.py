"""Near-duplicate articles (wire copies, re-published versions) by MinHash over word shingles.

At ingest each article's MinHash signature is stored with locality-sensitive
hashing bands in SQLite beside the store; `group_of(source)` then finds the
articles whose estimated Jaccard similarity of 5-word shingles is at least
`THRESHOLD` and that were published within `COPY_DAYS` of it (a weekly report written from
the same template, "U.S. oil demand rose 2.1 pct in the four weeks ended ...", shares most of
its shingles with last week's but is another report). Groups are worked out when asked, so
adding, changing or deleting an article only touches its own rows. Which copy retrieval shows
is decided in `retrieval.py`. Left out: translations and rewrites that share facts but not words.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from . import sidedb

SHINGLE_WORDS = 5
PERMUTATIONS = 64
BANDS = 16  # 16 bands of 4 rows: pairs at Jaccard 0.8 collide in some band with probability > 0.99
THRESHOLD = 0.8
# Copies of one report go out the same day or soon after; the Reuters weekly reports built from one template
# (M-1, bill auctions, oil demand) are 7 days apart and share 80% of their shingles. On the timeline dev part,
# grouping them showed one week's figure for three (U.S. bill auctions) and two (oil demand) other weeks.
COPY_DAYS = 3
GROUPS_KEPT = 10_000  # articles whose group is remembered between writes
_PRIME = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20240215)  # fixed, so signatures stay comparable across runs and machines
_A = _rng.integers(1, 1 << 31, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 31, PERMUTATIONS, dtype=np.uint64)
WORD = re.compile(r"\w+")
SCHEMA = """
CREATE TABLE IF NOT EXISTS article_sig (
    source TEXT PRIMARY KEY, date_num INTEGER NOT NULL, length INTEGER NOT NULL, sig BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS article_band (band INTEGER NOT NULL, bucket INTEGER NOT NULL, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS article_band_bucket ON article_band(band, bucket);
CREATE INDEX IF NOT EXISTS article_band_source ON article_band(source);
"""


def minhash(text: str) -> np.ndarray:
    """The article's MinHash signature: PERMUTATIONS minima of hashed 5-word shingles."""
    words = [w.lower() for w in WORD.findall(text)]
    span = min(SHINGLE_WORDS, max(len(words), 1))
    shingles = {" ".join(words[i : i + span]) for i in range(max(len(words) - span + 1, 1))}
    hashes = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=np.uint64, count=len(shingles))
    # (a*x + b) mod p with x < 2^32 and a, b < 2^31 stays below 2^63: no uint64 overflow.
    return ((np.outer(hashes, _A) + _B) % _PRIME).min(axis=0)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


@dataclass(frozen=True)
class Member:
    source: str
    date_num: int
    length: int


class DuplicateIndex:
    """MinHash signatures of the indexed articles, with LSH lookup; thread-safe within a process."""

    def __init__(self, path: Path):
        self._db = sidedb.connect(path, lambda db: db.executescript(SCHEMA))
        self._lock = threading.Lock()
        # Groups found, kept until the signatures change here or in another process (`sidedb.version`).
        self._groups: dict[str, list[Member]] = {}
        self._version = None

    def add(self, source: str, text: str, date_num: int) -> list[str]:
        """Store the article's signature; returns the already-indexed articles it nearly duplicates."""
        signature = minhash(text)
        with self._lock, self._db:
            self._groups = {}
            sidedb.changed(self._db, "duplicates")
            self._remove(source)
            duplicates = [m.source for m in self._matches(source, date_num, signature)]
            self._db.execute(
                "INSERT INTO article_sig(source, date_num, length, sig) VALUES (?, ?, ?, ?)",
                (source, date_num, len(text), signature.tobytes()),
            )
            self._db.executemany(
                "INSERT INTO article_band(band, bucket, source) VALUES (?, ?, ?)",
                [(band, bucket, source) for band, bucket in enumerate(_buckets(signature))],
            )
        return duplicates

    def remove(self, sources: list[str]) -> None:
        with self._lock, self._db:
            self._groups = {}
            sidedb.changed(self._db, "duplicates")
            for source in sources:
                self._remove(source)

    def clear(self) -> None:
        with self._lock, self._db:
            self._groups = {}
            sidedb.changed(self._db, "duplicates")
            self._db.execute("DELETE FROM article_sig")
            self._db.execute("DELETE FROM article_band")

    def _remove(self, source: str) -> None:
        self._db.execute("DELETE FROM article_sig WHERE source = ?", (source,))
        self._db.execute("DELETE FROM article_band WHERE source = ?", (source,))

    def group_of(self, source: str) -> list[Member]:
        """The article and its near-duplicates (empty when the article has no signature)."""
        with self._lock:
            version = sidedb.version(self._db, "duplicates")
            if version != self._version:
                self._groups, self._version = {}, version
            if source not in self._groups:
                if len(self._groups) >= GROUPS_KEPT:
                    self._groups.clear()
                self._groups[source] = self._group_of(source)
            return self._groups[source]

    def _group_of(self, source: str) -> list[Member]:
        row = self._db.execute("SELECT date_num, length, sig FROM article_sig WHERE source = ?", (source,)).fetchone()
        if row is None:
            return []
        signature = np.frombuffer(row[2], dtype=np.uint64)
        return [Member(source, row[0], row[1])] + self._matches(source, row[0], signature)

    def _matches(self, source: str, date_num: int, signature: np.ndarray) -> list[Member]:
        candidates: set[str] = set()
        for band, bucket in enumerate(_buckets(signature)):
            rows = self._db.execute("SELECT source FROM article_band WHERE band = ? AND bucket = ?", (band, bucket))
            candidates.update(r[0] for r in rows)
        candidates.discard(source)
        members = []
        for other in sorted(candidates):
            row = self._db.execute(
                "SELECT date_num, length, sig FROM article_sig WHERE source = ?", (other,)
            ).fetchone()
            if (row and _close_in_time(date_num, row[0])
                    and similarity(signature, np.frombuffer(row[2], dtype=np.uint64)) >= THRESHOLD):
                members.append(Member(other, row[0], row[1]))
        return members

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM article_sig").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _close_in_time(a: int, b: int) -> bool:
    """Were two articles (dates as YYYYMMDD, 0 when undated) published within `COPY_DAYS` of each other?"""
    if not a or not b:
        return True
    first, second = (date(n // 10000, n // 100 % 100, n % 100) for n in (a, b))
    return abs((first - second).days) <= COPY_DAYS


def _buckets(signature: np.ndarray) -> list[int]:
    rows = PERMUTATIONS // BANDS
    return [zlib.crc32(signature[i * rows : (i + 1) * rows].tobytes()) for i in range(BANDS)]


def preferred_copy(members: list[Member]) -> Member:
    """The copy retrieval shows: the earliest published, then the fullest (undated copies last)."""
    return min(members, key=lambda m: (m.date_num or 99999999, -m.length, m.source))
