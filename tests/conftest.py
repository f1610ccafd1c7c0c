"""Every test runs against its own index in a temporary folder, never the repository's `index/`."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTICLES = REPO / "articles"
CORPUS = REPO.parent / "shared" / "corpus"
KAZINFORM = "000_7a094f6f779c30f4.txt"
TREND = "002_40a8f02fd4e3abf6.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(autouse=True)
def isolated_index(tmp_path, monkeypatch):
    """Point QA_INDEX_DIR at this test's temporary folder and clear other QA_* settings."""
    for name in list(os.environ):
        if name.startswith("QA_") and name != "QA_MODEL_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    return tmp_path / "index"


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory):
    """A session-wide index of the sample articles, built once through the real pipeline."""
    from qa import ingest
    from qa.settings import Settings

    folder = tmp_path_factory.mktemp("sample") / "articles"
    shutil.copytree(ARTICLES, folder)
    settings = Settings(index_dir=tmp_path_factory.mktemp("sample-index"))
    summary = ingest([folder], settings=settings, progress=False)
    assert summary.added == 2 and not summary.skipped
    return settings, folder, summary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
