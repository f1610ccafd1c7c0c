"""The ONNX embedding backends against sentence-transformers on PyTorch, with the packaged MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ARTICLES
from qa.embeddings import OnnxEmbeddings, SentenceTransformerEmbeddings, make_embeddings
from qa.errors import SettingsError
from qa.settings import Settings

TEXTS = [
    "Kazakhstan offered the European Union cooperation on rare earth metals.",
    "Trade turnover between the countries amounted to $40.2 billion in 2023.",
    "Shares in the carmaker fell 3% after it cut its profit forecast.",
    "Rain.",  # one token, next to long texts: padding must not leak into the pooling
    " ".join(p.read_text(encoding="utf-8") for p in sorted(ARTICLES.glob("*.txt"))),  # truncated at 256 tokens
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def torch_vectors():
    return np.array(SentenceTransformerEmbeddings().embed_documents(TEXTS))


@pytest.mark.parametrize("backend, at_least", [("onnx", 0.9999), ("onnx-int8", 0.98)])
def test_onnx_backends_agree_with_pytorch(backend, at_least, model_dir, torch_vectors):
    embeddings = make_embeddings(Settings(embedding_backend=backend, model_dir=model_dir))
    assert isinstance(embeddings, OnnxEmbeddings)
    vectors = np.array(embeddings.embed_documents(TEXTS))
    assert vectors.shape == torch_vectors.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    agreement = (vectors * torch_vectors).sum(axis=1)
    assert agreement.min() >= at_least, agreement
    # A text's vector does not depend on the texts embedded with it (parallel ingests rely on that).
    alone = np.array([embeddings.embed_documents([text])[0] for text in TEXTS])
    assert np.abs(alone - vectors).max() < 1e-5


def test_export_is_cached_and_reused(model_dir):
    settings = Settings(embedding_backend="onnx-int8", model_dir=model_dir)
    make_embeddings(settings).embed_query("warm")
    files = sorted(model_dir.rglob("*.onnx"))
    assert [f.name for f in files] == ["model-int8.onnx", "model.onnx"]
    stamps = [f.stat().st_mtime_ns for f in files]
    make_embeddings(settings).prepare()
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert not list(model_dir.rglob("*.part")), "no half-written export is left behind"


def test_query_vectors_are_cached(model_dir):
    embeddings = make_embeddings(Settings(model_dir=model_dir))
    first = embeddings.embed_query(TEXTS[0])
    assert embeddings.embed_query(TEXTS[0]) == first
    assert embeddings._cached_query.cache_info().hits == 1


def test_unknown_backend_is_a_clear_settings_error():
    with pytest.raises(SettingsError, match="QA_EMBEDDING_BACKEND='gpu' is not one of onnx-int8, onnx, torch"):
        Settings.from_env({"QA_EMBEDDING_BACKEND": "gpu"})
