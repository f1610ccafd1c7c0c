"""Hybrid retrieval on real articles: BM25 beside Chroma, dates, filters, duplicates, follow-ups, diversity."""

from __future__ import annotations

import shutil

import pytest

from conftest import ARTICLES, KAZINFORM, TREND
from qa import answer
from qa.api import get_pipeline, ingest
from qa.dates import TimeHint
from qa.errors import QuestionError
from qa.retrieval import Filters, fuse, window_slack
from qa.settings import Settings


def test_rrf_rewards_items_ranked_well_in_several_lists():
    assert fuse([["a", "b", "c"], ["c", "b"], ["b"]])[0] == "b"
    assert fuse([]) == []


def test_window_slack_grows_with_the_window():
    from datetime import date

    assert window_slack(TimeHint(date(2023, 1, 1), date(2023, 12, 31))).days == 92
    assert window_slack(TimeHint(date(1987, 3, 5), date(1987, 3, 5))).days == 3


def test_filters_become_a_chroma_where_clause():
    assert Filters().where() is None
    assert Filters(sources=("a",)).where() == {"source": {"$in": ["a"]}}
    where = Filters.build("2024-01-01", "2024-12-31").where()
    assert {"date_num": {"$gte": 20240101}} in where["$and"] and {"date_num": {"$lte": 20241231}} in where["$and"]
    with pytest.raises(QuestionError, match="YYYY-MM-DD"):
        Filters.build(date_from="last spring")


@pytest.fixture(scope="module")
def twin_index(tmp_path_factory):
    """The sample articles plus a republished copy of the Kazinform article under another name."""
    folder = tmp_path_factory.mktemp("twins") / "articles"
    shutil.copytree(ARTICLES, folder)
    copy = (ARTICLES / KAZINFORM).read_text(encoding="utf-8").replace(" date 2022-11-18", " date 2022-11-21", 1)
    (folder / "republished_kazinform.txt").write_text(copy + "\n\nRepublished from Kazinform.\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path_factory.mktemp("twin-index"))
    summary = ingest([folder], settings=settings, progress=False)
    return settings, summary


def test_near_duplicate_is_recognised_at_ingest_and_listed_not_repeated(twin_index):
    settings, summary = twin_index
    assert summary.near_duplicates == {"articles/republished_kazinform.txt": [f"articles/{KAZINFORM}"]}
    assert "near-duplicate articles/republished_kazinform.txt" in summary.describe()
    result = answer("What did Kazakhstan offer the EU on rare earths?", settings=settings.replace(llm="extractive"))
    sources = [p.source for p in result.passages]
    assert f"articles/{KAZINFORM}" in sources, "the earliest copy is the one shown"
    assert "articles/republished_kazinform.txt" not in sources
    kazinform = next(c for c in result.citations if c.source.endswith(KAZINFORM))
    assert kazinform.also_reported_by == ("articles/republished_kazinform.txt",)


def test_explicit_date_and_source_filters_limit_what_is_retrieved(sample_index):
    settings, _, _ = sample_index
    late = answer("Who headed the EU delegation?", date_from="2024-01-01", settings=settings.replace(llm="extractive"))
    assert all(p.date >= "2024-01-01" for p in late.passages) and late.passages
    only = answer(
        "Who headed the EU delegation?", sources=[f"articles/{KAZINFORM}"], settings=settings.replace(llm="extractive")
    )
    assert {p.source for p in only.passages} == {f"articles/{KAZINFORM}"}
    assert "Borrell" in only.text


def test_a_year_in_the_question_prefers_articles_from_then(sample_index):
    settings, _, _ = sample_index
    pipeline = get_pipeline(settings)
    question = "What did the foreign ministers of Central Asia and the EU discuss in November 2022?"
    assert pipeline.retrieve(question, k=1)[0].source.endswith(KAZINFORM)
    undated = get_pipeline(settings.replace(dates=False, retrieval="dense"))
    assert undated.retrieve(question, k=4)[0].source.endswith(KAZINFORM)


def test_latest_prefers_the_newest_article(sample_index):
    settings, _, _ = sample_index
    passages = get_pipeline(settings).retrieve("What is the latest news on EU-Kazakhstan cooperation?", k=2)
    assert passages[0].source.endswith(TREND)


def test_bm25_only_mode_finds_an_exact_name(sample_index):
    settings, _, _ = sample_index
    passages = get_pipeline(settings.replace(retrieval="bm25")).retrieve("Kestutis Jankauskas", k=2)
    assert passages and passages[0].source.endswith(TREND)
    assert 0 < passages[0].score <= 1, "BM25-only hits still carry their cosine score"


def test_follow_up_uses_the_history_to_retrieve(sample_index):
    settings, _, _ = sample_index
    history = [
        {"role": "user", "content": "What was Kazakhstan's trade turnover with European countries in 2023?"},
        {"role": "assistant", "content": "It amounted to $40.2 billion [1]."},
    ]
    passages = get_pipeline(settings).retrieve("and what about imports?", k=2, history=history)
    assert any("imports" in p.text and p.source.endswith(TREND) for p in passages)


def test_one_article_does_not_crowd_out_the_others(sample_index):
    settings, _, _ = sample_index
    passages = get_pipeline(settings.replace(max_per_article=1)).retrieve("Kazakhstan and the European Union", k=4)
    assert len({p.source for p in passages}) == len(passages) == 2


def test_the_rest_of_articles_comes_in_order_without_the_shown_passages_and_with_its_copies(twin_index):
    settings, _ = twin_index
    pipeline = get_pipeline(settings)
    vector = pipeline.embeddings.embed_query("rare earth metals")
    shown = [p for p in pipeline.retrieve("What did Kazakhstan offer the EU on rare earths?", k=4)
             if p.source.endswith(KAZINFORM)]
    rest = pipeline.retriever.rest_of_articles(shown, [shown[0].source], vector, limit=50)
    article = (ARTICLES / KAZINFORM).read_text(encoding="utf-8")
    assert rest and not {p.id for p in rest} & {p.id for p in shown}
    assert all(p.source == shown[0].source for p in rest)
    # every chunk is the article's text, and they come in the article's order
    assert [article.index(p.text[:60]) for p in rest] == sorted(article.index(p.text[:60]) for p in rest)
    assert all(p.also_reported_by == ("articles/republished_kazinform.txt",) for p in rest)
    assert len(pipeline.retriever.rest_of_articles(shown, [shown[0].source], vector, limit=1)) == 1
    both = pipeline.retriever.rest_of_articles(shown, [shown[0].source, f"articles/{TREND}"], vector, limit=2)
    assert [p.source for p in both] == [shown[0].source] * 2 + [f"articles/{TREND}"] * 2, "article by article"


def test_the_answer_may_quote_a_passage_of_the_best_article_that_retrieval_left_out(sample_index):
    settings, _, _ = sample_index
    result = answer("How much did Kazakhstan import from European countries in the 11 months of 2022?",
                    settings=settings.replace(llm="extractive", k=1))
    assert "$7.2 billion" in result.text
    assert len(result.passages) == 1
    assert any(c.text != result.passages[0].text and c.source == result.passages[0].source
               for c in result.citations), "the answering passage is one retrieval did not return"


def test_bm25_index_is_rebuilt_when_it_lost_step_with_chroma(tmp_path):
    from qa.api import _pipelines

    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    settings = Settings(index_dir=tmp_path / "index")
    ingest([folder], settings=settings, progress=False)
    store = get_pipeline(settings).store
    store.lexical.delete_sources([f"articles/{TREND}"])  # as if an ingest died between the two writes
    assert store.lexical.count() < store.count()
    _pipelines.pop(settings)
    reopened = get_pipeline(settings).store
    assert reopened.lexical.count() == reopened.count()
    assert reopened.lexical.search("Jankauskas", k=1)
