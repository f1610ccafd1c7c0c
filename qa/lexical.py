"""BM25 over the same chunks as the Chroma collection, in an SQLite FTS5 table beside it.

The lexical index finds exact names and figures that MiniLM blurs. It is updated
with the collection on every ingest, update and delete (never rebuilt per query),
and `sync()` rebuilds it from Chroma when the two disagree on the chunk count, which
covers an ingest killed between the two writes and a Chroma server that another
machine filled. FTS5's porter stemmer makes "earths" find "earth".
Left out: fusion with dense results (`retrieval.py`) and phrase queries.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from .dates import date_number
from .text import STOPWORDS
from .types import Chunk, embedding_prefix

TOKEN = re.compile(r"\w+", re.UNICODE)
SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk_meta (
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, source TEXT NOT NULL,
    article_hash TEXT NOT NULL, date_num INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunk_meta_source ON chunk_meta(source);
CREATE INDEX IF NOT EXISTS chunk_meta_date ON chunk_meta(date_num);  -- newest_date() runs on every dated query
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_text USING fts5(text, tokenize='porter unicode61');
"""


def match_query(question: str) -> str:
    """An FTS5 OR-query of the question's content words, each quoted so no word is read as syntax."""
    words = dict.fromkeys(w.lower() for w in TOKEN.findall(question))
    return " OR ".join(f'"{w}"' for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit()))


class LexicalIndex:
    """Chunk texts with BM25 ranking; safe to share between threads of one process."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")  # concurrent ingest processes wait instead of failing
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM chunk_meta").fetchone()[0]

    def newest_date(self) -> str:
        """The latest publication date in the index (ISO), or "" when nothing is dated."""
        with self._lock:
            newest = self._db.execute("SELECT MAX(date_num) FROM chunk_meta").fetchone()[0]
        return f"{newest // 10000:04d}-{newest // 100 % 100:02d}-{newest % 100:02d}" if newest else ""

    def add(self, chunks: list[Chunk]) -> None:
        rows = [
            (c.id, c.article.source, c.article.content_hash, date_number(c.article.date) or 0, c.embedded_text) for c in chunks
        ]
        self._insert(rows)

    def _insert(self, rows: Iterable[tuple[str, str, str, int, str]]) -> None:
        with self._lock, self._db:
            for chunk_id, source, article_hash, date_num, text in rows:
                old = self._db.execute("SELECT rowid FROM chunk_meta WHERE id = ?", (chunk_id,)).fetchone()
                if old:
                    self._delete_rowids([old[0]])
                cursor = self._db.execute(
                    "INSERT INTO chunk_meta(id, source, article_hash, date_num) VALUES (?, ?, ?, ?)",
                    (chunk_id, source, article_hash, date_num),
                )
                self._db.execute("INSERT INTO chunk_text(rowid, text) VALUES (?, ?)", (cursor.lastrowid, text))

    def _delete_rowids(self, rowids: list[int]) -> None:
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

    def search(
        self, question: str, k: int, *, date_from: int | None = None, date_to: int | None = None, sources: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the k best chunks, best first; higher scores are better."""
        query = match_query(question)
        if not query:
            return []
        sql = (
            "SELECT m.id, -bm25(chunk_text) FROM chunk_text JOIN chunk_meta m ON m.rowid = chunk_text.rowid "
            "WHERE chunk_text MATCH ?"
        )
        params: list = [query]
        if date_from is not None:
            sql += " AND m.date_num >= ?"
            params.append(date_from)
        if date_to is not None:
            sql += " AND m.date_num <= ? AND m.date_num > 0"
            params.append(date_to)
        if sources:
            sql += f" AND m.source IN ({', '.join('?' for _ in sources)})"
            params.extend(sources)
        sql += " ORDER BY bm25(chunk_text) LIMIT ?"
        params.append(k)
        with self._lock:
            return [(row[0], float(row[1])) for row in self._db.execute(sql, params)]

    def rebuild(self, rows: Iterable[tuple[str, dict, str]]) -> None:
        """Replace everything with (id, chunk metadata, passage text) rows read back from Chroma."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM chunk_meta")
            self._db.execute("DELETE FROM chunk_text")
        batch = []
        for chunk_id, metadata, text in rows:
            prefix = embedding_prefix(metadata.get("title", ""), metadata.get("date", ""))
            batch.append((chunk_id, metadata["source"], metadata.get("article_hash", ""), metadata.get("date_num", 0), prefix + text))
            if len(batch) >= 2000:
                self._insert(batch)
                batch = []
        self._insert(batch)

    def close(self) -> None:
        with self._lock:
            self._db.close()
