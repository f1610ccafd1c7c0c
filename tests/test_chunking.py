"""Sentence splitting and chunking: passages are whole sentences and real slices of the article."""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path

from qa.chunking import chunk_article, chunk_id, split_sentences
from qa.loaders import iter_articles
from qa.types import Article

SEED_ARTICLES = Path(__file__).resolve().parent.parent / "articles"


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def seed_articles(tmp_path: Path) -> list[Article]:
    shutil.copytree(SEED_ARTICLES, tmp_path / "articles")
    return [r for r in iter_articles([tmp_path / "articles"]) if isinstance(r, Article)]


def test_numbers_and_abbreviations_stay_inside_sentences():
    text = (
        "Trade reached $40.2 billion, up 1.46 percent. Mr. Smith met U.S. officials on Jan. 5 with J. Smith "
        "of Acme Inc. in St. Petersburg. It was No. 1, e.g. the best. He said no. Then he left."
    )
    assert sentences(text) == [
        "Trade reached $40.2 billion, up 1.46 percent.",
        "Mr. Smith met U.S. officials on Jan. 5 with J. Smith of Acme Inc. in St. Petersburg.",
        "It was No. 1, e.g. the best.",
        "He said no.",
        "Then he left.",
    ]


def test_closing_quotes_belong_to_their_sentence_and_paragraphs_end_sentences():
    text = (
        '«We are ready.» Tileuberdi said. "Work is underway," he said.\n\nA heading without a stop\n\nNext paragraph.'
    )
    assert sentences(text) == [
        "«We are ready.»",
        "Tileuberdi said.",
        '"Work is underway," he said.',
        "A heading without a stop",
        "Next paragraph.",
    ]


def test_chunks_are_slices_of_the_article_text(tmp_path):
    for article in seed_articles(tmp_path):
        chunks = chunk_article(article, chunk_chars=300)
        assert len(chunks) > 1
        assert [c.index for c in chunks] == list(range(len(chunks)))
        for chunk in chunks:
            assert article.text[chunk.start : chunk.start + len(chunk.text)] == chunk.text
            assert len(chunk.text) <= 300
            assert chunk.id == chunk_id(article.source, chunk.index, chunk.text)


def test_every_sentence_lands_in_some_chunk(tmp_path):
    article = seed_articles(tmp_path)[1]
    chunks = chunk_article(article, chunk_chars=250, overlap=0)
    joined = " ".join(c.text for c in chunks)
    for sentence in sentences(article.text):
        assert sentence in joined
    assert "$40.2 billion" in joined


def test_chunk_ids_are_stable_and_follow_the_text(tmp_path):
    first_run = [c.id for a in seed_articles(tmp_path / "one") for c in chunk_article(a)]
    second_run = [c.id for a in seed_articles(tmp_path / "two") for c in chunk_article(a)]
    assert first_run == second_run and len(set(first_run)) == len(first_run)
    article = Article(source="a.txt", text="Prices rose. Markets fell.")
    edited = Article(source="a.txt", text="Prices rose sharply. Markets fell.")
    assert chunk_article(article)[0].id != chunk_article(edited)[0].id
    assert len(chunk_id("a.txt", 0, "x")) == 32


def test_overlap_repeats_the_last_sentence_of_the_previous_chunk():
    text = " ".join(f"Sentence number {n} is here." for n in range(1, 13))
    chunks = chunk_article(Article(source="s.txt", text=text), chunk_chars=100, overlap=1)
    assert len(chunks) > 2
    for previous, following in pairwise(chunks):
        last_sentence = sentences(previous.text)[-1]
        assert following.text.startswith(last_sentence)
    assert chunks[-1].text.endswith("Sentence number 12 is here.")


def test_chunks_prefer_to_end_at_a_paragraph():
    text = "First paragraph has one sentence here.\n\nSecond paragraph sentence one. Sentence two."
    chunks = chunk_article(Article(source="p.txt", text=text), chunk_chars=70, overlap=0)
    assert chunks[0].text == "First paragraph has one sentence here."


def test_a_sentence_longer_than_a_chunk_is_cut_at_word_boundaries():
    long_sentence = " ".join(["word"] * 100) + "."
    text = "Short start. " + long_sentence + " Short end."
    chunks = chunk_article(Article(source="l.txt", text=text), chunk_chars=60)
    assert all(len(c.text) <= 60 for c in chunks)
    assert all(not c.text.startswith("ord") and not c.text.endswith("wor") for c in chunks)
    assert chunks[-1].text.endswith("Short end.")


def test_empty_article_has_no_chunks():
    assert chunk_article(Article(source="e.txt", text="")) == []
