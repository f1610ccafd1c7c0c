"""End to end on real components: the packaged MiniLM, embedded Chroma, and Gemma 3 270M via llama.cpp."""

from __future__ import annotations

import shutil

import pytest

from conftest import ARTICLES, KAZINFORM, TREND
from qa import answer, ingest
from qa.errors import EmptyIndexError, IndexMismatchError, QuestionError

RARE_EARTHS = "What did Kazakhstan offer the EU on rare earths?"


def test_local_llm_answers_rare_earths_with_kazinform_citation(sample_index):
    settings, _, _ = sample_index
    result = answer(RARE_EARTHS, settings=settings.replace(llm="local"))
    assert not result.abstained, result.text
    text = result.text.lower()
    assert "rare earth" in text and ("suppl" in text or "increase" in text), result.text
    assert any(c.source.endswith(KAZINFORM) for c in result.citations), result.citations
    assert "[1]" in result.text
    cited = {c.number for c in result.citations}
    assert cited == set(range(1, len(result.citations) + 1))


def test_local_llm_names_borrell_with_citation(sample_index):
    settings, _, _ = sample_index
    result = answer("Who headed the EU delegation?", settings=settings.replace(llm="local"))
    assert "Borrell" in result.text, result.text
    assert any(c.source.endswith(KAZINFORM) and "Borrell" in c.text for c in result.citations)


def test_question_absent_from_the_articles_abstains(sample_index):
    settings, _, _ = sample_index
    result = answer("Who won the 2018 FIFA World Cup final?", settings=settings.replace(llm="local"))
    assert result.abstained
    assert result.citations == []
    assert "don't answer" in result.text
    assert result.passages, "the closest passages are still returned"


def test_extractive_mode_quotes_the_supporting_sentence(sample_index):
    settings, _, _ = sample_index
    result = answer(RARE_EARTHS, settings=settings.replace(llm="extractive"))
    assert not result.abstained
    assert "rare earth metals" in result.text
    assert result.citations[0].source.endswith(KAZINFORM)


def test_citation_carries_title_date_and_outlet(sample_index):
    settings, _, _ = sample_index
    result = answer(
        "How much was Kazakhstan's trade turnover with European countries in 2023?",
        settings=settings.replace(llm="extractive"),
    )
    trend = [c for c in result.citations if c.source.endswith(TREND)]
    assert trend, result
    assert trend[0].date == "2024-02-15" and trend[0].outlet == "Trend" and trend[0].title
    assert "40.2 billion" in result.text


def test_reingest_unchanged_articles_adds_nothing(sample_index):
    settings, folder, first = sample_index
    again = ingest([folder], settings=settings, progress=False)
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == (0, 0, 2, 0)
    assert again.chunks_total == first.chunks_total


def test_changed_article_replaces_its_old_chunks(tmp_path):
    from qa.api import get_pipeline
    from qa.settings import load_settings

    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    settings = load_settings()
    first = ingest([folder], progress=False)
    path = folder / TREND
    path.write_text(path.read_text(encoding="utf-8").replace("$40.2 billion", "$41.7 billion"), encoding="utf-8")
    second = ingest([folder], progress=False)
    assert (second.added, second.updated, second.unchanged) == (0, 1, 1)
    assert second.chunks_total == first.chunks_total
    texts = " ".join(get_pipeline(settings).store.collection.get(where={"source": f"articles/{TREND}"})["documents"])
    assert "41.7 billion" in texts and "40.2 billion" not in texts


def test_bad_files_are_skipped_and_good_ones_ingested(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(ARTICLES / KAZINFORM, folder)
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    summary = ingest([folder, tmp_path / "missing"], progress=False)
    assert summary.added == 1
    reasons = {s.source.rsplit("/", 1)[-1]: s.reason for s in summary.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "missing"}, reasons


def test_empty_index_says_what_to_do():
    with pytest.raises(EmptyIndexError, match="qa ingest"):
        answer(RARE_EARTHS)


def test_empty_question_is_refused_with_a_message(sample_index):
    settings, _, _ = sample_index
    with pytest.raises(QuestionError):
        answer("  ?! ", settings=settings)


def test_index_built_with_another_model_is_refused(tmp_path):
    import chromadb

    from qa.settings import load_settings
    from qa.store import MODEL_KEY

    settings = load_settings()
    client = chromadb.PersistentClient(
        path=str(settings.index_dir), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    client.create_collection(settings.collection, metadata={MODEL_KEY: "some-other-model"})
    with pytest.raises(IndexMismatchError, match="some-other-model"):
        answer(RARE_EARTHS, settings=settings)
