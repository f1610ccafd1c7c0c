"""The Python API: `answer()`, `timeline()` and `ingest()`, sharing one pipeline per configuration per process.

The Gradio page, the CLI and the evaluation all come through here, so they answer
alike: their arguments pass one check (`arguments.check_arguments`), and a write that
fails because the disk is full becomes a `DiskFullError` saying so. Models and the
store are loaded on first use and kept for the life of the process; a different
configuration gets its own pipeline.
"""

from __future__ import annotations

import errno
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from .arguments import check_arguments
from .errors import DiskFullError, QAError
from .settings import Settings, load_settings

if TYPE_CHECKING:
    from datetime import date

    from .chain import Pipeline
    from .ingestion import IngestSummary
    from .timelines import Timeline
    from .types import Answer

# How SQLite (SQLITE_FULL), Chroma's Rust side and the OS word a full disk.
DISK_FULL_WORDS = ("database or disk is full", "no space left on device", "disk full")

_pipelines: dict[Settings, "Pipeline"] = {}
_embeddings: dict[tuple, object] = {}
_lock = threading.Lock()


def get_pipeline(settings: Settings | None = None) -> "Pipeline":
    """The process-wide pipeline for `settings` (default: from the environment now)."""
    from .chain import build_chain
    from .embeddings import make_embeddings

    settings = settings or load_settings()
    with _lock:
        if settings not in _pipelines:
            # Pipelines that differ only in store or k share the loaded models.
            key = (settings.embedding_model, settings.embedding_backend, str(settings.model_dir))
            embeddings = _embeddings.get(key)
            if embeddings is None:
                embeddings = _embeddings[key] = make_embeddings(settings)
            _pipelines[settings] = build_chain(settings, embeddings=embeddings, llm=_shared_llm(settings))
        return _pipelines[settings]


def _shared_llm(settings: Settings):
    """The already-loaded LLM for this LLM configuration, if another pipeline built one."""
    key = _llm_key(settings)
    for other in _pipelines.values():
        if _llm_key(other.settings) == key and other.llm_loaded:
            return other.llm
    return None


def _llm_key(settings: Settings) -> tuple:
    return (settings.llm, settings.llm_base_url, settings.llm_model, settings.gguf_path, str(settings.model_dir),
            settings.llm_max_tokens, settings.llm_context, settings.llm_threads, settings.llm_timeout)


def answer(
    question: str,
    *,
    k: int | None = None,
    history: list | None = None,
    date_from: "str | date | None" = None,
    date_to: "str | date | None" = None,
    sources: list[str] | None = None,
    outlets: list[str] | None = None,
    settings: Settings | None = None,
) -> "Answer":
    """Answer a question from the indexed articles, with [n] citations, or abstain.

    `k` passages (1 to `settings.MAX_K`; default QA_K) are retrieved; `date_from`/`date_to`
    (inclusive, YYYY-MM-DD), `sources` and `outlets` limit what may be retrieved.
    """
    checked = check_arguments(question, k=k, history=history, date_from=date_from, date_to=date_to,
                              sources=sources, outlets=outlets)
    pipeline = get_pipeline(settings)
    with reporting_full_disk(pipeline.settings, "ask again"):
        return pipeline.answer(question, k=checked.k, history=checked.history, filters=checked.filters)


def stream_answer(
    question: str,
    *,
    k: int | None = None,
    history: list | None = None,
    date_from: "str | date | None" = None,
    date_to: "str | date | None" = None,
    sources: list[str] | None = None,
    outlets: list[str] | None = None,
    settings: Settings | None = None,
) -> Iterator["str | Answer"]:
    """Like `answer()`, but yields the text as it is generated and then the `Answer`.

    The arguments are checked now, so a bad one raises here, before anything is yielded.
    """
    checked = check_arguments(question, k=k, history=history, date_from=date_from, date_to=date_to,
                              sources=sources, outlets=outlets)
    pipeline = get_pipeline(settings)
    items = pipeline.stream(question, k=checked.k, history=checked.history, filters=checked.filters)
    return _reporting_full_disk_while(items, pipeline.settings)


def timeline(
    topic: str,
    *,
    date_from: "str | date | None" = None,
    date_to: "str | date | None" = None,
    sources: list[str] | None = None,
    outlets: list[str] | None = None,
    settings: Settings | None = None,
) -> "Timeline":
    """The dated reports on `topic` in order, one per article or copy group, each cited, with the figures they give.

    `date_from`/`date_to` (inclusive, YYYY-MM-DD), `sources` and `outlets` limit the articles, as for `answer()`.
    """
    from .timelines import build_timeline

    checked = check_arguments(topic, date_from=date_from, date_to=date_to, sources=sources, outlets=outlets)
    pipeline = get_pipeline(settings)
    with reporting_full_disk(pipeline.settings, "ask again"):
        return build_timeline(pipeline, topic, checked.filters)


def _reporting_full_disk_while(items: Iterator, settings: Settings) -> Iterator:
    with reporting_full_disk(settings, "ask again"):
        yield from items


def ingest(paths: Iterable[str | Path], *, settings: Settings | None = None, progress: bool = True) -> "IngestSummary":
    """Add or update the articles under `paths` in the index; unchanged ones are skipped."""
    from .ingestion import ingest_articles, unchanged_ingest

    paths = list(paths)
    if (unchanged := unchanged_ingest(paths, settings or load_settings())) is not None:
        return unchanged  # nothing changed since the last ingest: neither store nor model was opened
    pipeline = get_pipeline(settings)
    with reporting_full_disk(pipeline.settings, "run the same ingest again: it ends as a clean one would"):
        return ingest_articles(paths, pipeline.store, pipeline.embeddings, pipeline.settings, progress=progress)


@contextmanager
def reporting_full_disk(settings: Settings, then: str):
    """Turn a write that failed for want of space (SQLite, Chroma or the OS saying so) into a DiskFullError."""
    try:
        yield
    except QAError:
        raise
    except Exception as error:
        cause = _disk_full_cause(error)
        if cause is None:
            raise
        where = f"the Chroma server at {settings.chroma_host}" if settings.chroma_host else str(settings.index_dir)
        raise DiskFullError(
            f"The disk holding the index ({where}) is full ({_first_line(cause)}). Nothing already indexed is lost. "
            f"Free some space there (or set QA_INDEX_DIR to a folder on a disk with room), then {then}."
        ) from error


def _disk_full_cause(error: BaseException) -> BaseException | None:
    """The exception in `error`'s chain that says the disk is full, if one does."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return error
        if any(words in str(error).lower() for words in DISK_FULL_WORDS):
            return error
        error = error.__cause__ or error.__context__
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def remove(sources: Iterable[str], *, settings: Settings | None = None) -> list[str]:
    """Delete the articles with these sources from the index (and every machine's side indexes); returns those found."""
    store = get_pipeline(settings).store
    found = store.present_sources(list(sources))
    store.delete_sources(found)
    return found


DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions" / "sample.jsonl"


def evaluate(
    questions: str | Path | None = None,
    *,
    k: int | None = None,
    out_dir: str | Path = "eval-out",
    baseline: str | Path | None = None,
    settings: Settings | None = None,
    progress: bool = True,
    split: str | None = None,
):
    """Run a question set (or its `split`, "dev" or "test") through `answer()`; writes the report files."""
    from .evaluation import load_questions, run_eval

    pipeline = get_pipeline(settings)
    settings = pipeline.settings
    k = k or settings.k
    questions_path = Path(questions) if questions else DEFAULT_QUESTIONS
    meta = {
        "llm": settings.llm,
        "embedding_model": settings.embedding_model,
        "index_chunks": pipeline.store.count(),
        "questions_file": str(questions_path),
        "split": split or "all",
        "min_score": settings.min_score,
    }
    return run_eval(
        load_questions(questions_path, split=split),
        lambda question: pipeline.answer(question, k=k),
        out_dir=out_dir,
        meta=meta,
        k=k,
        embed=pipeline.embeddings.embed_documents,
        baseline=baseline,
        progress=progress,
    )


TIMELINE_QUESTIONS = Path(__file__).resolve().parent / "questions" / "timeline.jsonl"


def evaluate_timelines(
    questions: str | Path | None = None,
    *,
    split: str | None = None,
    corpus: str | None = None,
    out_dir: str | Path = "eval-timeline",
    settings: Settings | None = None,
) -> dict:
    """Score `timeline()` on a timeline question set (one `split` and `corpus` if given); writes the report files."""
    from .timeline_eval import load_timeline_questions, run_timeline_eval

    records = load_timeline_questions(questions or TIMELINE_QUESTIONS, split=split, corpus=corpus)

    def build(record: dict):
        return timeline(record["topic"], date_from=record.get("date_from"), date_to=record.get("date_to"),
                        settings=settings)

    summary = run_timeline_eval(records, build, out_dir)
    summary.update(split=split or "all", corpus=corpus or "all", questions_file=str(questions or TIMELINE_QUESTIONS))
    return summary


def indexed_articles(*, settings: Settings | None = None) -> dict[str, int]:
    """source -> number of passages, for every article in the index (the chat page's Corpus tab lists them)."""
    pipeline = get_pipeline(settings)
    with reporting_full_disk(pipeline.settings, "reload the page"):
        return pipeline.store.article_counts()
