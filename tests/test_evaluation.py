"""Question-file validation, thresholds and a full `run_eval` over a hand-built fake `answer()`."""

import io
import json
import logging
import sys
from pathlib import Path

import pytest

import qa.progress
from qa.errors import QuestionFileError, ThresholdError
from qa.evaluation import (
    METRICS,
    Question,
    failed_thresholds,
    load_questions,
    parse_thresholds,
    run_eval,
)
from qa.progress import Progress
from qa.types import Answer, Citation, Passage

REPO = Path(__file__).resolve().parent.parent
KAZINFORM = "articles/000_7a094f6f779c30f4.txt"
TREND = "articles/002_40a8f02fd4e3abf6.txt"
META = {"llm": "fake", "embedding_model": "fake-embed", "index_chunks": 12, "questions_file": "inline"}


def write_lines(path: Path, *records) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


GOOD = {
    "id": "q1",
    "question": "Who?",
    "answers": ["Borrell"],
    "sources": ["000_7a094f6f779c30f4.txt"],
    "answerable": True,
}


# --- question files ----------------------------------------------------------------------


def test_load_questions_reads_both_kinds(tmp_path):
    unanswerable = {"id": "q2", "question": "Oil to China?", "answers": [], "sources": [], "answerable": False}
    questions = load_questions(write_lines(tmp_path / "q.jsonl", GOOD, "", unanswerable))
    assert [q.id for q in questions] == ["q1", "q2"]
    assert questions[0].answers == ("Borrell",) and questions[1].answerable is False


@pytest.mark.parametrize(
    "record, message",
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "expected a JSON object"),
        ({**GOOD, "source": ["x"]}, "unknown field(s) source"),
        ({**GOOD, "question": ""}, "'question' is required"),
        ({**GOOD, "answers": []}, "needs at least one alias"),
        ({**GOOD, "answers": "Borrell"}, "'answers' must be a list"),
        ({**GOOD, "answerable": "yes"}, "'answerable' must be true or false"),
        ({**GOOD, "answerable": False}, "must have empty 'answers' and 'sources'"),
    ],
)
def test_bad_lines_are_reported_with_their_line_number(tmp_path, record, message):
    path = write_lines(tmp_path / "q.jsonl", {**GOOD, "id": "q0"}, record)
    with pytest.raises(QuestionFileError) as error:
        load_questions(path)
    assert "q.jsonl:2: " in str(error.value) and message in str(error.value)


def test_a_reference_only_question_is_read(tmp_path):
    reference_only = {**GOOD, "answers": [], "reference": "Josep Borrell headed the EU delegation.", "split": "test"}
    [question] = load_questions(write_lines(tmp_path / "q.jsonl", reference_only))
    assert question.answers == () and question.reference == "Josep Borrell headed the EU delegation."
    assert question.answerable and question.split == "test"


def test_an_answerable_question_without_aliases_or_reference_is_refused(tmp_path):
    path = write_lines(tmp_path / "q.jsonl", {**GOOD, "answers": [], "reference": " "})
    with pytest.raises(
        QuestionFileError,
        match="q.jsonl:1: an answerable question needs at least one alias in 'answers' or a 'reference' answer",
    ):
        load_questions(path)


def test_duplicate_ids_and_missing_files_are_reported(tmp_path):
    with pytest.raises(QuestionFileError, match=r"q.jsonl:2: duplicate id 'q1' \(first on line 1\)"):
        load_questions(write_lines(tmp_path / "q.jsonl", GOOD, GOOD))
    with pytest.raises(QuestionFileError, match="Cannot read the questions file"):
        load_questions(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("name", ["sample.jsonl", "bbc.jsonl"])
def test_shipped_question_files_are_valid(name):
    questions = load_questions(REPO / "qa" / "questions" / name)
    assert sum(q.answerable for q in questions) >= (15 if name == "sample.jsonl" else 30)
    assert sum(not q.answerable for q in questions) >= (4 if name == "sample.jsonl" else 5)


# --- thresholds -------------------------------------------------------------------------


def test_parse_thresholds():
    assert parse_thresholds(["hit_at_k=0.9", "latency_p95_s = 5"]) == {"hit_at_k": 0.9, "latency_p95_s": 5.0}
    with pytest.raises(ThresholdError, match="expected METRIC=VALUE"):
        parse_thresholds(["hit_at_k"])
    with pytest.raises(ThresholdError, match="unknown metric 'hit_at_5'"):
        parse_thresholds(["hit_at_5=0.9"])
    with pytest.raises(ThresholdError, match="'high' is not a number"):
        parse_thresholds(["mrr=high"])
    with pytest.raises(ThresholdError, match="more than once"):
        parse_thresholds(["mrr=0.1", "mrr=0.2"])


def test_unsupported_rates_are_ceilings():
    summary = {"metrics": {"unsupported_number_rate": {"mean": 0.2, "low": 0.0, "high": 0.4, "n": 10}}}
    assert failed_thresholds(summary, {"unsupported_number_rate": 0.2}) == []
    [miss] = failed_thresholds(summary, {"unsupported_number_rate": 0.0})
    assert miss.startswith("unsupported_number_rate is 0.200") and "above the allowed 0" in miss


def test_failed_thresholds_names_each_miss():
    summary = {
        "metrics": {"hit_at_k": {"mean": 0.8, "low": 0.6, "high": 0.95, "n": 10}, "semantic_similarity": None},
        "latency_p50_s": 1.0,
        "latency_p95_s": 3.0,
    }
    assert failed_thresholds(summary, {"hit_at_k": 0.8, "latency_p95_s": 3.0}) == []
    misses = failed_thresholds(summary, {"hit_at_k": 0.9, "latency_p95_s": 2.0, "semantic_similarity": 0.5})
    assert len(misses) == 3
    assert misses[0].startswith("hit_at_k is 0.800") and "below the required 0.9" in misses[0]
    assert "latency_p95_s is 3.000s, above the allowed 2s" == misses[1]
    assert "could not be measured" in misses[2]


# --- run_eval ------------------------------------------------------------------------------

BORRELL = "The EU delegation was headed by Josep Borrell."
QUESTIONS = [
    Question(
        "good", "Who headed the EU delegation?", ("Borrell",), "Josep Borrell headed it.", ("000_7a094f6f779c30f4.txt",)
    ),
    Question("wrong", "What was the trade turnover?", ("40.2 billion",), "", ("002_40a8f02fd4e3abf6.txt",)),
    Question("refused", "How much oil went to China?", answerable=False),
]


def fake_answer(question: str, *, good: bool = True) -> Answer:
    """Hand-built answers: right for 'good' (unless good=False), wrong for 'wrong', abstains for 'refused'."""
    kazinform = Passage("k1", KAZINFORM, BORRELL)
    trend = Passage("t1", TREND, "Turnover amounted to $40.2 billion.")
    if question.startswith("Who"):
        if not good:
            return Answer(question, "Nobody is named [2].", False, [], [trend, kazinform])
        return Answer(
            question, "Josep Borrell [1].", False, [Citation.from_passage(1, kazinform)], [kazinform, kazinform, trend]
        )
    if question.startswith("What"):
        return Answer(
            question, "It was $40 billion [1].", False, [Citation.from_passage(1, kazinform)], [kazinform, trend]
        )
    return Answer(question, "The articles do not say.", True, [], [trend])


def fake_embed(texts):
    return [[1.0, float(len(t) % 3)] for t in texts]


def test_run_eval_writes_the_four_files(tmp_path):
    summary = run_eval(QUESTIONS, fake_answer, out_dir=tmp_path, meta=META, k=2, embed=fake_embed, progress=False)

    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    by_id = {row["id"]: row for row in rows}
    assert by_id["good"]["retrieved"] == [KAZINFORM, TREND]
    assert by_id["good"]["citations"] == [{"number": 1, "source": KAZINFORM}]
    assert by_id["good"]["answer_accuracy"] == 1.0 and by_id["good"]["hit_at_k"] == 1.0
    assert by_id["wrong"]["answer_accuracy"] == 0.0 and by_id["wrong"]["mrr"] == 0.5
    assert by_id["wrong"]["citation_precision"] == 0.0 and by_id["wrong"]["semantic_similarity"] is None
    assert by_id["wrong"]["unsupported_number_rate"] == 1.0 and by_id["good"]["unsupported_number_rate"] == 0.0
    assert by_id["refused"]["abstained"] and by_id["refused"]["abstention_accuracy"] == 1.0
    assert all(by_id["refused"][name] is None for name in METRICS if name != "abstention_accuracy")
    assert all("latency_s" in row for row in rows)

    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["questions"] == 3 and data["answerable"] == 2 and data["unanswerable"] == 1
    assert {key: data[key] for key in META} == META and data["k"] == 2
    accuracy = data["metrics"]["answer_accuracy"]
    assert accuracy["mean"] == 0.5 and accuracy["n"] == 2 and accuracy["low"] <= 0.5 <= accuracy["high"]
    assert data["metrics"]["abstention_accuracy"]["n"] == 3
    assert data["latency_p50_s"] <= data["latency_p95_s"]
    assert summary.metrics["answer_accuracy"].mean == 0.5

    report = (tmp_path / "report.md").read_text()
    assert report.index("| wrong |") < report.index("| good |")  # worst question first
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_run_eval_lists_regressions_against_a_baseline(tmp_path):
    run_eval(QUESTIONS, fake_answer, out_dir=tmp_path / "before", meta=META, k=2, progress=False)
    worse = lambda question: fake_answer(question, good=False)  # noqa: E731
    run_eval(
        QUESTIONS,
        worse,
        out_dir=tmp_path / "after",
        meta=META,
        k=2,
        progress=False,
        baseline=tmp_path / "before" / "summary.json",
    )
    report = (tmp_path / "after" / "report.md").read_text()
    section = report[report.index("### Questions that got worse (1)") : report.index("## Questions, worst first")]
    assert "| good |" in section and "answer_accuracy 1.00→0.00" in section and "citation_validity 1.00→0.00" in section
    assert "| wrong |" not in section
    assert "| answer_accuracy | 0.500 | 0.000 | -0.500 |" in report


def test_run_eval_scores_a_reference_only_question_without_the_alias_metrics(tmp_path):
    reference_only = {
        "id": "ref",
        "question": "Who headed the EU delegation?",
        "answers": [],
        "reference": "Josep Borrell headed it.",
        "sources": ["000_7a094f6f779c30f4.txt"],
    }
    with_alias = {
        "id": "alias",
        "question": "What was the trade turnover?",
        "answers": ["40.2 billion"],
        "sources": ["002_40a8f02fd4e3abf6.txt"],
    }
    questions = load_questions(write_lines(tmp_path / "q.jsonl", reference_only, with_alias))
    summary = run_eval(
        questions, fake_answer, out_dir=tmp_path / "out", meta=META, k=2, embed=fake_embed, progress=False
    )

    rows = {
        json.loads(line)["id"]: json.loads(line)
        for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    }
    ref = rows["ref"]
    assert ref["answer_accuracy"] is None and ref["token_f1"] is None and ref["answer_supported"] is None
    assert ref["semantic_similarity"] is not None
    assert ref["hit_at_k"] == 1.0 and ref["citation_precision"] == 1.0 and ref["citation_validity"] == 1.0
    assert rows["alias"]["answer_accuracy"] == 0.0
    assert summary.metrics["answer_accuracy"].n == 1 and summary.metrics["hit_at_k"].n == 2
    assert summary.metrics["semantic_similarity"].n == 1
    assert "| ref |" in (tmp_path / "out" / "report.md").read_text()


def test_progress_off_a_terminal_logs_the_first_and_last_step_and_a_line_per_interval_between(
    tmp_path, capsys, caplog, monkeypatch
):
    caplog.set_level(logging.INFO, logger="qa")
    run_eval(QUESTIONS, fake_answer, out_dir=tmp_path, meta=META, k=2, progress=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.progress"]
    assert lines == ["Evaluating: 1/3 questions", "Evaluating: 3/3 questions"]  # three fast questions
    assert "%|" not in capsys.readouterr().err  # no bar drawn into the log
    caplog.clear()
    clock = iter(range(0, 10_000, 1))  # one second per step
    monkeypatch.setattr(qa.progress.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(qa.progress, "on_terminal", lambda: False)
    with Progress("Ingesting", unit="article") as progress:  # no total: the count reached is logged at the end
        for _ in range(8):
            progress.update()
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.progress"]
    assert lines == [f"Ingesting: {n} articles" for n in (1, 3, 5, 7, 8)], lines


def test_progress_on_a_terminal_is_a_bar(tmp_path, monkeypatch, caplog):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    caplog.set_level(logging.INFO, logger="qa")
    run_eval(QUESTIONS, fake_answer, out_dir=tmp_path, meta=META, k=2, progress=True)
    assert "Evaluating:" in terminal.getvalue() and "%|" in terminal.getvalue()  # tqdm's bar
    assert not [r for r in caplog.records if r.name == "qa.progress"]


def test_run_eval_requires_the_meta_keys(tmp_path):
    with pytest.raises(ValueError, match="index_chunks"):
        run_eval(
            QUESTIONS,
            fake_answer,
            out_dir=tmp_path,
            meta={"llm": "x", "embedding_model": "y", "questions_file": "z"},
            k=2,
        )
