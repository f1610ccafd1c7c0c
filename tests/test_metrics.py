"""Hand-checked cases for every metric in qa.metrics."""

from dataclasses import replace

import pytest

from qa import metrics
from qa.text import contains_phrase, normalize_text
from qa.types import Answer, Citation, Passage

KAZINFORM = "articles/000_7a094f6f779c30f4.txt"
TREND = "articles/002_40a8f02fd4e3abf6.txt"


def passage(source: str, text: str = "") -> Passage:
    return Passage(id=f"{source}#{text[:8]}", source=source, text=text)


def citation(number: int, source: str, text: str = "") -> Citation:
    return Citation(number=number, source=source, title="", date="", text=text, score=0.5)


def fake_embed(texts):
    """Every text the same unit vector: closeness then rests on the figures, names and words alone."""
    return [[1.0, 0.0] for _ in texts]


# --- normalisation and matching ---------------------------------------------


def test_normalize_drops_case_punctuation_and_articles():
    assert (
        normalize_text("The  EU's «High Representative», Josep Borrell!")
        == "eu s high representative josep borrell"
    )


def test_normalize_keeps_decimal_points_and_drops_sentence_full_stops():
    assert normalize_text("It was $40.2 billion.") == "it was 40.2 billion"


def test_thousands_separators_match_both_ways():
    assert contains_phrase("Sales reached 1,000 units", "1000")
    assert contains_phrase("Sales reached 1000 units", "1,000")
    assert contains_phrase("a 1,000,000 fine", "1000000")


def test_decimal_does_not_match_its_integer_part():
    assert not contains_phrase("turnover of $40.2 billion", "40")
    assert not contains_phrase("turnover of $40.2 billion", "40 billion")
    assert contains_phrase("turnover of $40.2 billion", "40.2 billion")


def test_alias_must_match_whole_tokens():
    assert not contains_phrase("Borrellian diplomacy", "Borrell")
    assert contains_phrase("Mr Borrell, the EU's envoy", "borrell")


def test_source_suffix_matches_at_a_path_boundary_only():
    assert metrics.source_matches(KAZINFORM, "000_7a094f6f779c30f4.txt")
    assert metrics.source_matches("bbc/tech/001.txt", "tech/001.txt")
    assert metrics.source_matches("bbc\\tech\\001.txt", "bbc/tech/001.txt")
    assert not metrics.source_matches("bbc/tech/001.txt", "01.txt")


# --- retrieval -----------------------------------------------------------------


def test_hit_at_k_counts_articles_not_passages():
    # Three passages of one article must not push the gold article out of the top 2 articles.
    passages = [passage("a.txt"), passage("a.txt"), passage("a.txt"), passage("gold.txt")]
    retrieved = metrics.ranked_sources(passages)
    assert retrieved == ["a.txt", "gold.txt"]
    assert metrics.hit_at_k(retrieved, ["gold.txt"], 2) == 1.0
    assert metrics.hit_at_k(retrieved, ["gold.txt"], 1) == 0.0
    assert metrics.hit_at_k(["a.txt", "a.txt", "gold.txt"], ["gold.txt"], 2) == 1.0


def test_mrr_is_reciprocal_rank_of_first_gold_article():
    assert metrics.mrr(["a", "a", "b", "x/gold.txt"], ["gold.txt"]) == pytest.approx(1 / 3)
    assert metrics.mrr(["x/gold.txt"], ["gold.txt"]) == 1.0
    assert metrics.mrr(["a", "b"], ["gold.txt"]) == 0.0
    assert metrics.mrr([f"s{i}" for i in range(10)] + ["gold.txt"], ["gold.txt"]) == 0.0  # beyond the cutoff


def test_retrieval_metrics_undefined_without_gold_sources():
    assert metrics.hit_at_k(["a"], [], 4) is None
    assert metrics.mrr(["a"], []) is None


# --- answer text -----------------------------------------------------------------


def test_answer_accuracy():
    assert metrics.answer_accuracy("The EU delegation was headed by Josep Borrell [1].", ["Borrell"]) == 1.0
    assert metrics.answer_accuracy("It was headed by the EU ambassador.", ["Borrell"]) == 0.0
    assert metrics.answer_accuracy("Trade was $40.2bn.", ["40.2 billion", "40.2bn"]) == 1.0


def test_lead_accuracy_reads_only_the_first_sentence():
    wrong_lead = "Scorsese [1]. “Eastwood took best director while Scorsese's film won best picture” (BBC) [1]."
    assert metrics.answer_accuracy(wrong_lead, ["Eastwood"]) == 1.0
    assert metrics.lead_accuracy(Answer("q", wrong_lead, False), ["Eastwood"]) == 0.0
    assert metrics.lead_accuracy(Answer("q", "Eastwood [1]. “Scorsese lost” [1].", False), ["Eastwood"]) == 1.0
    # An abstention naming the asked-about thing is not an answer.
    assert metrics.lead_accuracy(Answer("q", "The articles found never mention Eastwood.", True), ["Eastwood"]) == 0.0
    assert metrics.lead_accuracy(Answer("q", "", False), ["Eastwood"]) == 0.0


def test_token_f1_is_squad_style_and_best_over_aliases():
    # prediction "josep borrell headed it" vs "josep borrell": precision 2/4, recall 1 -> 2/3
    assert metrics.token_f1("Josep Borrell headed it", ["Josep Borrell", "Borrell"]) == pytest.approx(2 / 3)
    assert metrics.token_f1("Borrell", ["Josep Borrell", "Borrell"]) == 1.0
    assert metrics.token_f1("nobody", ["Borrell"]) == 0.0
    assert metrics.token_f1("1,000 units", ["1000 units"]) == 1.0


def test_semantic_similarity_uses_the_injected_embedder():
    vectors = {"answer": [1.0, 0.0], "reference": [1.0, 1.0]}
    embed = lambda texts: [vectors[t] for t in texts]  # noqa: E731
    assert metrics.semantic_similarity("answer", "reference", embed) == pytest.approx(2**-0.5)
    assert metrics.semantic_similarity("answer", "", embed) is None
    assert metrics.semantic_similarity("answer", "reference", None) is None


# --- citations ----------------------------------------------------------------------


def test_citation_markers_include_grouped_markers():
    assert metrics.citation_markers("A [1]. B [2, 3]. C[4][1].") == [1, 2, 3, 4, 1]


def test_citation_validity():
    cited = [citation(1, KAZINFORM)]
    assert metrics.citation_validity(Answer("q", "Borrell [1].", False, cited)) == 1.0
    assert metrics.citation_validity(Answer("q", "Borrell [1] [2].", False, cited)) == 0.0
    assert metrics.citation_validity(Answer("q", "The articles do not say.", True)) == 1.0
    assert metrics.citation_validity(Answer("q", "Borrell, uncited.", False)) == 1.0


def test_citation_precision_and_recall():
    cited = [citation(1, KAZINFORM), citation(2, KAZINFORM), citation(3, "other.txt")]
    gold = ["000_7a094f6f779c30f4.txt", "002_40a8f02fd4e3abf6.txt"]
    # distinct cited sources: KAZINFORM (gold), other.txt -> 1/2; gold cited: 1 of 2 -> 1/2
    assert metrics.citation_precision(cited, gold) == 0.5
    assert metrics.citation_recall(cited, gold) == 0.5
    assert metrics.citation_recall(cited + [citation(4, TREND)], gold) == 1.0
    assert metrics.citation_precision([], gold) is None
    assert metrics.citation_recall([], gold) == 0.0


def test_citing_a_copy_of_the_gold_article_is_citing_it():
    copy = replace(citation(1, "bbc/business/7.txt"), also_reported_by=("bbc/business/9.txt",))
    assert metrics.citation_precision([copy], ["business/9.txt"]) == 1.0
    assert metrics.citation_recall([copy], ["business/9.txt"]) == 1.0
    # a copy listed for another citation does not make an unrelated article gold
    assert metrics.citation_precision([copy, citation(2, "bbc/sport/1.txt")], ["business/9.txt"]) == 0.5


def test_answer_supported_looks_in_cited_passage_text():
    cited = [citation(1, KAZINFORM, "The EU delegation was headed by Josep Borrell.")]
    assert metrics.answer_supported(cited, ["Borrell"]) == 1.0
    assert metrics.answer_supported(cited, ["Jankauskas"]) == 0.0
    assert metrics.answer_supported([], ["Borrell"]) == 0.0


# --- abstention and summaries --------------------------------------------------------


def test_abstention_accuracy():
    assert metrics.abstention_accuracy(abstained=True, answerable=False) == 1.0
    assert metrics.abstention_accuracy(abstained=False, answerable=True) == 1.0
    assert metrics.abstention_accuracy(abstained=True, answerable=True) == 0.0
    assert metrics.abstention_accuracy(abstained=False, answerable=False) == 0.0


def test_percentile_matches_linear_interpolation():
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert metrics.percentile([7], 95) == 7


def test_bootstrap_interval_is_reproducible_and_contains_the_mean():
    values = [1.0] * 7 + [0.0] * 3
    low, high = metrics.bootstrap_interval(values, seed=0)
    assert (low, high) == metrics.bootstrap_interval(values, seed=0)
    assert 0.0 <= low < 0.7 < high <= 1.0
    assert metrics.bootstrap_interval([1.0, 1.0, 1.0]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        metrics.bootstrap_interval([])


# --- grounding ----------------------------------------------------------------


TURNOVER = "Trade turnover amounted to $40.2 billion, up 1.46 percent."


def test_unsupported_number_rate_flags_a_figure_in_no_cited_passage():
    cited = [citation(1, TREND, TURNOVER)]
    assert metrics.unsupported_number_rate(Answer("q", "Turnover was $40.2bn, up 1.46% [1].", False, cited)) == 0.0
    assert metrics.unsupported_number_rate(Answer("q", "Turnover was $41bn [1].", False, cited)) == 1.0
    assert metrics.unsupported_number_rate(Answer("q", "It was $40.2bn.", False, [])) == 1.0
    assert metrics.unsupported_number_rate(Answer("q", "The articles do not say.", True)) is None


def test_unsupported_sentence_rate_is_the_share_of_flagged_sentences():
    cited = [citation(1, TREND, TURNOVER)]
    text = "Trade turnover amounted to $40.2 billion [1]. Trade turnover amounted to $9 billion [1]."
    assert metrics.unsupported_sentence_rate(Answer("q", text, False, cited), fake_embed) == 0.5
    uncited = "Trade turnover amounted to $40.2 billion."
    assert metrics.unsupported_sentence_rate(Answer("q", uncited, False, cited), fake_embed) == 1.0
    assert metrics.unsupported_sentence_rate(Answer("q", "x", True), fake_embed) is None
