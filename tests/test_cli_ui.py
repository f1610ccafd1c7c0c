"""The `qa` command and the served chat page, each run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ARTICLES, KAZINFORM, free_port

QA = [sys.executable, "-m", "qa.cli"]


def run_qa(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(QA + list(args), capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


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


@pytest.fixture
def served_app(tmp_path):
    """`qa serve` on a free loopback port over an index of the sample articles; stopped afterwards."""
    assert run_qa("ingest", str(ARTICLES), "--quiet").returncode == 0
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    process = subprocess.Popen(QA + ["serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if process.poll() is not None:
                pytest.fail(f"qa serve exited: {Path(log.name).read_text()}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"qa serve did not start: {Path(log.name).read_text()}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_served_chat_answers_rare_earths_with_a_cited_source(served_app):
    from gradio_client import Client

    client = Client(served_app, verbose=False)
    reply = client.predict("What did Kazakhstan offer the EU on rare earths?", api_name="/chat")
    assert "rare earth" in reply.lower()
    assert "**Sources**" in reply and KAZINFORM in reply
    assert "[1]" in reply
