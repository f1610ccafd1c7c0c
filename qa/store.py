"""The Chroma store, reached through `langchain-chroma`: chunks in, passages out.

Embedded (`PersistentClient` at `QA_INDEX_DIR`) by default, or a Chroma server over
HTTP when `QA_CHROMA_HOST` is set. The collection records which embedding model
built it, and the store refuses to mix models. Chunk metadata carries everything
a citation needs, so a query never has to go back to the article files. Beside
the collection, in SQLite, live the BM25 index (`lexical.py`) and the articles'
near-duplicate signatures (`duplicates.py`), written together with it.
Ranking and filtering policy lives in `retrieval.py`, not here.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from . import ledger
from .dates import date_number
from .duplicates import DuplicateIndex
from .errors import EmptyIndexError, IndexMismatchError, StoreUnavailableError
from .lexical import LexicalIndex, Row
from .progress import Progress
from .settings import Settings
from .sync import (
    CLOCK_SKEW_SECONDS,
    FULL_LOOK_SECONDS,
    RECENT_LOOK_SECONDS,
    WRITER,
    Manifest,
    Stamp,
    SyncState,
    manifest_name,
    unapplied,
)
from .types import Chunk, Passage

MODEL_KEY = "embedding_model"
ROW_FIELDS = ("documents", "metadatas", "embeddings")  # what the side indexes are rebuilt from
PAGE = 5000  # rows per `get` page; keeps memory flat on large collections
DAMAGED = re.compile(r"malformed|not a database|file is encrypted", re.IGNORECASE)  # SQLite's words for a bad file


def open_client(settings: Settings):
    """A Chroma client for the configured location; a server must answer its heartbeat."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        headers = {"X-Chroma-Token": settings.chroma_token} if settings.chroma_token else None
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=headers,
                settings=chroma_settings,
                tenant=settings.chroma_tenant,
                database=settings.chroma_database,
            )
            # Some chromadb versions connect lazily; ask now so the first query does not fail instead.
            client.heartbeat()
            return client
        except Exception as error:  # chromadb raises plain exceptions (ValueError, httpx errors) here
            raise StoreUnavailableError(
                f"Cannot reach {describe_location(settings)} ({error}). Start it "
                f"(chroma run --path DIR --host {settings.chroma_host} --port {settings.chroma_port}), check "
                "QA_CHROMA_HOST / QA_CHROMA_PORT / QA_CHROMA_SSL / QA_CHROMA_TOKEN, or unset QA_CHROMA_HOST "
                "to use the local index."
            ) from None
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as error:  # chromadb.errors.InternalError from its Rust bindings, among others
        if not DAMAGED.search(str(error)):
            raise
        raise StoreUnavailableError(
            f"The index at {settings.index_dir} is damaged ({error}); its articles cannot be read. Restore the "
            f"folder from a backup, or move it aside and ingest the articles again (`qa ingest articles/`)."
        ) from None


def describe_location(settings: Settings) -> str:
    if settings.chroma_host:
        scheme = "https" if settings.chroma_ssl else "http"
        return f"the Chroma server at {scheme}://{settings.chroma_host}:{settings.chroma_port}"
    return f"the index at {settings.index_dir}"


@dataclass
class NewsStore:
    """A Chroma collection of article chunks, with the model check done on open.

    Every write also goes to the BM25 side index and the near-duplicate signatures
    (`lexical`, `duplicates`) and ends by stamping the articles touched in the
    manifest (`sync.py`), so other machines' side indexes follow; `sync_side_indexes`
    applies their writes here.
    """

    vectorstore: Any  # langchain_chroma.Chroma
    location: str
    lexical: LexicalIndex | None = None
    duplicates: DuplicateIndex | None = None
    manifest: Manifest | None = None
    state: SyncState | None = None
    # Reopens the Chroma client, for an embedded store another process wrote to: a client sees other
    # processes' rows, but not their vectors, until it is reopened. None for a server.
    reopen: Callable[[], tuple[Any, Manifest]] | None = None
    ledger: Path | None = None  # the last ingest's record (`ledger.py`), dropped before any write
    opened_at: float = field(default_factory=time.time)  # when the Chroma client was (re)opened
    looked_at: float = field(default_factory=time.time)  # this process's last read of the manifest
    # This process's last full look at the manifest (see `sync.FULL_LOOK_SECONDS`): monotonic time, and the
    # time.time() it started at.
    full_look_at: float = float("-inf")
    full_look_from: float = float("inf")
    _sync_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def collection(self):
        # langchain-chroma exposes no public paging or metadata access; the raw collection has both.
        return self.vectorstore._collection

    def count(self) -> int:
        return self.collection.count()

    def article_hashes(self) -> dict[str, set[str]]:
        """source -> the content hashes its chunks carry (more than one after an interrupted update)."""
        hashes: dict[str, set[str]] = {}
        for metadata in self._iter_metadatas():
            hashes.setdefault(metadata["source"], set()).add(metadata.get("article_hash", ""))
        return hashes

    def article_counts(self) -> dict[str, int]:
        """source -> number of chunks, for listing what is indexed."""
        counts: dict[str, int] = {}
        for metadata in self._iter_metadatas():
            counts[metadata["source"]] = counts.get(metadata["source"], 0) + 1
        return counts

    def _iter_metadatas(self) -> Iterable[dict]:
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            yield from metadatas
            if len(metadatas) < PAGE:
                return
            offset += PAGE

    def add_chunks(self, chunks: list[Chunk], vectors: list[list[float]]) -> dict[str, list[str]]:
        """Write chunks with precomputed embeddings (ingest batches the model itself).

        Returns, for each article written that nearly duplicates already-indexed ones, their sources.
        """
        if not chunks:
            return {}
        ledger.forget(self.ledger)
        self.collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[chunk_metadata(c) for c in chunks],
        )
        copies = {}
        if self.duplicates is not None:
            for article in {c.article.source: c.article for c in chunks}.values():
                if found := self.duplicates.add(article.source, article.text, date_number(article.date) or 0):
                    copies[article.source] = found
        # The BM25 rows go last: a run killed before they are in leaves the counts unequal, and
        # `sync_side_indexes` then rebuilds the duplicate signatures as well.
        if self.lexical is not None:
            self.lexical.add(chunks, vectors)
        self._stamp({c.article.source: c.article.content_hash for c in chunks})
        return copies

    def present_sources(self, sources: list[str]) -> list[str]:
        """Those of `sources` that have chunks in the store, in the order given."""
        found = set()
        for start in range(0, len(sources), 500):
            page = self.collection.get(where={"source": {"$in": sources[start : start + 500]}}, include=["metadatas"])
            found.update(m["source"] for m in page["metadatas"] or [])
        return [s for s in dict.fromkeys(sources) if s in found]

    def delete_sources(self, sources: Iterable[str]) -> None:
        sources = list(sources)
        if sources:
            ledger.forget(self.ledger)
            self.collection.delete(where={"source": {"$in": sources}})
            if self.lexical is not None:
                self.lexical.delete_sources(sources)
            if self.duplicates is not None:
                self.duplicates.remove(sources)
            self._stamp(dict.fromkeys(sources, ""), deleted=True)

    def delete_stale(self, source: str, current_hash: str) -> None:
        """Remove the chunks of `source` left from an earlier version of the article."""
        ledger.forget(self.ledger)
        self.collection.delete(where={"$and": [{"source": source}, {"article_hash": {"$ne": current_hash}}]})
        if self.lexical is not None:
            self.lexical.delete_stale(source, current_hash)
        self._stamp({source: current_hash})

    def _stamp(self, articles: dict[str, str], *, deleted: bool = False) -> None:
        """Tell other machines these articles changed; this machine's side indexes already hold the change."""
        if self.manifest is not None:
            stamps = self.manifest.stamp(articles, deleted=deleted)
            if self.state is not None:
                self.state.record(stamps)

    def get_passages(self, ids: list[str], query_vector: list[float]) -> list[Passage]:
        """The chunks with these ids, scored by cosine similarity to the query (for BM25-only hits)."""
        if not ids:
            return []
        rows = self.collection.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        query = np.asarray(query_vector, dtype=np.float32)
        columns = zip(rows["ids"], rows["documents"], rows["metadatas"], rows["embeddings"], strict=True)
        return [
            passage_from_row(chunk_id, text, metadata, float(np.dot(np.asarray(vector, dtype=np.float32), query)))
            for chunk_id, text, metadata, vector in columns
        ]

    def sync_if_due(self) -> None:
        """Apply other machines' writes when the last look is older than `sync.SYNC_INTERVAL_SECONDS`."""
        if self.state is not None and self.state.due():
            self.sync_side_indexes(progress=False)

    def sync_side_indexes(self, progress: bool = True) -> None:
        """Bring the BM25 index and duplicate signatures in line with Chroma, at the cost of what changed.

        The stamps written since the last sync name the articles to re-read. Only when the
        chunk counts disagree (an ingest killed between its writes, or side indexes that are
        new, damaged or of an older layout) is everything rebuilt from Chroma.
        """
        if self.lexical is None or self.state is None or self.manifest is None:
            return
        with self._sync_lock:
            self.state.checked_at = time.monotonic()
            outdated = self.duplicates is not None and self.duplicates.outdated()
            if self.lexical.count() != self.count() or not self.lexical.vectors_complete() or outdated:
                self._rebuild(progress)
                return
            if self.state.count() == 0 and self.count():
                # Side indexes written before the manifest existed: the counts agree, so keep them.
                self._reconcile(self.article_hashes())
                return
            started, full = time.time(), time.monotonic() - self.full_look_at >= FULL_LOOK_SECONDS
            # From this machine's last look, or this process's, if earlier: another process on this folder may
            # have looked since writing, and this process's Chroma client must still learn of that write.
            since = min(self.state.last_look(), self.looked_at)
            since = min(since, self.full_look_from) - CLOCK_SKEW_SECONDS if full else since - RECENT_LOOK_SECONDS
            stamps = self.manifest.since(since)
            if self.reopen is not None and any(s.writer != WRITER and s.written >= self.opened_at for s in stamps):
                self.vectorstore, self.manifest = self.reopen()
                self.opened_at = time.time()
            if changed := unapplied(stamps, self.state):
                self._refresh(changed)
            self.state.looked(started)
            self.looked_at = started
            if full:
                self.full_look_at, self.full_look_from = time.monotonic(), started

    def _refresh(self, stamps: list[Stamp]) -> None:
        """Re-read the articles these stamps name from Chroma into the side indexes."""
        sources = [s.source for s in stamps]
        for start in range(0, len(sources), 500):
            batch = sources[start : start + 500]
            page = self.collection.get(where={"source": {"$in": batch}}, include=[*ROW_FIELDS])
            rows = list(side_rows(page))
            self.lexical.replace_sources(batch, rows)
            if self.duplicates is not None:
                self.duplicates.remove(batch)
                self._sign(rows)
        self.state.record(stamps)

    def _rebuild(self, progress: bool) -> None:
        """Rebuild both side indexes from every chunk in Chroma, a page at a time, then agree with the manifest."""
        texts, hashes = [], {}
        bar = Progress("Rebuilding the search indexes (BM25, vectors, near-duplicates)", total=self.count(),
                       unit="chunk", enabled=progress)

        def rows():
            offset = 0
            while True:
                page = self.collection.get(include=[*ROW_FIELDS], limit=PAGE, offset=offset)
                for row in side_rows(page):
                    yield row
                    texts.append((*row[:3], None))  # the duplicate signatures need no vectors
                    hashes.setdefault(row[1]["source"], set()).add(row[1].get("article_hash", ""))
                bar.update(len(page["ids"]))
                if len(page["ids"]) < PAGE:
                    return
                offset += PAGE

        self.lexical.rebuild(rows())
        bar.close()
        if self.duplicates is not None:
            self.duplicates.clear()
            self._sign(texts)
        self._reconcile(hashes)

    def _sign(self, rows: Iterable[Row]) -> None:
        """Write the near-duplicate signatures of the articles whose chunks these rows are."""
        for source, (text, date_num) in article_texts(rows).items():
            self.duplicates.add(source, text, date_num)

    def _reconcile(self, hashes: dict[str, set[str]]) -> None:
        """Make the manifest say what Chroma holds (source -> its chunks' hashes), and note it all as applied.

        A writer killed between its chunk writes and its stamp left the manifest behind;
        stamping those articles now lets the other machines catch up.
        """
        started = time.time()
        stamps = {s.source: s for s in self.manifest.every()}
        live = {source: sorted(found)[0] for source, found in hashes.items()}
        behind = {
            source: content_hash for source, content_hash in live.items()
            if source not in stamps or stamps[source].deleted or stamps[source].article_hash not in hashes[source]
        }
        gone = {s.source: "" for s in stamps.values() if not s.deleted and s.source not in live}
        fresh = self.manifest.stamp(behind) + self.manifest.stamp(gone, deleted=True)
        stamps.update({s.source: s for s in fresh})
        self.state.record(stamps.values(), replace_all=True)
        self.state.looked(started)

    def search(self, query_vector: list[float], k: int, where: dict | None = None) -> list[Passage]:
        """The k nearest chunks to a query embedding, best first, scored by cosine similarity."""
        results = self.vectorstore.similarity_search_by_vector_with_relevance_scores(query_vector, k=k, filter=where)
        # Counting costs a few ms on a large collection: only when nothing came back is it worth asking why.
        if not results and self.count() == 0:
            raise EmptyIndexError(
                f"{self.location[0].upper()}{self.location[1:]} is empty: run `qa ingest articles/` "
                "(or point QA_INDEX_DIR at an ingested index) first."
            )
        return [to_passage(doc, distance) for doc, distance in results]


def side_rows(page: dict) -> Iterable[Row]:
    """(id, metadata, text, vector) rows of a Chroma `get` that included ROW_FIELDS."""
    return zip(page["ids"], page["metadatas"], page["documents"], page["embeddings"], strict=True)


def article_texts(rows: Iterable[Row]) -> dict[str, tuple[str, int]]:
    """source -> (its text, joined from its chunks in order; its date number)."""
    parts: dict[str, list[tuple[int, str]]] = {}
    dates: dict[str, int] = {}
    for _, metadata, text, _ in rows:
        parts.setdefault(metadata["source"], []).append((metadata.get("chunk_index", 0), text))
        dates[metadata["source"]] = metadata.get("date_num", 0)
    return {source: ("\n\n".join(t for _, t in sorted(chunks)), dates[source]) for source, chunks in parts.items()}


def chunk_metadata(chunk: Chunk) -> dict:
    article = chunk.article
    return {
        "source": article.source,
        "title": article.title,
        "date": article.date,
        # Chroma filters on numbers only, so the date is also kept as YYYYMMDD (0 = unknown).
        "date_num": date_number(article.date) or 0,
        "place": article.place,
        "outlet": article.outlet,
        "article_hash": article.content_hash,
        "chunk_index": chunk.index,
        "start": chunk.start,
    }


def passage_from_row(chunk_id: str, text: str, m: dict, score: float) -> Passage:
    return Passage(
        id=chunk_id,
        source=m.get("source", ""),
        text=text,
        title=m.get("title", ""),
        date=m.get("date", ""),
        place=m.get("place", ""),
        outlet=m.get("outlet", ""),
        score=round(score, 4),
    )


def to_passage(doc, distance: float) -> Passage:
    # cosine space: distance = 1 - similarity
    return passage_from_row(doc.id or "", doc.page_content, doc.metadata, 1.0 - float(distance))


def side_index_path(settings: Settings) -> Path:
    """Where the BM25 index and duplicate signatures live: beside the embedded store, or per server."""
    if settings.chroma_host:
        name = re.sub(r"[^\w.-]+", "_", f"{settings.chroma_host}-{settings.chroma_port}-{settings.collection}")
        return settings.index_dir / f"search-{name}.sqlite3"
    return settings.index_dir / f"search-{settings.collection}.sqlite3"


def open_store(settings: Settings, embeddings: Embeddings, model_name: str) -> NewsStore:
    """Open (or create) the collection and check it was built with `model_name`."""
    from langchain_chroma import Chroma

    client = open_client(settings)
    location = describe_location(settings)
    try:
        existing = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
    except Exception as error:
        raise StoreUnavailableError(f"Cannot open {location}: {error}") from None
    if settings.collection in existing:
        built_with = (client.get_collection(settings.collection).metadata or {}).get(MODEL_KEY)
        if built_with and built_with != model_name:
            raise IndexMismatchError(
                f"{location} (collection {settings.collection!r}) was built with the embedding model "
                f"{built_with!r}, but QA_EMBEDDING_MODEL is {model_name!r}. Set QA_EMBEDDING_MODEL={built_with} "
                "to use it, or re-ingest into a new QA_INDEX_DIR / QA_COLLECTION."
            )
    def connect(client) -> tuple[Any, Manifest]:
        vectorstore = Chroma(
            client=client,
            collection_name=settings.collection,
            embedding_function=embeddings,
            collection_metadata={MODEL_KEY: model_name},
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        # No embedding function: the manifest's rows carry a fixed 1-dimensional vector, never a model's.
        manifest = client.get_or_create_collection(manifest_name(settings.collection), embedding_function=None)
        return vectorstore, Manifest(manifest)

    def reopen() -> tuple[Any, Manifest]:
        import chromadb

        # A new client in this process would share the old one's cached state; drop it first.
        chromadb.api.client.SharedSystemClient.clear_system_cache()
        return connect(open_client(settings))

    vectorstore, manifest = connect(client)
    path = side_index_path(settings)
    store = NewsStore(
        vectorstore=vectorstore, location=location, lexical=LexicalIndex(path), duplicates=DuplicateIndex(path),
        manifest=manifest, state=SyncState(path), reopen=None if settings.chroma_host else reopen,
        ledger=ledger.ledger_path(settings),
    )
    store.sync_side_indexes()
    return store
