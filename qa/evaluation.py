"""Runs a question set through `answer()` and scores every answer offline.

`run_eval` takes the questions and any `answer_fn(question) -> Answer` (the real
`answer` with k bound, or a fake in tests) and writes to its output folder:
`results.jsonl` (one scored row per question), `summary.json` (each metric's mean
with a bootstrap 95% interval, plus the run's settings) and, through `report.py`,
`report.md` and `report.png`. `parse_thresholds` and `failed_thresholds` let the
CLI fail a run whose means miss a bar.

Which metrics apply to which question:
- retrieval (`hit_at_k`, `mrr`), answer (`answer_accuracy`, `lead_accuracy`, `token_f1`,
  `semantic_similarity`) and citation (`citation_validity`, `citation_precision`,
  `citation_recall`, `answer_supported`) metrics apply to answerable questions only
  and are None for unanswerable ones;
- `abstention_accuracy` applies to every question;
- grounding (`unsupported_sentence_rate`, `unsupported_number_rate`; lower is better)
  applies to every answer that did not abstain, answerable or not;
- a metric that cannot be computed is None (no gold sources, nothing cited for
  precision, no reference or embedding function for similarity), and means skip None;
- a reference-only question (`"answers": []` with a `"reference"`, the shape of RAGAS
  and LangSmith datasets) has no alias to find, so `answer_accuracy`, `lead_accuracy`,
  `token_f1` and `answer_supported` are None for it; similarity, retrieval and citation metrics apply;
- latency is summarised over all questions as `latency_p50_s` and `latency_p95_s`.

Left out: building the pipeline (the caller passes `answer_fn`), the metric
definitions (`metrics.py`), the metric names and their summary (`summary.py`) and the
report layout (`report.py`).
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from qa import metrics, report
from qa.errors import MissingDependencyError, QAError, QuestionFileError, ThresholdError
from qa.progress import track
from qa.summary import LATENCY_METRICS, LOWER_IS_BETTER, METRICS, EvalSummary, summarise
from qa.text import remember_vectors
from qa.types import Answer

# What the caller must tell `run_eval` about the run, copied into summary.json.
META_KEYS = ("llm", "embedding_model", "index_chunks", "questions_file")
MRR_CUTOFF = 10


@dataclass(frozen=True)
class Question:
    """One evaluation question with what a correct answer must contain and where it is."""

    id: str
    question: str
    answers: tuple[str, ...] = ()  # short aliases, any one counts as correct; none for a reference-only question
    reference: str = ""  # a full reference answer, for semantic similarity
    sources: tuple[str, ...] = ()  # suffixes of the sources holding the answer
    answerable: bool = True
    split: str = "dev"  # "dev" (tune on it) or "test" (report it; never tuned on)


_KNOWN_FIELDS = {"id", "question", "answers", "reference", "sources", "answerable", "split"}
SPLITS = ("dev", "test")


def _string_list(record: dict, key: str, where: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise QuestionFileError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_question(record: Any, where: str) -> Question:
    """Validate one decoded JSON line; `where` ("file:line") prefixes every error."""
    if not isinstance(record, dict):
        raise QuestionFileError(f"{where}: expected a JSON object, got {type(record).__name__}")
    unknown = sorted(set(record) - _KNOWN_FIELDS)
    if unknown:
        # A misspelt key ("source") would otherwise silently drop the gold sources.
        raise QuestionFileError(
            f"{where}: unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_KNOWN_FIELDS))}"
        )
    for key in ("id", "question"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise QuestionFileError(f"{where}: {key!r} is required and must be a non-empty string")
    answerable = record.get("answerable", True)
    if not isinstance(answerable, bool):
        raise QuestionFileError(f"{where}: 'answerable' must be true or false")
    reference = record.get("reference", "")
    if not isinstance(reference, str):
        raise QuestionFileError(f"{where}: 'reference' must be a string")
    split = record.get("split", "dev")
    if split not in SPLITS:
        raise QuestionFileError(f"{where}: 'split' must be one of {', '.join(SPLITS)}, not {split!r}")
    answers, sources = _string_list(record, "answers", where), _string_list(record, "sources", where)
    if answerable and not answers and not reference.strip():
        raise QuestionFileError(
            f"{where}: an answerable question needs at least one alias in 'answers' or a 'reference' answer"
        )
    if not answerable and (answers or sources):
        raise QuestionFileError(f"{where}: an unanswerable question must have empty 'answers' and 'sources'")
    return Question(
        record["id"].strip(), record["question"].strip(), answers, reference.strip(), sources, answerable, split
    )


def load_questions(path: str | Path, *, split: str | None = None) -> list[Question]:
    """Read and validate a JSON Lines questions file; blank lines are skipped; `split` keeps only that part."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise QuestionFileError(f"Cannot read the questions file {path}: {error.strerror or error}") from error
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise QuestionFileError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from error
        question = parse_question(record, where)
        if question.id in seen:
            raise QuestionFileError(f"{where}: duplicate id {question.id!r} (first on line {seen[question.id]})")
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise QuestionFileError(f"{path}: holds no questions")
    if split is not None:
        if split not in SPLITS:
            raise QuestionFileError(f"There is no {split!r} part of a question set; choose one of {', '.join(SPLITS)}.")
        questions = [q for q in questions if q.split == split]
        if not questions:
            raise QuestionFileError(f"{path}: holds no {split} questions")
    return questions


def score_answer(
    question: Question, answer: Answer, *, k: int, embed: metrics.Embed | None = None
) -> dict[str, float | None]:
    """Every metric for one answer, None where it does not apply (see the module docstring)."""
    scores: dict[str, float | None] = dict.fromkeys(METRICS)
    scores["abstention_accuracy"] = metrics.abstention_accuracy(answer.abstained, question.answerable)
    scores["unsupported_sentence_rate"] = metrics.unsupported_sentence_rate(answer, embed)
    scores["unsupported_number_rate"] = metrics.unsupported_number_rate(answer)
    if not question.answerable:
        return scores
    retrieved = metrics.ranked_sources(answer.passages)
    scores.update(
        hit_at_k=metrics.hit_at_k(retrieved, question.sources, k),
        mrr=metrics.mrr(retrieved, question.sources, MRR_CUTOFF),
        semantic_similarity=metrics.semantic_similarity(answer.text, question.reference, embed),
        citation_validity=metrics.citation_validity(answer),
        citation_precision=metrics.citation_precision(answer.citations, question.sources),
        citation_recall=metrics.citation_recall(answer.citations, question.sources),
    )
    if question.answers:  # a reference-only question has no alias to look for
        scores.update(
            answer_accuracy=metrics.answer_accuracy(answer.text, question.answers),
            lead_accuracy=metrics.lead_accuracy(answer, question.answers),
            token_f1=metrics.token_f1(answer.text, question.answers),
            answer_supported=metrics.answer_supported(answer.citations, question.answers),
        )
    return scores


def result_row(question: Question, answer: Answer, latency_s: float, scores: dict[str, float | None]) -> dict:
    """The results.jsonl line for one question."""
    return {
        "id": question.id,
        "question": question.question,
        "answerable": question.answerable,
        "expected": list(question.answers),
        "gold_sources": list(question.sources),
        "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [{"number": c.number, "source": c.source} for c in answer.citations],
        "removed": [{"text": r.text, "reason": r.reason} for r in answer.removed],
        "llm": answer.llm,
        "route": answer.route.value,
        "reason": answer.reason,
        "retrieved": metrics.ranked_sources(answer.passages),
        **{name: (None if value is None else round(value, 4)) for name, value in scores.items()},
        "latency_s": round(latency_s, 4),
    }


def run_eval(
    questions: Sequence[Question],
    answer_fn: Callable[[str], Answer],
    *,
    out_dir: str | Path,
    meta: dict,
    k: int,
    embed: metrics.Embed | None = None,
    baseline: str | Path | None = None,
    progress: bool = True,
) -> EvalSummary:
    """Answer every question, score it, and write results.jsonl, summary.json, report.md and report.png."""
    missing = [key for key in META_KEYS if key not in meta]
    if missing:
        raise ValueError(f"run_eval needs meta keys {', '.join(missing)} (expected: {', '.join(META_KEYS)})")
    if not questions:
        raise QuestionFileError("There are no questions to evaluate.")
    if baseline is not None and not Path(baseline).is_file():
        raise QAError(f"The baseline summary {baseline} does not exist; pass the summary.json of an earlier run.")
    # Checked now so that a missing plotter fails before the slow part, not after it.
    if importlib.util.find_spec("matplotlib") is None:
        raise MissingDependencyError("`qa eval` draws report.png with matplotlib: pip install matplotlib")
    answered: list[tuple[Question, Answer, float]] = []
    for question in track(questions, "Evaluating", unit="question", enabled=progress):
        started = time.perf_counter()
        answer = answer_fn(question.question)
        answered.append((question, answer, time.perf_counter() - started))

    if embed is not None:
        # All answers and references in one batch; later calls are served from it.
        embed = remember_vectors(embed)
        embed([t for q, a, _ in answered if q.answerable and q.reference for t in (a.text, q.reference)])
    results = [result_row(q, a, latency, score_answer(q, a, k=k, embed=embed)) for q, a, latency in answered]
    summary = summarise(results, k=k, meta=meta)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "results.jsonl", "w", encoding="utf-8") as f:
        for row in results:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out_dir / "summary.json").write_text(
        json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_report(summary, out_dir, baseline=baseline)
    return summary


def write_report(summary: EvalSummary, out_dir: str | Path, *, baseline: str | Path | None = None) -> list[Path]:
    """Write report.md and report.png for a summary; see `report.py`."""
    return report.write_report(summary, Path(out_dir), baseline=Path(baseline) if baseline else None)


def parse_thresholds(specs: Iterable[str]) -> dict[str, float]:
    """Parse --fail-under values like "hit_at_k=0.9"; latency (seconds) and unsupported rates are ceilings."""
    known = METRICS + LATENCY_METRICS
    thresholds: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise ThresholdError(f"--fail-under {spec!r}: expected METRIC=VALUE, e.g. hit_at_k=0.9")
        if name not in known:
            raise ThresholdError(f"--fail-under {spec!r}: unknown metric {name!r}; choose from {', '.join(known)}")
        if name in thresholds:
            raise ThresholdError(f"--fail-under {spec!r}: {name} is given more than once")
        try:
            number = float(value)
        except ValueError:
            raise ThresholdError(f"--fail-under {spec!r}: {value.strip()!r} is not a number") from None
        if not math.isfinite(number):
            raise ThresholdError(f"--fail-under {spec!r}: the value must be a finite number")
        thresholds[name] = number
    return thresholds


def failed_thresholds(summary: EvalSummary | dict, thresholds: dict[str, float]) -> list[str]:
    """One line per missed threshold; empty when every bar is met."""
    data = summary.to_dict() if isinstance(summary, EvalSummary) else summary
    misses = []
    for name, bar in thresholds.items():
        if name in LATENCY_METRICS:
            if data[name] > bar:
                misses.append(f"{name} is {data[name]:.3f}s, above the allowed {bar:g}s")
            continue
        measured = data["metrics"].get(name)
        ceiling = name in LOWER_IS_BETTER
        if measured is None:
            bound = "at most" if ceiling else "at least"
            misses.append(f"{name} could not be measured (no question it applies to), required {bound} {bar:g}")
        elif ceiling and measured["mean"] > bar:
            misses.append(
                f"{name} is {measured['mean']:.3f} (95% interval {measured['low']:.3f}-{measured['high']:.3f}), "
                f"above the allowed {bar:g}"
            )
        elif not ceiling and measured["mean"] < bar:
            misses.append(
                f"{name} is {measured['mean']:.3f} (95% interval {measured['low']:.3f}-{measured['high']:.3f}), "
                f"below the required {bar:g}"
            )
    return misses
