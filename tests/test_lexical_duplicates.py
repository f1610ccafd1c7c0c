"""The BM25 side index and near-duplicate detection, on real article text."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import qa.lexical
import qa.vectors
from conftest import ARTICLES, CORPUS, KAZINFORM, TREND
from qa.chunking import chunk_article
from qa.dates import date_number
from qa.duplicates import PERMUTATIONS, DuplicateIndex, Member, minhash, preferred_copy, similarity
from qa.lexical import LexicalIndex, match_query, query_words
from qa.loaders import parse_text_article
from qa.retrieval import Filters
from qa.sync import SyncState
from qa.vectors import VectorFile


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
    # Counted only as far as needed: past at_most, the count says "more" (at_most + 1) instead of how many.
    fresh = LexicalIndex(tmp_path / "search.sqlite3")
    assert fresh._passage_counts(["kazakhstan", "zebra"], at_most=1) == {"kazakhstan": 2, "zebra": 0}
    assert fresh._passage_counts(["kazakhstan"]) == {"kazakhstan": counts["kazakhstan"]}
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


def test_what_the_index_keeps_in_memory_follows_writes_here_and_in_another_process(tmp_path):
    path = tmp_path / "search.sqlite3"
    index, other = LexicalIndex(path), LexicalIndex(path)  # two connections stand for two processes
    kazinform, trend = seed(KAZINFORM), seed(TREND)
    vector = [1.0] + [0.0] * 383
    index.add(chunk_article(kazinform), [vector] * len(chunk_article(kazinform)))
    dated = (date_number(kazinform.date), date_number(kazinform.date))
    assert index.count() == len(chunk_article(kazinform)) and index.nearest(vector, 50, where=("", ()), dates=dated)
    assert index._passage_counts(["jankauskas"]) == {"jankauskas": 0}
    assert index.nearest(vector, 50, where=("", ()), dates=(date_number(trend.date),) * 2) == []
    other.add(chunk_article(trend), [vector] * len(chunk_article(trend)))
    assert index.count() == len(chunk_article(kazinform)) + len(chunk_article(trend))
    assert index._passage_counts(["jankauskas"])["jankauskas"] >= 1
    assert len(index.nearest(vector, 50, where=("", ()), dates=(date_number(trend.date),) * 2)) == len(
        chunk_article(trend)
    )
    index.delete_sources([trend.source])
    assert index.count() == len(chunk_article(kazinform))
    assert index._passage_counts(["jankauskas"]) == {"jankauskas": 0}
    assert index.nearest(vector, 50, where=("", ()), dates=(date_number(trend.date),) * 2) == []


def test_what_the_index_keeps_in_memory_outlives_writes_to_the_sync_state_in_the_same_file(tmp_path):
    # A serving process records each look at the manifest in the same file every few seconds; that is no
    # change to the passages, and rebuilding the date copy (461 ms at 550k passages) on each look is not free.
    path = tmp_path / "search.sqlite3"
    index, duplicates, state = LexicalIndex(path), DuplicateIndex(path), SyncState(path)
    kazinform = seed(KAZINFORM)
    index.add(chunk_article(kazinform), [[1.0] + [0.0] * 383] * len(chunk_article(kazinform)))
    duplicates.add(kazinform.source, kazinform.text, date_number(kazinform.date))
    day = date_number(kazinform.date)
    assert index.nearest([1.0] + [0.0] * 383, 5, where=("", ()), dates=(day, day)) and index.count()
    assert duplicates.group_of(kazinform.source)
    kept, groups = index._by_date, duplicates._groups
    state.looked(123.0)
    assert index.count() and index._by_date is kept, "the date copy was read again after a sync-state write"
    assert duplicates.group_of(kazinform.source) and duplicates._groups is groups
    index.delete_sources([kazinform.source])
    assert index.count() == 0 and index.nearest([1.0] + [0.0] * 383, 5, where=("", ()), dates=(day, day)) == []


WRITER = """
import sys
from pathlib import Path
from qa.chunking import chunk_article
from qa.lexical import LexicalIndex
from qa.loaders import parse_text_article
text = Path(sys.argv[2]).read_text(encoding="utf-8")
LexicalIndex(Path(sys.argv[1])).add(chunk_article(parse_text_article(text, sys.argv[3])))
"""


def test_writes_of_a_process_with_every_side_index_open_survive_other_processes_that_write_and_exit(tmp_path):
    # A store opens the BM25 index, then the duplicate signatures, on one file. Reading its header for the
    # second open once dropped the first connection's lock, so a process that wrote and exited took this one
    # for gone and deleted the WAL under it: this process's later writes were lost.
    path = tmp_path / "search.sqlite3"
    index, duplicates = LexicalIndex(path), DuplicateIndex(path)
    text = (ARTICLES / KAZINFORM).read_text(encoding="utf-8")
    expected = 0
    for round in range(3):
        here = chunk_article(parse_text_article(text, f"here/{round}.txt"))
        index.add(here)
        subprocess.run([sys.executable, "-c", WRITER, str(path), str(ARTICLES / KAZINFORM), f"there/{round}.txt"],
                       check=True)
        expected += 2 * len(here)
        assert index.count() == expected, f"round {round}: the other process's write is not seen here"
    duplicates.close()
    index.close()
    assert LexicalIndex(path).count() == expected


def test_vectors_in_runs_of_slots_score_as_the_same_rows_copied_together(tmp_path, monkeypatch):
    vectors = VectorFile(tmp_path / "v.vectors")
    rng = np.random.default_rng(3)
    vectors.write(list(range(600)), rng.normal(size=(600, 16)))
    query = list(rng.normal(size=16))
    runs = np.concatenate([np.arange(10, 300), np.arange(320, 599)])
    rng.shuffle(runs)
    scattered = rng.choice(600, size=60, replace=False)
    for slots in (runs, scattered, np.array([5])):
        in_place = vectors.nearest(query, slots, 40)
        monkeypatch.setattr(qa.vectors, "MIN_MEAN_RUN", 10**9)  # every slot copied
        copied = vectors.nearest(query, slots, 40)
        monkeypatch.undo()
        assert [i for i, _ in in_place] == [i for i, _ in copied]
        assert np.allclose([s for _, s in in_place], [s for _, s in copied], atol=1e-6)
    matrix = rng.normal(size=(50, 4)).astype("<f4")
    assert np.allclose(qa.vectors._products(matrix, np.arange(0, 50), np.ones(4, "<f4")), matrix.sum(axis=1), atol=1e-5)


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


# What a report written from a template says every time, so that the reports share most of their shingles.
TEMPLATE_TAIL = (
    "The figures are estimates based on data from refiners, importers, banks and pipeline companies, and they are "
    "revised each month when the full survey of the monthly returns has been compiled and checked. Holdings of the "
    "industry's own terminals and of independent operators are reported separately, in the monthly bulletin that "
    "the agency publishes on the second Tuesday of each month, together with notes on how the data were gathered, "
    "which sources were used, and how the estimates compare with those of the previous year and the year before. "
    "Readers who want the series from its start can ask the statistics office for the tables, which it sends free "
    "of charge to libraries, universities and newspapers, and for a small fee to anyone else who writes to it.")


def test_a_weekly_report_from_the_same_template_is_not_a_copy_of_last_weeks(tmp_path):
    index = DuplicateIndex(tmp_path / "search.sqlite3")
    week = ("Ruritanian oil demand as measured by products supplied rose {} pct in the four weeks ended March {} to "
            "16.39 mln barrels per day from 16.05 mln in the same period a year ago, the Energy Information "
            "Administration said. Gasoline demand averaged 6.9 mln bpd, distillate demand 3.1 mln bpd and residual "
            "fuel demand 1.3 mln bpd in the period, the agency said in its weekly report. " + TEMPLATE_TAIL)
    assert index.add("r#1", week.format("2.1", 6), 19870311) == []
    assert similarity(minhash(week.format("2.1", 6)), minhash(week.format("1.9", 13))) >= 0.8
    assert index.add("r#2", week.format("1.9", 13), 19870318) == [], "a week later is another report"
    assert index.add("r#3", week.format("1.9", 13) + " REUTER", 19870318) == ["r#2"], "a copy the same day"
    assert "r#1" in index.add("u#1", week.format("2.1", 6), 0), "an undated copy is still a copy"


DAILY = ("Ruritanian Treasury balances at the central bank rose on March {} to {} mln crowns from {} mln crowns "
         "the day before, the Treasury said in its daily statement. " + TEMPLATE_TAIL)


def test_a_daily_reports_template_is_no_copy_of_the_day_before_unless_its_figures_are(tmp_path):
    """Within `COPY_DAYS`, stories that share their words are copies only when one's figures are a part of the
    other's (a flash and its story, a story sent again)."""
    index = DuplicateIndex(tmp_path / "search.sqlite3")
    monday, tuesday = DAILY.format(4, "4151", "2727"), DAILY.format(5, "4467", "4151")
    assert similarity(minhash(monday), minhash(tuesday)) >= 0.8
    assert index.add("d#1", monday, 19870305) == []
    assert index.add("d#2", tuesday, 19870306) == [], "the next day's report from the template"
    assert index.add("d#3", monday + " REUTER", 19870306) == ["d#1"], "the day before's report sent again"
    assert index.add("d#4", DAILY.format(5, "4500", "4151"), 19870306) == [], "a figure changed: another report"
    assert index.add("d#5", DAILY.format(5, "4467", "4151") + " 4467", 19870306) == ["d#2"], "a copy of the day"
    assert {m.source for m in index.group_of("d#1")} == {"d#1", "d#3"}


def test_a_file_of_the_earlier_layout_is_outdated_and_a_new_or_cleared_one_is_not(tmp_path):
    import sqlite3

    path = tmp_path / "search.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""CREATE TABLE article_sig (source TEXT PRIMARY KEY, date_num INTEGER NOT NULL,
        length INTEGER NOT NULL, sig BLOB NOT NULL);
        CREATE TABLE article_band (band INTEGER NOT NULL, bucket INTEGER NOT NULL, source TEXT NOT NULL);""")
    old.execute("INSERT INTO article_sig VALUES ('d#1', 19870305, 10, ?)", (bytes(8 * PERMUTATIONS),))
    old.commit()
    old.close()
    index = DuplicateIndex(path)
    assert index.outdated()
    index.clear()
    assert not index.outdated() and index.count() == 0
    assert index.add("d#1", DAILY.format(4, "4151", "2727"), 19870305) == []
    assert not DuplicateIndex(tmp_path / "new.sqlite3").outdated()


def test_the_signatures_permutations_are_independent():
    """Stories sharing one phrase are no copies, whichever shingle hashes lowest: the earlier hash let the
    lowest-hashing shingle decide every permutation (a one-word change there gave 0.03 for a Jaccard of 0.82)."""
    words = [f"w{i}" for i in range(400)]
    base = " ".join(words[:60])
    for cut in range(0, 60, 6):
        changed = " ".join(words[:cut] + ["other"] + words[cut + 1 : 60])
        assert similarity(minhash(base), minhash(changed)) > 0.75
    unrelated = [" ".join(words[60 + 50 * k : 110 + 50 * k]) + " the company said in a statement" for k in range(6)]
    assert max(similarity(minhash(a), minhash(b)) for a in unrelated for b in unrelated if a != b) < 0.3


def test_bbc_wire_duplicates_are_found():
    tech = CORPUS / "bbc" / "tech"
    if not tech.exists():
        import pytest

        pytest.skip("BBC corpus not in ../shared/corpus")
    one, two = (tech / "040.txt").read_text(encoding="utf-8"), (tech / "332.txt").read_text(encoding="utf-8")
    assert similarity(minhash(one), minhash(two)) >= 0.8
