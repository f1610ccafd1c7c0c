"""Shared pieces of the speed benchmark: corpora, questions, child runs, statistics, tables, machine info.

The measured work runs in fresh child processes (`_child.py`), so model loading is
counted and each run's peak memory is its own; this module starts those children and
formats what comes back. It measures nothing itself; the served app is `_serve.py`'s.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"  # read in place, never copied
QUESTIONS = REPO / "qa" / "questions"
SAMPLE_ARTICLES = REPO / "articles"
# Whole folders, as bench/retrieval_modes.py ingests them, so sources (and so indexes) match.
CORPORA = {"bbc": CORPUS / "bbc", "reuters": CORPUS / "reuters21578"}
# The news among each folder's files (not its README and word lists), for picking --limit subsets.
NEWS_SOURCES = {"bbc": "bbc/*/*.txt", "reuters": "reuters21578/*.sgm#*"}
CHILD = Path(__file__).resolve().parent / "_child.py"
WARM_UP = "What did the minister say about the economy?"  # in no question set, so no set question is cached by it
# Offline models, no telemetry, and loopback never sent through a proxy.
QUIET_ENV = {
    "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
}
SECRET_FIELDS = ("llm_api_key", "chroma_token", "ui_auth")
VERSIONS = ("torch", "onnxruntime", "sentence-transformers", "chromadb", "langchain-core", "langchain-chroma",
            "langchain-huggingface", "langchain-text-splitters", "llama_cpp_python", "gradio", "gradio_client")


class BenchError(RuntimeError):
    """A part could not run; the message says why and what to do."""


def bench_env(backend: str | None = None, **variables: str) -> dict[str, str]:
    """The environment for a child or server: ours, quiet and offline, with the embedding backend when given."""
    env = {**os.environ, **QUIET_ENV, **variables}
    if backend:
        env["QA_EMBEDDING_BACKEND"] = backend
    return env


def run_child(task: str, args: dict[str, Any], *, backend: str | None = None) -> dict[str, Any]:
    """Run one `_child.py` task in a fresh process; its JSON result plus `process_s`, the process's wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(CHILD), task, json.dumps(args)],
                          env=bench_env(backend), stdout=subprocess.PIPE, text=True)
    process_s = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise BenchError(f"the {task} run failed (exit {done.returncode}); its error is printed above.")
    return {**json.loads(lines[-1]), "process_s": process_s}


def embedding_backend() -> str:
    """The backend the environment selects (QA_EMBEDDING_BACKEND, or the setting's default)."""
    from qa.settings import load_settings

    return load_settings().embedding_backend


def has_index(folder: Path) -> bool:
    return (folder / "chroma.sqlite3").is_file()


def load_questions(name: str, limit: int | None = None) -> list[str]:
    """The distinct questions of `qa/questions/<name>.jsonl`, in file order (distinct, so none hits the query cache)."""
    path = QUESTIONS / f"{name}.jsonl"
    questions = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(questions))[:limit]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile: a value that was actually measured; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def rate(count: float, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    """CPU, versions, time and the qa settings in force (secrets left out)."""
    from qa.settings import load_settings

    settings = {k: str(v) for k, v in dataclasses.asdict(load_settings()).items() if k not in SECRET_FIELDS}
    versions = {}
    for name in VERSIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "machine": platform.machine(), "processor": platform.processor(),
        "python": platform.python_version(), "versions": versions,
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "QA_EMBEDDING_BACKEND") if k in os.environ},
        "settings": settings,
    }
