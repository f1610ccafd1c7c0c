"""BM25 over the same chunks as the Chroma collection, in an SQLite FTS5 table beside it.

The lexical index finds exact names and figures that MiniLM blurs. It is updated
with the collection on every ingest, update and delete (never rebuilt per query);
`NewsStore.sync_side_indexes` applies other machines' writes article by article and
rebuilds it from Chroma when the two disagree on the chunk count (an ingest killed
between the two writes, a damaged file, an index written with older columns).
FTS5's porter stemmer makes "earths" find "earth". A search takes its limits as an
SQL condition on the chunk columns, which `Filters.sql()` writes.
Left out: fusion with dense results and what a filter means (`retrieval.py`), phrase queries.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import sidedb
from .dates import date_number
from .text import STOPWORDS
from .types import Article, Chunk, embedding_prefix
from .vectors import VectorFile

Row = tuple[str, dict, str, Sequence[float] | None]  # chunk id, chunk metadata, text, embedding
TOKEN = re.compile(r"\w+", re.UNICODE)
# The chunk metadata kept beside each text, named as the Chroma metadata keys so that one filter
# condition names the same field in both; each with the value a Chroma row without the key gets.
META_COLUMNS = {"source": "", "outlet": "", "article_hash": "", "date_num": 0}
SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk_meta (
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, source TEXT NOT NULL, outlet TEXT NOT NULL DEFAULT '',
    article_hash TEXT NOT NULL, date_num INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunk_meta_source ON chunk_meta(source);
CREATE INDEX IF NOT EXISTS chunk_meta_date ON chunk_meta(date_num);  -- newest_date() runs on every dated query
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_text USING fts5(text, tokenize='porter unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_text, 'row');
-- Per connection: the question's words go through the same tokenizer to find their indexed terms.
CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words USING fts5(word, tokenize='porter unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_terms USING fts5vocab(temp, query_words, 'instance');
"""


# FTS5 reads the whole posting list of every word in an OR-query, so a word in tens of thousands of
# passages ("said", or the year of an archive, which every passage's date prefix holds) costs tens of
# milliseconds while its low IDF barely moves the ranking. Words in more passages than this are left
# out of the query when at least MIN_QUERY_WORDS rarer ones remain (set on the Reuters and BBC dev
# questions; see README, Performance).
COMMON_WORD_PASSAGES = 2000
MIN_QUERY_WORDS = 3
QUERY_MEMO = 256  # questions whose pruned query is kept
# Words whose passage count is remembered until the index changes: counting reads a word's posting list
# (most words only up to COMMON_WORD_PASSAGES of it, see `_passage_counts`), and the costly words, the
# common ones, are the ones questions share.
COUNTS_KEPT = 50_000


def query_words(question: str) -> list[str]:
    """The question's content words, lowercased, once each, in order."""
    words = dict.fromkeys(w.lower() for w in TOKEN.findall(question))
    return [w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def match_query(words: Iterable[str]) -> str:
    """An FTS5 OR-query of the words, each quoted so no word is read as syntax."""
    return " OR ".join(f'"{w}"' for w in words)


class LexicalIndex:
    """Chunk texts with BM25 ranking; safe to share between threads of one process."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sidedb.connect(path, _prepare)
        self.vectors = VectorFile(path.with_suffix(".vectors"))
        self._lock = threading.Lock()
        # What is read from the tables and kept until they change (see `_fresh`).
        self._seen: int | None = None
        self._queries: dict[str, str] = {}
        self._doc_counts: dict[str, int] = {}
        self._more_than: dict[str, int] = {}  # term -> a count it is known to exceed, where its own is not known
        self._count: int | None = None
        self._by_date: tuple[np.ndarray, np.ndarray] | None = None  # date_num ascending, and each row's rowid

    def _fresh(self) -> None:
        """Forget what was read from the tables if they changed since, here or in another process; lock held."""
        seen = sidedb.version(self._db, "lexical")
        if seen != self._seen:
            self._seen, self._count, self._by_date = seen, None, None
            self._queries.clear()
            self._doc_counts.clear()
            self._more_than.clear()

    def count(self) -> int:
        with self._lock:
            self._fresh()
            if self._count is None:
                self._count = self._db.execute("SELECT COUNT(*) FROM chunk_meta").fetchone()[0]
            return self._count

    def newest_date(self) -> str:
        """The latest publication date in the index (ISO), or "" when nothing is dated."""
        with self._lock:
            newest = self._db.execute("SELECT MAX(date_num) FROM chunk_meta").fetchone()[0]
        return f"{newest // 10000:04d}-{newest // 100 % 100:02d}-{newest % 100:02d}" if newest else ""

    def add(self, chunks: list[Chunk], vectors: Sequence | None = None) -> None:
        vectors = vectors if vectors is not None else [None] * len(chunks)
        self._insert((c.id, _metadata(c.article), c.embedded_text, v) for c, v in zip(chunks, vectors, strict=True))

    def _insert(self, rows: Iterable[Row]) -> None:
        """Write (id, chunk metadata, embedded text, vector or None) rows, replacing any row of the same id."""
        columns = ", ".join(META_COLUMNS)
        placeholders = ", ".join("?" for _ in META_COLUMNS)
        slots, vectors = [], []
        with self._lock, self._db:
            sidedb.changed(self._db, "lexical")
            for chunk_id, metadata, text, vector in rows:
                old = self._db.execute("SELECT rowid FROM chunk_meta WHERE id = ?", (chunk_id,)).fetchone()
                if old:
                    self._delete_rowids([old[0]])
                cursor = self._db.execute(
                    f"INSERT INTO chunk_meta(id, {columns}) VALUES (?, {placeholders})",
                    (chunk_id, *(metadata.get(name, default) for name, default in META_COLUMNS.items())),
                )
                self._db.execute("INSERT INTO chunk_text(rowid, text) VALUES (?, ?)", (cursor.lastrowid, text))
                if vector is not None:
                    slots.append(cursor.lastrowid)
                    vectors.append(vector)
            # Before the rows commit: a row is never visible without its vector.
            self.vectors.write(slots, vectors)

    def _delete_rowids(self, rowids: list[int]) -> None:
        if rowids:  # finding nothing stale is no change: what is kept in memory stays valid
            sidedb.changed(self._db, "lexical")
        for rowid in rowids:
            self._db.execute("DELETE FROM chunk_text WHERE rowid = ?", (rowid,))
            self._db.execute("DELETE FROM chunk_meta WHERE rowid = ?", (rowid,))

    def delete_stale(self, source: str, current_hash: str) -> None:
        with self._lock, self._db:
            rows = self._db.execute(
                "SELECT rowid FROM chunk_meta WHERE source = ? AND article_hash != ?", (source, current_hash)
            ).fetchall()
            self._delete_rowids([r[0] for r in rows])

    def delete_sources(self, sources: Iterable[str]) -> None:
        with self._lock, self._db:
            for source in sources:
                rows = self._db.execute("SELECT rowid FROM chunk_meta WHERE source = ?", (source,)).fetchall()
                self._delete_rowids([r[0] for r in rows])

    def chunk_ids_of(self, source: str) -> list[str]:
        """The ids of an article's chunks, in the order they were written (the article's order)."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM chunk_meta WHERE source = ? ORDER BY rowid", (source,)).fetchall()
        return [chunk_id for (chunk_id,) in rows]

    def search(self, question: str, k: int, *, where: tuple[str, Sequence] = ("", ())) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the k best chunks, best first; higher scores are better.

        `where` is an SQL condition on the chunk columns (source, outlet, date_num) and its
        parameters, as `Filters.sql()` writes it; "" limits nothing.
        """
        return self.search_each(question, k, [where])[0]

    def search_each(
        self, question: str, k: int, wheres: Sequence[tuple[str, Sequence]]
    ) -> list[list[tuple[str, float]]]:
        """`search` under each of several conditions, from one pass over the question's posting lists.

        FTS5 scores every passage holding a query word whatever the LIMIT, so a dated question's
        search of the whole index and of its window share that work instead of doing it twice.
        """
        with self._lock:
            query = self._pruned_query(question)
            if not query:
                return [[] for _ in wheres]
            arms, params = [], [query]
            for arm, (condition, where_args) in enumerate(wheres):
                if condition:
                    arms.append(
                        f"SELECT * FROM (SELECT {arm}, m.id, -h.score, h.rowid FROM hits h JOIN chunk_meta m "
                        f"ON m.rowid = h.rowid WHERE {condition} ORDER BY h.score, h.rowid LIMIT ?)"
                    )
                else:  # nothing to test on the chunk columns: only the k best hits need their ids
                    arms.append(
                        f"SELECT {arm}, (SELECT id FROM chunk_meta WHERE rowid = t.rowid), -t.score, t.rowid "
                        "FROM (SELECT rowid, score FROM hits ORDER BY score, rowid LIMIT ?) t"
                    )
                params += [*where_args, k]
            sql = (
                "WITH hits AS MATERIALIZED (SELECT rowid, bm25(chunk_text) AS score FROM chunk_text "
                "WHERE chunk_text MATCH ?) " + " UNION ALL ".join(arms)
            )
            rows = self._db.execute(sql, params).fetchall()
        found: list[list[tuple[str, float]]] = [[] for _ in wheres]
        for arm, chunk_id, score, _ in sorted(rows, key=lambda row: (row[0], -row[2], row[3])):
            if chunk_id is not None:
                found[arm].append((chunk_id, float(score)))
        return found

    def _pruned_query(self, question: str) -> str:
        """The MATCH query for the question without its common words (see COMMON_WORD_PASSAGES); lock held."""
        self._fresh()
        if question in self._queries:
            return self._queries[question]
        words = query_words(question)
        counts = self._passage_counts(words, at_most=COMMON_WORD_PASSAGES)
        common = [w for w in words if counts[w] > COMMON_WORD_PASSAGES]
        # A word no passage holds costs nothing and is kept: a later ingest may add it.
        rarer = len(words) - len(common)
        kept = max(0, MIN_QUERY_WORDS - rarer)
        if kept and common:  # which common words are the least common takes their whole counts
            counts = self._passage_counts(common)
        dropped = set(sorted(common, key=lambda w: counts[w])[kept:])
        query = match_query(w for w in words if w not in dropped)
        if len(self._queries) >= QUERY_MEMO:
            self._queries.clear()
        self._queries[question] = query
        return query

    def _passage_counts(self, words: list[str], *, at_most: int | None = None) -> dict[str, int]:
        """word -> how many passages hold it, stemmed as the index does; lock held.

        FTS5's vocabulary counts a word by reading its whole posting list; with `at_most`, a word is
        counted only that far, and at_most + 1 means "more" (most words need no more: see `_pruned_query`).
        """
        with self._db:
            self._db.execute("DELETE FROM temp.query_words")
            self._db.executemany("INSERT INTO temp.query_words(rowid, word) VALUES (?, ?)", enumerate(words))
            terms = dict(self._db.execute("SELECT doc, term FROM temp.query_terms").fetchall())
        if len(self._doc_counts) + len(self._more_than) >= COUNTS_KEPT:
            self._doc_counts.clear()
            self._more_than.clear()
        counts = {}
        for i, word in enumerate(words):
            term = terms.get(i, "")
            if term in self._doc_counts:
                counts[word] = self._doc_counts[term]
            elif at_most is not None and self._more_than.get(term, -1) >= at_most:
                counts[word] = at_most + 1
            elif at_most is not None:
                counts[word] = self._db.execute(
                    "SELECT COUNT(*) FROM (SELECT rowid FROM chunk_text WHERE chunk_text MATCH ? LIMIT ?)",
                    (match_query([word]), at_most + 1),
                ).fetchone()[0] if term else 0
                if counts[word] > at_most:
                    self._more_than[term] = at_most
                else:
                    self._doc_counts[term] = counts[word]
            else:
                row = self._db.execute("SELECT doc FROM chunk_vocab WHERE term = ?", (term,)).fetchone()
                counts[word] = self._doc_counts[term] = row[0] if row else 0
        return counts

    def nearest(
        self,
        vector: list[float],
        k: int,
        *,
        where: tuple[str, Sequence],
        dates: tuple[int, int] | None = None,
        at_most: float | None = None,
    ) -> list[tuple[str, float]] | None:
        """(chunk id, cosine) of the k passages nearest `vector` among those the SQL condition admits, best first.

        `dates`, when the condition limits dates alone, is the same limit as the first and last
        date_num admitted: the rows are then found in memory, not by SQL (20 ms for a window of
        30,000 rows). None when more than `at_most` passages are admitted, or the vector file
        lacks some (not yet filled, or cut short): the caller searches another way.
        """
        condition, where_args = where
        with self._lock:
            if dates is not None:
                slots = self._dated_rows(*dates)
            else:
                sql = f"SELECT rowid FROM chunk_meta WHERE {condition or 1}"
                slots = np.fromiter((row[0] for row in self._db.execute(sql, where_args)), dtype=np.int64)
            if at_most is not None and len(slots) > at_most:
                return None
            best = self.vectors.nearest(vector, slots, k)
            if best is None:
                return None
            chosen = [int(slots[i]) for i, _ in best]
            ids = dict(self._db.execute(
                f"SELECT rowid, id FROM chunk_meta WHERE rowid IN ({', '.join('?' * len(chosen))})", chosen
            ).fetchall()) if chosen else {}
        return [(ids[slot], score) for slot, (_, score) in zip(chosen, best, strict=True) if slot in ids]

    def _dated_rows(self, first: int, last: int) -> np.ndarray:
        """The rowids of the rows dated first to last (date_num, inclusive); lock held.

        They come from a copy of the dates, sorted and kept in memory (16 bytes a row), read
        again once the table changes.
        """
        self._fresh()
        if self._by_date is None:
            pairs = self._db.execute("SELECT date_num, rowid FROM chunk_meta ORDER BY date_num, rowid")
            flat = np.fromiter(itertools.chain.from_iterable(pairs), dtype=np.int64).reshape(-1, 2)
            self._by_date = (np.ascontiguousarray(flat[:, 0]), np.ascontiguousarray(flat[:, 1]))
        dates, rowids = self._by_date
        return rowids[np.searchsorted(dates, first, "left") : np.searchsorted(dates, last, "right")]

    def vectors_complete(self) -> bool:
        """Whether the vector file has a slot for every row (false for an index from before it existed)."""
        with self._lock:
            top = self._db.execute("SELECT MAX(rowid) FROM chunk_meta").fetchone()[0]
        return top is None or self.vectors.slots() > top

    def rebuild(self, rows: Iterable[Row]) -> None:
        """Replace everything with (id, chunk metadata, passage text, vector) rows read back from Chroma."""
        with self._lock, self._db:
            sidedb.changed(self._db, "lexical")
            self._db.execute("DELETE FROM chunk_meta")
            self._db.execute("DELETE FROM chunk_text")
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 2000:
                self._insert(_as_embedded(batch))
                batch = []
        self._insert(_as_embedded(batch))

    def replace_sources(self, sources: Iterable[str], rows: Iterable[Row]) -> None:
        """Drop these articles' chunks and write (id, chunk metadata, passage text, vector) rows read from Chroma."""
        self.delete_sources(sources)
        self._insert(_as_embedded(rows))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _as_embedded(rows: Iterable[Row]) -> list[Row]:
    """Rows of passage text as Chroma keeps it, with the title and date in front as they were embedded."""
    return [
        (chunk_id, metadata, embedding_prefix(metadata.get("title", ""), metadata.get("date", "")) + text, vector)
        for chunk_id, metadata, text, vector in rows
    ]


def _prepare(db: sqlite3.Connection) -> None:
    """Create the tables, first dropping those an earlier version wrote with other columns (before `outlet`).

    The index is derived from Chroma: an empty one differs from it in count, so
    `NewsStore.sync_side_indexes` rebuilds it on open, as after an interrupted ingest.
    """
    if _has_older_layout(db):
        with db:
            db.execute("BEGIN IMMEDIATE")  # of two processes opening an old index, one drops, one waits
            if _has_older_layout(db):
                db.execute("DROP TABLE chunk_meta")
                db.execute("DROP TABLE IF EXISTS chunk_text")
    db.executescript(SCHEMA)
    db.execute("SELECT COUNT(*) FROM chunk_meta").fetchone()  # reads the table's pages: damage shows here


def _has_older_layout(db: sqlite3.Connection) -> bool:
    columns = {row[1] for row in db.execute("PRAGMA table_info(chunk_meta)")}
    return bool(columns) and columns != {"rowid", "id", *META_COLUMNS}


def _metadata(article: Article) -> dict:
    """The chunk_meta fields of an article's chunks, as `store.chunk_metadata` gives them to Chroma."""
    return {
        "source": article.source,
        "outlet": article.outlet,
        "article_hash": article.content_hash,
        "date_num": date_number(article.date) or 0,
    }
