from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.errors import PromptError, SettingsError
from qa.prompts import render_prompt
from qa.settings import Settings


def test_settings_read_qa_variables_when_built():
    settings = Settings.from_env({"QA_K": "7", "QA_LLM": "extractive", "QA_INDEX_DIR": "/tmp/x", "QA_MIN_SCORE": "0.5"})
    assert (settings.k, settings.llm, settings.index_dir, settings.min_score) == (7, "extractive", Path("/tmp/x"), 0.5)


def test_settings_reject_bad_values_with_the_variable_name():
    with pytest.raises(SettingsError, match="QA_LLM"):
        Settings.from_env({"QA_LLM": "gpt"})
    with pytest.raises(SettingsError, match="QA_K"):
        Settings.from_env({"QA_K": "many"})
    with pytest.raises(SettingsError, match="3 or more"):
        Settings.from_env({"QA_COLLECTION": "ab"})


def test_a_bad_setting_is_one_message_from_the_cli(monkeypatch):
    monkeypatch.setenv("QA_K", "0")
    result = CliRunner().invoke(main, ["ask", "Who?"])
    assert result.exit_code == 1 and result.output.strip() == "Error: QA_K=0 must be at least 1."


def test_openai_key_falls_back_to_openai_api_key():
    assert Settings.from_env({"OPENAI_API_KEY": "sk-1"}).llm_api_key == "sk-1"


def test_every_setting_is_described():
    rows = Settings.describe()
    assert all(description for _, _, description in rows)
    assert rows[0][:2] == ("QA_INDEX_DIR", "index")


def test_short_answer_prompt_gives_the_sentences_and_ends_with_the_question():
    text = render_prompt("short_answer", question="Who?", sentences="Borrell headed the EU delegation.")
    assert "Sentences: Borrell headed the EU delegation.\nQuestion: Who?\nShort answer:" in text
    assert text.rstrip().endswith("Question: Who?\nShort answer:")


def test_prompt_rendering_is_strict(tmp_path):
    (tmp_path / "answer.txt").write_text("{{ question }} {{ missing }}")
    with pytest.raises(PromptError, match="missing"):
        render_prompt("answer", prompts_dir=str(tmp_path), question="q")
    with pytest.raises(PromptError, match="not found"):
        render_prompt("nonexistent", prompts_dir=str(tmp_path))
