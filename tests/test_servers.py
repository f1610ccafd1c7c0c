"""Beyond one machine, for real: a Chroma server, an OpenAI-compatible model server, and concurrent ingest.

Each server is started on a free loopback port by a module fixture and stopped in its
finalizer (terminate, then kill), so nothing outlives the module.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import ARTICLES, CORPUS, KAZINFORM, free_port
from qa import answer, ingest
from qa.api import get_pipeline, stream_answer
from qa.errors import SettingsError, StoreUnavailableError
from qa.settings import Settings
from qa.types import Answer, Route

RARE_EARTHS = "What did Kazakhstan offer the EU on rare earths?"
BIN = Path(sys.executable).parent  # the venv's `chroma` and `qa` executables live beside its python
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never route 127.0.0.1 through a proxy


class ServerProcess:
    """A server run as a subprocess on a loopback port, ready once `ready_path` answers 200."""

    def __init__(
        self,
        args: list[str],
        port: int,
        ready_path: str,
        log: Path,
        *,
        env: dict | None = None,
        cwd: Path | None = None,
    ):
        self.args, self.port, self.log, self.env, self.cwd = args, port, log, env, cwd
        self.ready_url = f"http://127.0.0.1:{port}{ready_path}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> "ServerProcess":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.args[0]} exited with {self.process.returncode}:\n{self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), LOOPBACK.open(self.ready_url, timeout=2) as response:  # not up yet
                if response.status == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"{self.ready_url} did not answer within {timeout} s:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def qa_env(**variables: str) -> dict[str, str]:
    """The environment for a `qa` subprocess: ours, without the caller's QA_* settings, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_MODEL_DIR"}
    env.update(variables)
    return env


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    server = ServerProcess(
        [str(BIN / "chroma"), "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
        port,
        "/api/v2/heartbeat",
        folder / "server.log",
    )
    try:
        yield server.start()
    finally:
        server.stop()


def server_settings(server: ServerProcess, collection: str) -> tuple[Settings, dict[str, str]]:
    """Settings for a collection on `server`, and the same as QA_* variables for a subprocess."""
    variables = {"QA_CHROMA_HOST": "127.0.0.1", "QA_CHROMA_PORT": str(server.port), "QA_COLLECTION": collection}
    return Settings.from_env(variables), variables


@pytest.fixture(scope="module")
def served_sample(chroma_server, tmp_path_factory):
    """The sample articles ingested into the Chroma server (`qa ingest` itself is run against it below)."""
    folder = tmp_path_factory.mktemp("served") / "articles"
    shutil.copytree(ARTICLES, folder)
    settings, _ = server_settings(chroma_server, "sample")
    summary = ingest([folder], settings=settings, progress=False)
    assert summary.added == 2 and not summary.skipped
    return settings, folder


def test_ingest_and_answer_through_a_chroma_server(served_sample):
    settings, _ = served_sample
    result = answer(RARE_EARTHS, settings=settings)
    assert not result.abstained, result.text
    assert "rare earth" in result.text.lower(), result.text
    assert any(c.source.endswith(KAZINFORM) for c in result.citations), result.citations


def test_index_survives_a_chroma_server_restart(served_sample, chroma_server):
    settings, folder = served_sample
    before = get_pipeline(settings).store.count()
    assert before > 0
    chroma_server.restart()
    again = ingest([folder], settings=settings, progress=False)
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == (0, 0, 2, 0)
    assert again.chunks_total == before


def test_chroma_server_down_says_where_it_looked():
    port = free_port()  # nothing listens here
    settings = Settings(chroma_host="127.0.0.1", chroma_port=port, llm="extractive")
    with pytest.raises(StoreUnavailableError, match=re.escape(f"127.0.0.1:{port}")):
        answer(RARE_EARTHS, settings=settings)


def test_https_to_a_plain_http_server_is_reported_as_unreachable(chroma_server):
    settings, _ = server_settings(chroma_server, "sample")
    with pytest.raises(StoreUnavailableError, match=re.escape(f"https://127.0.0.1:{settings.chroma_port}")):
        answer(RARE_EARTHS, settings=settings.replace(chroma_ssl=True, llm="extractive"))


def test_boolean_settings_read_the_usual_spellings():
    assert Settings.from_env({"QA_CHROMA_SSL": "1"}).chroma_ssl is True
    assert Settings.from_env({"QA_CHROMA_SSL": "false"}).chroma_ssl is False
    with pytest.raises(SettingsError, match="QA_CHROMA_SSL"):
        Settings.from_env({"QA_CHROMA_SSL": "maybe"})


def bbc_halves(root: Path, per_category: int = 8) -> tuple[Path, Path]:
    """40 BBC articles copied into two disjoint folders under `root` (never into the repository)."""
    halves = root / "half_a", root / "half_b"
    for half in halves:
        half.mkdir(parents=True)
    n = 0
    for category in sorted(p for p in (CORPUS / "bbc").iterdir() if p.is_dir()):
        for path in sorted(category.glob("*.txt"))[:per_category]:
            # Category in the name: BBC numbers files per category, so bare names would collide.
            shutil.copy(path, halves[n % 2] / f"{category.name}_{path.name}")
            n += 1
    return halves


def embeddings_by_id(collection) -> dict[str, np.ndarray]:
    rows = collection.get(include=["embeddings"])
    assert len(rows["ids"]) == len(set(rows["ids"]))
    return dict(zip(rows["ids"], np.asarray(rows["embeddings"]), strict=False))


@pytest.mark.skipif(not (CORPUS / "bbc").is_dir(), reason="needs the BBC corpus in ../shared/corpus")
def test_two_machines_ingest_disjoint_halves_into_one_collection(chroma_server, tmp_path):
    half_a, half_b = bbc_halves(tmp_path / "bbc")
    baseline = Settings(index_dir=tmp_path / "single")
    summary = ingest([half_a, half_b], settings=baseline, progress=False)
    assert summary.added == 40 and not summary.skipped

    settings, variables = server_settings(chroma_server, "bbc-shared")
    # One "machine" also embeds in two worker processes, with small batches so both get work.
    runs = [
        subprocess.Popen(
            [str(BIN / "qa"), "ingest", str(half_a), "--quiet", "--workers", "2"],
            env=qa_env(**variables, QA_EMBEDDING_BATCH_SIZE="16"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        subprocess.Popen(
            [str(BIN / "qa"), "ingest", str(half_b), "--quiet"],
            env=qa_env(**variables),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    ]
    try:
        outputs = [run.communicate(timeout=300) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
    for run, (stdout, stderr) in zip(runs, outputs, strict=False):
        assert run.returncode == 0, stderr
        assert "20 added" in stdout, stdout

    expected = embeddings_by_id(get_pipeline(baseline).store.collection)
    served = embeddings_by_id(get_pipeline(settings).store.collection)
    assert len(served) == len(expected) == summary.chunks_total
    assert served.keys() == expected.keys()
    assert max(float(np.abs(served[i] - expected[i]).max()) for i in expected) < 1e-4

    again = ingest([half_a, half_b], settings=settings, progress=False)
    assert (again.added, again.unchanged, again.chunks_written) == (0, 40, 0)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama.cpp's OpenAI-compatible server over the same Gemma GGUF the local mode runs."""
    from qa.llms import local_model_path

    folder = tmp_path_factory.mktemp("llama-server")
    port = free_port()
    server = ServerProcess(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(local_model_path(Settings())),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        port,
        "/v1/models",
        folder / "server.log",
    )
    try:
        yield f"http://127.0.0.1:{port}/v1", server.start()
    finally:
        server.stop()


def openai_settings(sample_index, base_url: str) -> Settings:
    settings, _, _ = sample_index
    return settings.replace(llm="openai", llm_base_url=base_url, llm_model="gemma-3-270m")


def test_openai_compatible_server_gives_a_cited_answer(sample_index, llama_server):
    base_url, _ = llama_server
    result = answer(RARE_EARTHS, settings=openai_settings(sample_index, base_url))
    assert result.llm == "openai" and result.route in (Route.GENERATED, Route.FALLBACK_QUOTED), result
    assert not result.abstained, result.text
    assert "rare earth" in result.text.lower(), result.text
    assert any(c.source.endswith(KAZINFORM) for c in result.citations), result.citations


def test_openai_compatible_server_streams_the_answer(sample_index, llama_server):
    base_url, _ = llama_server
    # A question with a short answer, so the checked stream has two sentences: the short answer, then the quote.
    items = list(stream_answer("Who headed the EU delegation?", settings=openai_settings(sample_index, base_url)))
    texts, final = items[:-1], items[-1]
    assert len(texts) > 1 and all(isinstance(t, str) for t in texts), items
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:], strict=False)), texts
    assert isinstance(final, Answer) and final.citations, final


def test_unreachable_openai_server_falls_back_and_names_its_url(sample_index):
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens here
    result = answer(RARE_EARTHS, settings=openai_settings(sample_index, base_url))
    assert result.route is Route.FALLBACK_QUOTED and base_url in result.reason, result
    assert "rare earth" in result.text
