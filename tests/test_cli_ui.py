"""The `qa` command, run as a real process (the served chat page is tested in test_browser.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ARTICLES, KAZINFORM

QA = [sys.executable, "-m", "qa.cli"]


def run_qa(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {})}
    return subprocess.run(QA + list(args), capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_ingest_then_ask_json_then_reingest_reports_unchanged(tmp_path):
    first = run_qa("ingest", str(ARTICLES), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "2 added" in first.stdout
    asked = run_qa("ask", "Who headed the EU delegation?", "--json", "--llm", "extractive")
    assert asked.returncode == 0, asked.stderr
    result = json.loads(asked.stdout)
    assert "Borrell" in result["text"] and result["citations"][0]["source"].endswith(KAZINFORM)
    again = run_qa("ingest", str(ARTICLES), "--quiet")
    assert "0 added, 0 updated, 2 unchanged, 0 skipped" in again.stdout, again.stdout


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    empty = run_qa("ask", "What did Kazakhstan offer?")
    assert empty.returncode == 1
    assert "qa ingest" in empty.stderr and "Traceback" not in empty.stderr
    bad = run_qa("ask", "x", env={"QA_LLM": "gpt-9"})
    assert bad.returncode == 1 and "QA_LLM" in bad.stderr and "Traceback" not in bad.stderr
