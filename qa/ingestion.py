"""Ingest: articles from files into the store, skipping what is already there unchanged.

Each article's content hash is compared with the store's before any model work, so
re-ingesting an unchanged corpus only reads files. New and changed articles are
chunked and embedded in batches; a changed article's new chunks are written before
its old ones are deleted, so an interrupted run never leaves an article missing, and
rerunning it finishes the job. Parsing files is `loaders.py`'s job, splitting them
`chunking.py`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from langchain_core.embeddings import Embeddings

from .chunking import chunk_article
from .loaders import SUPPORTED_SUFFIXES, Notice, Skipped, iter_articles
from .settings import Settings
from .store import NewsStore
from .types import Article, Chunk

BATCH_CHUNKS = 256  # chunks embedded and written together
RECORD_SUFFIXES = (".json", ".jsonl", ".csv")


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    chunks_written: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    @property
    def articles(self) -> int:
        return self.added + self.updated + self.unchanged

    def describe(self) -> str:
        """The closing summary a person reads after an ingest."""
        lines = [
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {len(self.skipped)} skipped; "
            f"{self.chunks_written} chunks written, {self.chunks_total} in the index ({self.seconds:.1f} s)."
        ]
        lines += [f"  skipped {s.source}: {s.reason}" for s in self.skipped]
        lines += [f"  note {n.source}: {n.message}" for n in self.notices]
        return "\n".join(lines)


def count_files(paths: Iterable[str | Path]) -> int | None:
    """Articles to expect, for the progress bar; None when record files make it unknowable cheaply."""
    total = 0
    for path in map(Path, paths):
        files = [path] if path.is_file() else (sorted(path.rglob("*")) if path.is_dir() else [])
        for f in files:
            if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES:
                if f.suffix.lower() in RECORD_SUFFIXES:
                    return None
                total += 1
    return total


class _Batch:
    """Chunks waiting to be embedded, with the articles they replace."""

    def __init__(self, store: NewsStore, embeddings: Embeddings):
        self.store, self.embeddings = store, embeddings
        self.chunks: list[Chunk] = []
        self.replaced: list[Article] = []

    def add(self, chunks: list[Chunk], replaces: Article | None) -> None:
        self.chunks.extend(chunks)
        if replaces is not None:
            self.replaced.append(replaces)

    def flush(self) -> int:
        if not self.chunks:
            return 0
        vectors = self.embeddings.embed_documents([c.embedded_text for c in self.chunks])
        self.store.add_chunks(self.chunks, vectors)
        for article in self.replaced:
            self.store.delete_stale(article.source, article.content_hash)
        written = len(self.chunks)
        self.chunks, self.replaced = [], []
        return written


def ingest_articles(
    paths: Iterable[str | Path], store: NewsStore, embeddings: Embeddings, settings: Settings, *, progress: bool = True
) -> IngestSummary:
    """Bring the store in line with the articles under `paths`; returns what happened."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    paths = list(paths)
    summary = IngestSummary()
    existing = store.article_hashes()
    seen: set[str] = set()
    batch = _Batch(store, embeddings)
    bar = tqdm(total=count_files(paths), unit="article", desc="Ingesting", disable=not progress, leave=False)
    for item in iter_articles(paths):
        if isinstance(item, Notice):
            summary.notices.append(item)
            continue
        bar.update(1)
        if isinstance(item, Skipped):
            summary.skipped.append(item)
            continue
        if item.source in seen:
            summary.skipped.append(Skipped(item.source, "another article in this run has the same source; kept the first"))
            continue
        seen.add(item.source)
        known = existing.get(item.source)
        if known == {item.content_hash}:
            summary.unchanged += 1
            continue
        chunks = chunk_article(item, settings.chunk_chars, settings.chunk_overlap)
        if not chunks:
            summary.skipped.append(Skipped(item.source, "no text to index"))
            continue
        if known is None:
            summary.added += 1
        else:
            summary.updated += 1
        batch.add(chunks, replaces=item if known is not None else None)
        if len(batch.chunks) >= BATCH_CHUNKS:
            summary.chunks_written += batch.flush()
    summary.chunks_written += batch.flush()
    bar.close()
    summary.chunks_total = store.count()
    summary.seconds = time.perf_counter() - started
    return summary
