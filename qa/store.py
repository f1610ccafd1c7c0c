"""The Chroma store, reached through `langchain-chroma`: chunks in, passages out.

Embedded (`PersistentClient` at `QA_INDEX_DIR`) by default, or a Chroma server over
HTTP when `QA_CHROMA_HOST` is set. The collection records which embedding model
built it, and the store refuses to mix models. Chunk metadata carries everything
a citation needs, so a query never has to go back to the article files.
Ranking and filtering policy lives in `retrieval.py`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from langchain_core.embeddings import Embeddings

from .errors import EmptyIndexError, IndexMismatchError, StoreUnavailableError
from .settings import Settings
from .types import Chunk, Passage

MODEL_KEY = "embedding_model"
PAGE = 5000  # rows per `get` page; keeps memory flat on large collections


def open_client(settings: Settings):
    """A Chroma client for the configured location."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as error:  # chromadb raises plain exceptions for connection failures
            raise StoreUnavailableError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({error}). "
                "Start it (chroma run --path DIR --port N) or unset QA_CHROMA_HOST to use the local index."
            ) from None
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


def describe_location(settings: Settings) -> str:
    if settings.chroma_host:
        return f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
    return f"the index at {settings.index_dir}"


@dataclass
class NewsStore:
    """A Chroma collection of article chunks, with the model check done on open."""

    vectorstore: Any  # langchain_chroma.Chroma
    location: str

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

    def add_chunks(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Write chunks with precomputed embeddings (ingest batches the model itself)."""
        if not chunks:
            return
        self.collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[chunk_metadata(c) for c in chunks],
        )

    def delete_sources(self, sources: Iterable[str]) -> None:
        sources = list(sources)
        if sources:
            self.collection.delete(where={"source": {"$in": sources}})

    def delete_stale(self, source: str, current_hash: str) -> None:
        """Remove the chunks of `source` left from an earlier version of the article."""
        self.collection.delete(where={"$and": [{"source": source}, {"article_hash": {"$ne": current_hash}}]})

    def search(self, query_vector: list[float], k: int, where: dict | None = None) -> list[Passage]:
        """The k nearest chunks to a query embedding, best first, scored by cosine similarity."""
        if self.count() == 0:
            raise EmptyIndexError(
                f"{self.location[0].upper()}{self.location[1:]} is empty: run `qa ingest articles/` "
                "(or point QA_INDEX_DIR at an ingested index) first."
            )
        results = self.vectorstore.similarity_search_by_vector_with_relevance_scores(
            query_vector, k=k, filter=where
        )
        return [to_passage(doc, distance) for doc, distance in results]


def chunk_metadata(chunk: Chunk) -> dict:
    article = chunk.article
    return {
        "source": article.source,
        "title": article.title,
        "date": article.date,
        # Chroma filters on numbers only, so the date is also kept as YYYYMMDD (0 = unknown).
        "date_num": int(article.date.replace("-", "")) if article.date else 0,
        "place": article.place,
        "outlet": article.outlet,
        "article_hash": article.content_hash,
        "chunk_index": chunk.index,
        "start": chunk.start,
    }


def to_passage(doc, distance: float) -> Passage:
    m = doc.metadata
    return Passage(
        id=doc.id or "",
        source=m.get("source", ""),
        text=doc.page_content,
        title=m.get("title", ""),
        date=m.get("date", ""),
        place=m.get("place", ""),
        outlet=m.get("outlet", ""),
        score=round(1.0 - float(distance), 4),  # cosine space: distance = 1 - similarity
    )


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
    vectorstore = Chroma(
        client=client,
        collection_name=settings.collection,
        embedding_function=embeddings,
        collection_metadata={MODEL_KEY: model_name},
        collection_configuration={"hnsw": {"space": "cosine"}},
    )
    return NewsStore(vectorstore=vectorstore, location=location)
