"""Ingest: articles from files into the store, skipping what is already there unchanged.

Each article's content hash is compared with the store's before any model work, so
re-ingesting an unchanged corpus only reads files. New and changed articles are
chunked and embedded in batches; a changed article's new chunks are written before
its old ones are deleted, so an interrupted run never leaves an article missing, and
rerunning it finishes the job. Each distinct embedded text (a wire copy repeats whole
passages, titles included) is embedded once per run, keyed by a digest of exactly
what is embedded. With `QA_INGEST_WORKERS` above 1, worker processes
embed the batches while this process reads files and writes to the store. A re-ingest
that `ledger.py` finds unchanged by file stats opens neither store nor model. Several
machines can ingest disjoint folders into one Chroma server at once: sources and
chunk ids differ, so their writes never meet. Parsing files is `loaders.py`'s job,
splitting them `chunking.py`'s.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from . import ledger
from .chunking import chunk_article
from .loaders import RECORD_SUFFIXES, SUPPORTED_SUFFIXES, Notice, Skipped, iter_articles
from .progress import Progress
from .settings import Settings
from .types import Article, Chunk

if TYPE_CHECKING:  # the store and the model runtime load only when an ingest has something to write
    import numpy as np
    from langchain_core.embeddings import Embeddings

    from .store import NewsStore

BATCH_CHUNKS = 256  # chunks embedded and written together
LISTED = 20  # skipped files, notes and duplicates named in the summary; the rest are counted


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    near_duplicates: dict[str, list[str]] = field(default_factory=dict)  # new article -> indexed copies of it
    chunks_written: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    passages_reused: int = 0  # written with the vector of the same text embedded earlier in the run
    tokens_embedded: int = 0  # what the model ran on (0 when the runtime does not count)
    embed_seconds: float = 0.0  # spent waiting for vectors

    @property
    def articles(self) -> int:
        return self.added + self.updated + self.unchanged

    def describe(self) -> str:
        """The closing summary a person reads after an ingest."""
        lines = [
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {len(self.skipped)} skipped; "
            f"{self.chunks_written} chunks written, {self.chunks_total} in the index ({self.seconds:.1f} s)."
        ]
        lines += _listed([f"  skipped {s.source}: {s.reason}" for s in self.skipped], "skipped")
        lines += _listed([f"  note {n.source}: {n.message}" for n in self.notices], "notes")
        lines += _listed(
            [f"  near-duplicate {source} of {', '.join(copies)}" for source, copies in self.near_duplicates.items()],
            "near-duplicates",
        )
        return "\n".join(lines)


def _listed(lines: list[str], what: str) -> list[str]:
    """The first LISTED lines and a count of the rest, so a large archive's summary stays readable."""
    if len(lines) <= LISTED:
        return lines
    return lines[:LISTED] + [f"  … and {len(lines) - LISTED} more {what}"]


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
    """Chunks waiting to be embedded, with the articles they replace; written to the store in order.

    With one worker the batch is embedded here, and written by a writer thread while the
    next batch is read and embedded (Chroma, BM25 and MinHash writes never wait on the
    model, nor the model on them). With more, each batch goes to a process pool and the
    main process goes on reading files; finished batches are written in the order they
    were sent, and at most a few wait at a time, so memory stays flat.
    """

    def __init__(self, store: "NewsStore", embeddings: "Embeddings", settings: Settings, workers: int):
        self.store, self.embeddings, self.settings, self.workers = store, embeddings, settings, workers
        self.chunks: list[Chunk] = []
        self.replaced: list[Article] = []
        self.pending: deque = deque()  # (chunks, replaced, digests, digests embedded there, AsyncResult)
        # digest of an embedded text -> its vector, as float32: 1.5 KB a passage (84 MB for Reuters' 54,811).
        self.known: dict[bytes, "np.ndarray"] = {}
        self.reused = self.tokens = 0
        self.embed_seconds = 0.0
        self.near_duplicates: dict[str, list[str]] = {}
        self.pool = None
        self.writer = None  # the thread that writes batches (one worker)
        self.writing = None  # the Future of the batch it is writing
        # One model batch per pool task spreads even a small corpus over the workers.
        self.size = BATCH_CHUNKS if workers == 1 else settings.embedding_batch_size
        self.threads = max(1, (os.cpu_count() or 1) // workers)

    def add(self, chunks: list[Chunk], replaces: Article | None) -> None:
        self.chunks.extend(chunks)
        if replaces is not None:
            self.replaced.append(replaces)

    @property
    def full(self) -> bool:
        return len(self.chunks) >= self.size

    def flush(self) -> int:
        """Send the waiting chunks on; returns how many chunks reached the store meanwhile."""
        if not self.chunks:
            return 0
        chunks, replaced = self.chunks, self.replaced
        self.chunks, self.replaced = [], []
        digests = [embedding_digest(c.embedded_text) for c in chunks]
        texts = dict(zip(digests, (c.embedded_text for c in chunks), strict=True))
        new = [d for d in dict.fromkeys(digests) if d not in self.known]
        self.reused += len(digests) - len(new)
        if self.workers == 1:
            started, before = time.perf_counter(), tokens_of(self.embeddings)
            vectors = self.embeddings.embed_documents([texts[d] for d in new]) if new else []
            self.embed_seconds += time.perf_counter() - started
            self.tokens += tokens_of(self.embeddings) - before
            written = self._collect()  # the previous batch: one write at a time, in order
            self.writing = self._writer().submit(self._write, chunks, replaced, self._vectors(digests, new, vectors))
            return written
        task = ([texts[d] for d in new], self.settings, self.threads)
        self.pending.append((chunks, replaced, digests, new, self._pool().apply_async(_embed_in_worker, task)))
        written = 0
        while len(self.pending) > 2 * self.workers:
            written += self._write_oldest()
        return written

    def finish(self) -> int:
        """Flush and wait for every batch still being embedded or written."""
        written = self.flush()
        while self.pending:
            written += self._write_oldest()
        return written + self._collect()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        if self.writer is not None:
            self.writer.shutdown(wait=True)  # a write under way ends as it would have; none starts after
            self.writer = None

    def _collect(self) -> int:
        """Wait for the batch being written (raising what its write raised); how many chunks it wrote."""
        if self.writing is None:
            return 0
        writing, self.writing = self.writing, None
        return writing.result()

    def _vectors(self, digests: list[bytes], new: list[bytes], vectors: list[list[float]]) -> list[list[float]]:
        """Every chunk's vector: the `new` ones just embedded, the others as embedded earlier in the run."""
        import numpy as np

        self.known.update(zip(new, np.asarray(vectors, dtype=np.float32).reshape(len(new), -1), strict=True))
        return [self.known[d].tolist() for d in digests]

    def _write_oldest(self) -> int:
        chunks, replaced, digests, new, result = self.pending.popleft()
        started = time.perf_counter()
        vectors, tokens = result.get()
        self.embed_seconds += time.perf_counter() - started
        self.tokens += tokens
        return self._write(chunks, replaced, self._vectors(digests, new, vectors))

    def _write(self, chunks: list[Chunk], replaced: list[Article], vectors: list[list[float]]) -> int:
        # New chunks go in before the old version's are deleted, so an article is never missing.
        self.near_duplicates.update(self.store.add_chunks(chunks, vectors))
        for article in replaced:
            self.store.delete_stale(article.source, article.content_hash)
        return len(chunks)

    def _writer(self):
        if self.writer is None:
            from concurrent.futures import ThreadPoolExecutor

            self.writer = ThreadPoolExecutor(1, thread_name_prefix="qa-ingest-writer")
        return self.writer

    def _pool(self):
        if self.pool is None:
            import multiprocessing

            if hasattr(self.embeddings, "prepare"):
                self.embeddings.prepare()
            # spawn, not fork: the parent already runs torch and Chroma threads, which a fork would copy mid-state.
            self.pool = multiprocessing.get_context("spawn").Pool(self.workers)
        return self.pool


def tokens_of(embeddings: "Embeddings") -> int:
    """Tokens the runtime has embedded so far; 0 for embeddings that do not count (a test's fake)."""
    return getattr(embeddings, "tokens_embedded", 0)


def embedding_digest(text: str) -> bytes:
    """The key of a text's vector within a run: a digest of exactly what is embedded."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


_worker_embeddings: "Embeddings | None" = None  # one model per worker process, kept between batches


def _embed_in_worker(texts: list[str], settings: Settings, threads: int) -> tuple[list[list[float]], int]:
    """Embed one batch in a pool worker (vectors and tokens run), loading the model on the worker's first batch.

    Not in a Pool initializer: one that raises (say, a missing model) makes the pool
    start replacement workers forever, while an error here reaches the main process.
    """
    global _worker_embeddings
    if _worker_embeddings is None:
        from .embeddings import make_embeddings

        _worker_embeddings = make_embeddings(settings, threads)  # share the cores with the other workers
    before = tokens_of(_worker_embeddings)
    vectors = _worker_embeddings.embed_documents(texts) if texts else []
    return vectors, tokens_of(_worker_embeddings) - before


def unchanged_ingest(paths: Iterable[str | Path], settings: Settings, *, namespace: str = "") -> IngestSummary | None:
    """The summary of re-ingesting `paths`, when `ledger.py` shows nothing changed since the last ingest; else None.

    Reads file stats only: no store is opened and no model loaded.
    """
    started = time.perf_counter()
    counts = ledger.recall(paths, settings, namespace)
    if counts is None:
        return None
    return IngestSummary(
        unchanged=counts["articles"],
        skipped=[Skipped(*pair) for pair in counts["skipped"]],
        notices=[Notice(*pair) for pair in counts["notices"]],
        chunks_total=counts["chunks_total"],
        seconds=time.perf_counter() - started,
    )


def ingest_articles(
    paths: Iterable[str | Path],
    store: "NewsStore",
    embeddings: "Embeddings",
    settings: Settings,
    *,
    progress: bool = True,
    workers: int | None = None,
    namespace: str = "",
) -> IngestSummary:
    """Bring the store in line with the articles under `paths`; returns what happened.

    With `workers` (default `settings.ingest_workers`) above 1, worker processes embed
    with `settings.embedding_model` and backend instead of `embeddings`. A `namespace`
    (the page's uploads) goes to `iter_articles`: sources start "<namespace>/".
    """
    started = time.perf_counter()
    paths = list(paths)
    files = ledger.snapshot(paths)  # before reading: a file changed meanwhile must not be recorded as read
    summary = IngestSummary()
    existing = store.article_hashes()
    seen: set[str] = set()
    batch = _Batch(store, embeddings, settings, workers or settings.ingest_workers)
    bar = Progress("Ingesting", total=count_files(paths), unit="article", enabled=progress)
    try:
        for item in iter_articles(paths, namespace=namespace):
            if isinstance(item, Notice):
                summary.notices.append(item)
                continue
            bar.update()
            if isinstance(item, Skipped):
                summary.skipped.append(item)
                continue
            if item.source in seen:
                summary.skipped.append(
                    Skipped(item.source, "another article in this run has the same source; kept the first")
                )
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
            if batch.full:
                summary.chunks_written += batch.flush()
        summary.chunks_written += batch.finish()
        summary.near_duplicates = batch.near_duplicates
    finally:
        batch.close()
        bar.close()
    summary.passages_reused, summary.tokens_embedded, summary.embed_seconds = (
        batch.reused, batch.tokens, batch.embed_seconds)
    summary.chunks_total = store.count()
    counts = {"articles": summary.articles, "skipped": [[s.source, s.reason] for s in summary.skipped],
              "notices": [[n.source, n.message] for n in summary.notices], "chunks_total": summary.chunks_total}
    ledger.record(paths, settings, namespace, files, counts)
    summary.seconds = time.perf_counter() - started
    return summary
