"""Near-duplicate articles (wire copies, re-published versions) by MinHash over word shingles.

At ingest each article's MinHash signature is stored with locality-sensitive
hashing bands in SQLite beside the store; `group_of(source)` then finds the
articles whose estimated Jaccard similarity of 5-word shingles is at least
`THRESHOLD`, that were published within `COPY_DAYS` of it (a company's quarterly dividend
notice says the same words a quarter later), and whose figures are a part of its own or hold
its own (a daily report from one template shares its words with the day before, not its
figures). Groups are worked out when asked, so adding, changing or deleting an article only
touches its own rows. Which copy retrieval shows is decided in `retrieval.py`. Left out:
translations and rewrites that share facts but not words.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from . import sidedb
from .facts import find_figures

SHINGLE_WORDS = 5
PERMUTATIONS = 64
BANDS = 16  # 16 bands of 4 rows: pairs at Jaccard 0.8 collide in some band with probability > 0.99
THRESHOLD = 0.8
# Copies of one report go out the same day or soon after; a company's quarterly dividend notice ("Qtly div six cts
# vs six cts prior") says the same words a quarter later. (The weekly reports built from one template, M-1, bill
# auctions, oil demand, share 16-41% of their shingles with last week's; the layout-1 hash had estimated 80%.)
COPY_DAYS = 3
GROUPS_KEPT = 10_000  # articles whose group is remembered between writes
# The layout of what is stored: a file of another layout is signed again from Chroma (`Store.sync_side_indexes`).
# Layout 2 (2026-12-07): the signature's permutations are mixed (see `minhash`), and each article's figures are kept.
LAYOUT = 2
# One seed per permutation, fixed so that signatures stay comparable across runs and machines.
_SEEDS = np.random.default_rng(20240215).integers(0, 1 << 63, PERMUTATIONS, dtype=np.uint64)
WORD = re.compile(r"\w+")
SCHEMA = """
CREATE TABLE IF NOT EXISTS article_sig (
    source TEXT PRIMARY KEY, date_num INTEGER NOT NULL, length INTEGER NOT NULL, sig BLOB NOT NULL,
    figures TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS duplicates_layout (version INTEGER NOT NULL);
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
    return _mix(hashes[:, None] ^ _SEEDS[None, :]).min(axis=0)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise: every bit of the input moves every bit of the output, so the
    permutations are independent. The layout-1 hash, (a*x + b) mod 2^61-1 with a < 2^31 and x a CRC32, kept the
    order of small inputs in every permutation, so one shingle decided them all: among 3,000 Reuters stories, 25
    pairs sharing under 5% of their shingles were estimated at 0.83-0.98 and counted as copies (55 true copies)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


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
        self._db = sidedb.connect(path, _prepare)
        self._lock = threading.Lock()
        # Groups found, kept until the signatures change here or in another process (`sidedb.version`).
        self._groups: dict[str, list[Member]] = {}
        self._version = None

    def add(self, source: str, text: str, date_num: int) -> list[str]:
        """Store the article's signature; returns the already-indexed articles it nearly duplicates."""
        signature, figures = minhash(text), _figures_of(text)
        with self._lock, self._db:
            self._groups = {}
            sidedb.changed(self._db, "duplicates")
            self._remove(source)
            duplicates = [m.source for m in self._matches(source, date_num, signature, figures)]
            self._db.execute(
                "INSERT INTO article_sig(source, date_num, length, sig, figures) VALUES (?, ?, ?, ?, ?)",
                (source, date_num, len(text), signature.tobytes(), _stored(figures)),
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
            self._db.execute("DELETE FROM duplicates_layout")
            self._db.execute("INSERT INTO duplicates_layout(version) VALUES (?)", (LAYOUT,))

    def outdated(self) -> bool:
        """Were the signatures stored in another layout, so they must be signed again (`clear`, then `add`)?"""
        with self._lock:
            row = self._db.execute("SELECT version FROM duplicates_layout").fetchone()
        return row is None or row[0] != LAYOUT

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
        row = self._db.execute(
            "SELECT date_num, length, sig, figures FROM article_sig WHERE source = ?", (source,)
        ).fetchone()
        if row is None:
            return []
        signature = np.frombuffer(row[2], dtype=np.uint64)
        return [Member(source, row[0], row[1])] + self._matches(source, row[0], signature, _loaded(row[3]))

    def _matches(self, source: str, date_num: int, signature: np.ndarray, figures: frozenset[float]) -> list[Member]:
        candidates: set[str] = set()
        for band, bucket in enumerate(_buckets(signature)):
            rows = self._db.execute("SELECT source FROM article_band WHERE band = ? AND bucket = ?", (band, bucket))
            candidates.update(r[0] for r in rows)
        candidates.discard(source)
        members = []
        for other in sorted(candidates):
            row = self._db.execute(
                "SELECT date_num, length, sig, figures FROM article_sig WHERE source = ?", (other,)
            ).fetchone()
            if (row and _close_in_time(date_num, row[0])
                    and similarity(signature, np.frombuffer(row[2], dtype=np.uint64)) >= THRESHOLD
                    and _same_figures(figures, _loaded(row[3]))):
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


def _figures_of(text: str) -> frozenset[float]:
    """The values of the figures an article states, the part of it a copy must repeat."""
    return frozenset(f.value for f in find_figures(text))


def _same_figures(a: frozenset[float], b: frozenset[float]) -> bool:
    """Can two articles that share their words be copies by their figures? Copies repeat each other's figures,
    one's a part of the other's (a flash and its story, a story sent again). A daily report written from one
    template ("Treasury balances ... rose on Feb 25 to 4.151 billion dlrs", and the next day "on Feb 26 to 3.9
    billion") shares its words with the day before, not its figures; a story sent again with a figure changed is
    another report, which a timeline shows as reports that differ (a revision when it came later). Among 3,000
    Reuters stories, 2 of the 57 pairs whose words make them copies are other reports by their figures: the Fed's
    customer repurchases of March 2 and 3 (Fed funds at 6-3/16 and 6-1/4 pct) and two companies' dividend notices
    (record dates March 23 and 20).
    """
    return a <= b or b <= a


def _stored(figures: frozenset[float]) -> str:
    return " ".join(repr(v) for v in sorted(figures))


def _loaded(stored: str) -> frozenset[float]:
    return frozenset(float(v) for v in stored.split())


def _prepare(db: sqlite3.Connection) -> None:
    """The tables; a new file is of this layout, one of layout 1 gets the figures column and stays outdated."""
    db.executescript(SCHEMA)
    if "figures" not in {row[1] for row in db.execute("PRAGMA table_info(article_sig)")}:
        db.execute("ALTER TABLE article_sig ADD COLUMN figures TEXT NOT NULL DEFAULT ''")
    fresh = db.execute("SELECT 1 FROM article_sig LIMIT 1").fetchone() is None
    if fresh and db.execute("SELECT 1 FROM duplicates_layout").fetchone() is None:
        db.execute("INSERT INTO duplicates_layout(version) VALUES (?)", (LAYOUT,))
    db.commit()


def _buckets(signature: np.ndarray) -> list[int]:
    rows = PERMUTATIONS // BANDS
    return [zlib.crc32(signature[i * rows : (i + 1) * rows].tobytes()) for i in range(BANDS)]


def preferred_copy(members: list[Member]) -> Member:
    """The copy retrieval shows: the earliest published, then the fullest (undated copies last)."""
    return min(members, key=lambda m: (m.date_num or 99999999, -m.length, m.source))
