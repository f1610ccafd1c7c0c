"""One meaning of `Filters`: Chroma, the BM25 index and the post-filter admit exactly the same passages.

The index is real (embedded Chroma and the SQLite side index in `tmp_path`); only the
embedding model is a fake, because which passages a filter admits does not depend on
the vectors. The expected answer is written from the articles' own fields, apart
from the code under test.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, timedelta

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from qa.chunking import chunk_article
from qa.retrieval import Filters, Retriever
from qa.settings import Settings
from qa.store import open_store, side_index_path
from qa.types import Article

DATES = ["2022-11-18", "2022-11-19", "2023-01-01", "2023-12-31", "2024-02-15", "1987-03-05", ""]
OUTLETS = ["Reuters", "Trend", "Kazinform", ""]
WORD = "harvest"  # in every title, so a BM25 search for it reaches every chunk
VOCABULARY = "wheat grain export tariff pipeline uranium ministers summit rail port cotton bank loan drought".split()


def make_articles(rng: random.Random, count: int = 28) -> list[Article]:
    """Articles in every pairing of a date and an outlet (7 and 4 are coprime), with distinct random wording."""
    articles = []
    for number in range(count):
        # Several sentences, so that articles make more than one chunk.
        sentences = [" ".join(rng.choices(VOCABULARY, k=12)).capitalize() + f" {number}-{i}." for i in range(6)]
        articles.append(
            Article(
                source=f"wire/{number:02d}.txt",
                text=" ".join(sentences),
                title=f"The {WORD} report {number}",
                date=DATES[number % len(DATES)],
                outlet=OUTLETS[number % len(OUTLETS)],
            )
        )
    return articles


@pytest.fixture(scope="module")
def filter_index(tmp_path_factory):
    """A real store of 28 articles across dates (some undated), sources and outlets (some unnamed)."""
    articles = make_articles(random.Random(14))
    embeddings = DeterministicFakeEmbedding(size=16)
    settings = Settings(index_dir=tmp_path_factory.mktemp("filter-index"))
    store = open_store(settings, embeddings, "fake-16")
    chunks = [chunk for article in articles for chunk in chunk_article(article, chunk_chars=300)]
    store.add_chunks(chunks, embeddings.embed_documents([c.embedded_text for c in chunks]))
    assert len(chunks) < 100, "Chroma searches a collection this small exactly, so every match comes back"
    return settings, store, embeddings, articles, {c.id: c.article for c in chunks}


def expected(filters: Filters, article: Article) -> bool:
    """What a filter means, read off the article: dates inclusive, an undated article outside any date limit."""
    return (
        (not filters.date_from or (article.date != "" and article.date >= filters.date_from))
        and (not filters.date_to or (article.date != "" and article.date <= filters.date_to))
        and (not filters.sources or article.source in filters.sources)
        and (not filters.outlets or article.outlet in filters.outlets)
    )


def random_filters(rng: random.Random, sources: list[str]) -> Filters:
    """Limits on the boundaries that matter: dates on, a day before and a day after an article's date."""
    days = [date.fromisoformat(d) + timedelta(days=shift) for d in DATES if d for shift in (-1, 0, 1)]

    def some_day() -> date | None:
        return rng.choice(days) if rng.random() < 0.5 else None

    return Filters.build(
        date_from=some_day(),
        date_to=some_day(),
        sources=rng.sample(sources + ["wire/missing.txt"], rng.choice([0, 0, 1, 3, 8])),
        outlets=rng.sample(OUTLETS + ["Nowhere"], rng.choice([0, 0, 1, 2])),
    )


def test_chroma_bm25_and_the_post_filter_admit_the_same_passages(filter_index):
    _, store, embeddings, articles, chunk_articles = filter_index
    everything = store.get_passages(list(chunk_articles), embeddings.embed_query(WORD))
    assert len(everything) == len(chunk_articles) == store.lexical.count()
    rng = random.Random(20240215)
    vector = embeddings.embed_query(WORD)
    admitted_some = 0
    for _ in range(300):
        filters = random_filters(rng, [a.source for a in articles])
        want = {chunk_id for chunk_id, article in chunk_articles.items() if expected(filters, article)}
        chroma = {p.id for p in store.search(vector, len(chunk_articles), filters.where())}
        bm25 = {chunk_id for chunk_id, _ in store.lexical.search(WORD, len(chunk_articles), where=filters.sql())}
        post = {p.id for p in everything if filters.admits(p)}
        side = store.lexical.nearest(vector, len(chunk_articles), where=filters.sql())
        assert chroma == want, f"Chroma with {filters}"
        assert bm25 == want, f"BM25 with {filters}"
        assert {chunk_id for chunk_id, _ in side} == want, f"the side index's vectors with {filters}"
        if (span := filters.date_span()) is not None:  # the dates alone: the rows are found in memory
            in_memory = store.lexical.nearest(vector, len(chunk_articles), where=filters.sql(), dates=span)
            assert in_memory == side, f"the in-memory dates with {filters}"
        # Several conditions share one pass over the postings and get what each search alone gets.
        other = random_filters(rng, [a.source for a in articles])
        assert store.lexical.search_each(WORD, 7, [filters.sql(), ("", ()), other.sql()]) == [
            store.lexical.search(WORD, 7, where=filters.sql()),
            store.lexical.search(WORD, 7),
            store.lexical.search(WORD, 7, where=other.sql()),
        ]
        assert post == want, f"post-filter with {filters}"
        admitted_some += 0 < len(want) < len(chunk_articles)
    assert admitted_some > 50, "the random filters exercised partial matches, not only all or nothing"


def test_the_date_span_is_what_the_date_conditions_admit_and_only_for_dates_alone():
    assert Filters().date_span() is None
    assert Filters(date_from="2024-02-01").date_span() == (20240201, 99991231)
    assert Filters(date_to="2024-02-01").date_span() == (1, 20240201), "an undated chunk is before no date"
    assert Filters(date_from="2023-01-01", date_to="2023-12-31").date_span() == (20230101, 20231231)
    assert Filters(date_from="2023-01-01", outlets=("Trend",)).date_span() is None


def test_dense_search_inside_a_filter_ranks_as_chroma_does(filter_index):
    """The side index's exact scores agree with Chroma's filtered search, order and cosine."""
    _, store, embeddings, articles, chunk_articles = filter_index
    rng = random.Random(11)
    for query in (WORD, "rare earth metals", "trade turnover"):
        vector = embeddings.embed_query(query)
        for _ in range(30):
            filters = random_filters(rng, [a.source for a in articles])
            chroma = [(p.id, p.score) for p in store.search(vector, 5, filters.where())]
            side = store.lexical.nearest(vector, 5, where=filters.sql())
            assert [i for i, _ in side] == [i for i, _ in chroma], f"{query!r} with {filters}"
            assert all(abs(a[1] - b[1]) < 1e-3 for a, b in zip(side, chroma, strict=True))


def test_retrieval_in_every_mode_returns_only_what_the_filters_admit(filter_index):
    _, store, embeddings, articles, chunk_articles = filter_index
    rng = random.Random(7)
    for _ in range(40):
        filters = random_filters(rng, [a.source for a in articles])
        want = {chunk_id for chunk_id, article in chunk_articles.items() if expected(filters, article)}
        for mode in ("dense", "bm25", "hybrid"):
            retriever = Retriever(store, embeddings, store.lexical, None, mode=mode, max_per_article=len(want) + 1)
            found = {p.id for p in retriever.retrieve(WORD, k=len(chunk_articles), filters=filters)}
            assert found == want, f"{mode} retrieval with {filters}"


def test_a_side_index_without_outlets_is_rebuilt_on_open(tmp_path):
    articles = make_articles(random.Random(3), count=8)
    embeddings = DeterministicFakeEmbedding(size=16)
    settings = Settings(index_dir=tmp_path / "index")
    store = open_store(settings, embeddings, "fake-16")
    chunks = [chunk for article in articles for chunk in chunk_article(article)]
    store.add_chunks(chunks, embeddings.embed_documents([c.embedded_text for c in chunks]))
    store.lexical.close()
    with sqlite3.connect(side_index_path(settings)) as db:  # the layout before outlets were indexed
        db.execute("ALTER TABLE chunk_meta DROP COLUMN outlet")
    reopened = open_store(settings, embeddings, "fake-16")
    assert reopened.lexical.count() == reopened.count() == len(chunks)
    hits = reopened.lexical.search(WORD, len(chunks), where=Filters(outlets=("Trend",)).sql())
    found = {chunk_id for chunk_id, _ in hits}
    assert found == {c.id for c in chunks if c.article.outlet == "Trend"} != set()
