"""`qa eval` end to end: the bundled sample set over a real index, with the extractive and local LLMs."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from conftest import REPO
from qa.cli import main
from qa.settings import Settings


@pytest.mark.parametrize("llm", ["extractive", "local"])
def test_qa_eval_writes_four_files_and_scores_the_sample_set(sample_index, tmp_path, monkeypatch, llm):
    settings, _, _ = sample_index
    monkeypatch.setenv("QA_INDEX_DIR", str(settings.index_dir))
    out = tmp_path / "eval"
    result = CliRunner().invoke(main, ["eval", "--llm", llm, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"results.jsonl", "summary.json", "report.md", "report.png"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["llm"] == llm and summary["questions"] >= 15
    assert summary["metrics"]["hit_at_k"]["mean"] >= 0.9
    assert summary["metrics"]["citation_validity"]["mean"] == 1.0
    assert summary["metrics"]["answer_accuracy"]["mean"] >= 0.5
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert all("latency_s" in row and "abstained" in row for row in rows)


def test_fail_under_a_missed_threshold_exits_non_zero(sample_index, tmp_path, monkeypatch):
    settings, _, _ = sample_index
    monkeypatch.setenv("QA_INDEX_DIR", str(settings.index_dir))
    out = str(tmp_path / "e")
    args = ["eval", "--llm", "extractive", "--out", out, "--quiet", "--fail-under", "answer_accuracy=0.99"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "answer_accuracy" in result.output


def test_readme_configuration_table_lists_every_setting():
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `(QA_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == {name for name, _, _ in Settings.describe()}
