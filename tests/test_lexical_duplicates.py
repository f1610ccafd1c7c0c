"""The BM25 side index and near-duplicate detection, on real article text."""

from __future__ import annotations

import qa.lexical
from conftest import ARTICLES, CORPUS, KAZINFORM, TREND
from qa.chunking import chunk_article
from qa.duplicates import DuplicateIndex, Member, minhash, preferred_copy, similarity
from qa.lexical import LexicalIndex, match_query, query_words
from qa.loaders import parse_text_article
from qa.retrieval import Filters


def seed(name: str):
    return parse_text_article((ARTICLES / name).read_text(encoding="utf-8"), f"articles/{name}")


def test_match_query_quotes_content_words():
    words = query_words('What did "Kazakhstan" offer OR NEAR the EU?')
    assert match_query(words) == '"kazakhstan" OR "offer" OR "near" OR "eu"'
    assert match_query(query_words("?!")) == ""


def test_words_in_too_many_passages_are_left_out_of_the_query_unless_too_few_remain(tmp_path, monkeypatch):
    index = LexicalIndex(tmp_path / "search.sqlite3")
    index.add(chunk_article(seed(KAZINFORM)) + chunk_article(seed(TREND)))
    monkeypatch.setattr(qa.lexical, "COMMON_WORD_PASSAGES", 1)  # any word in two passages is "common" here
    counts = index._passage_counts(["kazakhstan", "earths", "jankauskas", "zebra"])
    assert counts["kazakhstan"] > 1 and counts["earths"] >= 1 and counts["zebra"] == 0, counts
    # Stemmed as indexed: "earths" counts the passages holding "earth".
    assert counts["earths"] == index._passage_counts(["earth"])["earth"]
    query = index._pruned_query("Kazakhstan Jankauskas zebra rare earths trade")
    kept = set(query.replace('"', "").split(" OR "))
    assert "zebra" in kept, "a word no passage holds costs nothing and stays for a later ingest"
    assert len(kept) >= qa.lexical.MIN_QUERY_WORDS
    assert "kazakhstan" not in kept, "the commonest word goes first"
    assert index.search("Kazakhstan Jankauskas zebra rare earths trade", k=1), "the pruned query still finds passages"


def test_bm25_finds_exact_figures_and_names_and_follows_updates(tmp_path):
    index = LexicalIndex(tmp_path / "search.sqlite3")
    kazinform, trend = seed(KAZINFORM), seed(TREND)
    index.add(chunk_article(kazinform) + chunk_article(trend))
    assert index.count() == len(chunk_article(kazinform)) + len(chunk_article(trend))
    best_id, _ = index.search("Jankauskas", k=1)[0]
    assert best_id in {c.id for c in chunk_article(trend)}
    assert index.search("rare earths", k=5), "the porter stemmer matches earth/earths"
    after_2023 = Filters(date_from="2024-01-01").sql()
    assert index.search("Borrell", k=5, where=after_2023) == [], "the Kazinform article is from 2022"
    assert index.search("Borrell", k=5, where=Filters(sources=(trend.source,)).sql()) == []
    index.delete_sources([kazinform.source])
    assert index.search("Borrell", k=5) == []
    index.add(chunk_article(kazinform))
    index.add(chunk_article(kazinform))  # the same chunks again change nothing
    assert index.count() == len(chunk_article(kazinform)) + len(chunk_article(trend))


def test_minhash_separates_copies_from_different_articles():
    kazinform, trend = seed(KAZINFORM), seed(TREND)
    edited = kazinform.text.replace("Photo: gov.kz", "Photo: Kazinform archive")
    assert similarity(minhash(kazinform.text), minhash(edited)) >= 0.8
    assert similarity(minhash(kazinform.text), minhash(trend.text)) < 0.2


def test_duplicate_groups_and_the_preferred_copy(tmp_path):
    index = DuplicateIndex(tmp_path / "search.sqlite3")
    text = seed(KAZINFORM).text
    assert index.add("a/original.txt", text, 20221118) == []
    assert index.add("b/copy.txt", text + "\n\nRepublished with permission.", 20221120) == ["a/original.txt"]
    assert index.add("c/other.txt", seed(TREND).text, 20240215) == []
    group = index.group_of("b/copy.txt")
    assert {m.source for m in group} == {"a/original.txt", "b/copy.txt"}
    assert preferred_copy(group).source == "a/original.txt"
    index.remove(["a/original.txt"])
    assert [m.source for m in index.group_of("b/copy.txt")] == ["b/copy.txt"]
    assert preferred_copy([Member("x", 0, 900), Member("y", 20200101, 10)]).source == "y"


def test_bbc_wire_duplicates_are_found():
    tech = CORPUS / "bbc" / "tech"
    if not tech.exists():
        import pytest

        pytest.skip("BBC corpus not in ../shared/corpus")
    one, two = (tech / "040.txt").read_text(encoding="utf-8"), (tech / "332.txt").read_text(encoding="utf-8")
    assert similarity(minhash(one), minhash(two)) >= 0.8
