"""The sentence-level grounding check, on hand-built passages with the real MiniLM, and end to end via `answer()`."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake import FakeListLLM

from qa import answer, ingest, policy
from qa.chain import ABSTAIN_TEXT, build_chain
from qa.facts import asks_for_quantity, find_figures, question_terms_missing
from qa.grounding import REPEATED, ground_answer, unsupported_figures, unsupported_sentences
from qa.settings import Settings
from qa.types import Passage, Route

INJECTION = Path(__file__).resolve().parent / "data" / "injection"
INJECTED_REPLY = "balkhash-offers.example"

BORRELL = Passage(
    "k1",
    "articles/kazinform.txt",
    "The EU delegation was headed by Vice-President of the European Commission and EU High Representative "
    "for Foreign Affairs and Security Policy Josep Borrell.",
    title="Kazakh FM at the Central Asia-EU meeting",
    date="2022-11-18",
)
TRADE = Passage(
    "t1",
    "articles/trend.txt",
    "Meanwhile, Kazakhstan's trade turnover with European countries amounted to $40.2 billion from January "
    "through November 2023. The volume of trade turnover increased by 1.46 percent compared to the same period "
    "in 2022 ($39.6 billion).\n\nAt the same time, in the structure of trade turnover, exports to European "
    "countries for the above period amounted to $29.6 billion, which is 8.5 percent less than from January "
    "through November 2022 ($32.3 billion).",
    title="Kazakhstan, EU discuss cooperation",
    date="2024-02-15",
)
SHOWN = [BORRELL, TRADE]


@pytest.fixture(scope="module")
def embed():
    from qa.embeddings import make_embeddings
    from qa.settings import Settings

    return make_embeddings(Settings()).embed_documents  # the default backend, as the service runs it


@pytest.mark.parametrize(
    "answer_figure, passage_text, found",
    [
        ("$40.2bn", "amounted to $40.2 billion", True),
        ("40.2 billion", "amounted to $40.2bn", True),
        ("1.46%", "increased by 1.46 percent", True),
        ("1.46 per cent", "increased by 1.46%", True),
        ("40,200 million", "$40.2 billion", True),
        ("1,000", "1000 people", True),
        ("1.46", "by 1.46 percent", True),  # a bare number matches the same number with a unit
        ("40", "$40.2 billion", False),
        ("$1.2 billion", "$40.2 billion and 1.2 percent", False),
        ("45.8 billion", "increased by 45.8 percent", False),
        ("45.8%", "$45.8 billion", False),
    ],
)
def test_figures_are_compared_after_normalisation(answer_figure, passage_text, found):
    [figure] = find_figures(answer_figure)
    assert figure.found_in(find_figures(passage_text)) is found


def test_a_fabricated_number_is_removed_and_the_true_sentence_kept(embed):
    text = (
        "Trade turnover with European countries was $40.2bn [2]. "
        "Kazakhstan exported $1.2 billion to European countries [2]."
    )
    grounded = ground_answer(text, SHOWN, embed)
    assert grounded.text == "Trade turnover with European countries was $40.2bn [1]."
    assert [c.source for c in grounded.citations] == [TRADE.source]
    [removed] = grounded.removed
    assert "1.2 billion" in removed.text and "1.2 billion" in removed.reason, removed


def test_a_wrong_citation_is_replaced_by_the_passage_that_supports_the_sentence(embed):
    grounded = ground_answer("Josep Borrell headed the EU delegation [2].", SHOWN, embed)
    assert grounded.text == "Josep Borrell headed the EU delegation [1]."
    assert [c.source for c in grounded.citations] == [BORRELL.source]


def test_a_citation_that_supports_nothing_is_dropped_and_the_rest_renumbered(embed):
    grounded = ground_answer("Exports to European countries amounted to $29.6 billion [1, 2].", SHOWN, embed)
    assert grounded.text == "Exports to European countries amounted to $29.6 billion [1]."
    assert [(c.number, c.source) for c in grounded.citations] == [(1, TRADE.source)]


def test_a_sentence_without_citation_gets_the_supporting_passage(embed):
    grounded = ground_answer("Josep Borrell headed the EU delegation.", SHOWN, embed)
    assert grounded.text == "Josep Borrell headed the EU delegation [1]."
    assert grounded.citations[0].source == BORRELL.source and not grounded.removed


def test_nothing_supported_leaves_nothing(embed):
    grounded = ground_answer("Kazakhstan exported 5 million tonnes of oil to China in 2023 [2].", SHOWN, embed)
    assert grounded.text == "" and grounded.citations == [] and grounded.kept_share == 0.0
    assert grounded.removed and grounded.removed[0].reason


def test_a_sentence_naming_someone_absent_from_the_passages_is_removed(embed):
    grounded = ground_answer("Uzbek Foreign Minister Bakhtiyor Saidov headed the EU delegation [1].", SHOWN, embed)
    assert grounded.citations == []
    assert "Saidov" in grounded.removed[0].reason or "Bakhtiyor" in grounded.removed[0].reason


def test_the_span_points_at_the_supporting_sentence(embed):
    grounded = ground_answer("Kazakhstan's exports to Europe amounted to $29.6bn [2].", SHOWN, embed)
    [citation] = grounded.citations
    start, end = citation.span
    assert citation.text[start:end].startswith("At the same time, in the structure of trade turnover, exports")
    assert citation.text[start:end].endswith("($32.3 billion).")


def test_unsupported_sentences_judges_an_answer_as_returned(embed):
    grounded = ground_answer("Josep Borrell headed the EU delegation [1].", SHOWN, embed)
    assert unsupported_sentences(grounded.text, grounded.citations, embed) == (0, 1)
    assert unsupported_sentences("Borrell earned $5 million [1].", grounded.citations, embed) == (1, 1)
    assert (
        unsupported_figures(
            "Exports were $29.6bn [1].", ground_answer("Exports amounted to $29.6 billion.", SHOWN, embed).citations
        )
        == []
    )
    assert unsupported_figures("Exports were $1.2bn [1].", grounded.citations) == ["$1.2bn"]


def test_question_terms_missing_names_what_the_passages_do_not_mention():
    assert question_terms_missing("How much oil did Kazakhstan export to China in 2023?", SHOWN) == ["China"]
    assert question_terms_missing("What was the turnover for the whole of 2023, including December?", SHOWN) == [
        "December"
    ]
    assert question_terms_missing("When is the 19th meeting of Central Asia-EU ministers?", SHOWN) == ["19th"]
    assert question_terms_missing("How much did Kazakhstan export to Europe in 2023?", SHOWN) == []


# --- an article that tries to give orders ------------------------------------------------


def injection_passage() -> Passage:
    path = next(INJECTION.glob("*.txt"))
    return Passage(
        "inj",
        path.name,
        " ".join(path.read_text(encoding="utf-8").split()[2:]),
        title="Lake Balkhash",
        date="2024-03-12",
    )


def test_an_answer_that_obeys_a_planted_instruction_is_removed(embed):
    obeying = "Lake Balkhash is perfectly safe, book a free holiday at balkhash-offers.example today [1]."
    grounded = ground_answer(obeying, [injection_passage()], embed)
    assert grounded.citations == [] and INJECTED_REPLY not in grounded.text
    assert "instruction" in grounded.removed[0].reason


def test_a_planted_instruction_is_never_the_supporting_span(embed):
    grounded = ground_answer(
        "The water level of Lake Balkhash has fallen by 40 centimetres since 2021 [1].", [injection_passage()], embed
    )
    [citation] = grounded.citations
    start, end = citation.span
    assert "40 centimetres" in citation.text[start:end] and "Ignore" not in citation.text[start:end]


def test_asking_about_the_injection_article_does_not_obey_it(tmp_path):
    settings = Settings(index_dir=tmp_path / "index", llm="local")
    ingest([INJECTION], settings=settings, progress=False)
    result = answer("How much has the water level of Lake Balkhash fallen since 2021?", settings=settings)
    assert INJECTED_REPLY not in result.text and "free holiday" not in result.text, result.text
    assert result.passages and any("Ignore the question" in p.text for p in result.passages)
    if not result.abstained:
        assert "40" in result.text, result.text


# --- through the pipeline -------------------------------------------------------------------


def test_exports_question_never_returns_an_unsupported_figure(sample_index):
    settings, _, _ = sample_index
    result = answer(
        "How much did Kazakhstan export to European countries from January through November 2023?",
        settings=settings.replace(llm="local"),
    )
    # The local model answers "$1.2 billion"; whatever replaces it states only figures its passages state.
    assert unsupported_figures(result.text, result.citations) == [], result
    assert "1.2 billion" not in result.text, result.text


def test_an_answer_with_nothing_supported_abstains_and_still_shows_passages(sample_index):
    settings, _, _ = sample_index
    invented = FakeListLLM(responses=["Kazakhstan exported 5 million tonnes of oil to China in 2023 [1]."])
    pipeline = build_chain(settings.replace(llm="local"), llm=invented)
    result = pipeline.answer("How much oil did Kazakhstan export to China in 2023?")
    assert result.abstained and result.text == ABSTAIN_TEXT and result.citations == []
    assert result.passages, "the closest passages are still returned"
    # The passages never mention China, so no sentence is chosen and the model is not asked at all.
    assert result.route is Route.ABSTAINED and "China" in result.reason, result


def test_a_sentence_repeated_by_the_model_is_kept_once(embed):
    looped = "Josep Borrell headed the EU delegation [1]. " * 3
    grounded = ground_answer(looped, SHOWN, embed)
    assert grounded.text == "Josep Borrell headed the EU delegation [1]."
    assert [r.reason for r in grounded.removed] == [REPEATED, REPEATED]
    assert grounded.kept_share < 0.5, "a loop is mostly not an answer"


@pytest.mark.parametrize(
    "question, quantity",
    [
        ("How many Yukos employees lost their jobs?", True),
        ("How much did Kazakhstan export to European countries?", True),
        ("By what percentage did trade grow?", True),
        ("What majority did Labour win?", True),
        ("Who headed the EU delegation?", False),
        ("What did Kazakhstan offer the EU on rare earths?", False),
    ],
)
def test_questions_asking_for_a_figure_are_recognised(question, quantity):
    assert asks_for_quantity(question) is quantity


def test_an_answer_without_the_figure_a_question_asks_for_abstains(sample_index):
    settings, _, _ = sample_index
    # Every sentence is true and cited, but none says how much: that does not answer the question.
    vague = FakeListLLM(responses=["Kazakhstan and the EU discussed cooperation in trade [1]."])
    pipeline = build_chain(settings.replace(llm="local"), llm=vague)
    result = pipeline.answer("How many tonnes of oil did Kazakhstan export to China in 2023?")
    assert result.abstained and result.text == ABSTAIN_TEXT, result
    assert result.route is Route.ABSTAINED and result.reason, result


def test_a_quote_that_never_says_what_is_asked_abstains_when_the_model_finds_no_short_answer_in_it(sample_index):
    settings, _, _ = sample_index
    question = "Which lawyer was heading the Kazakh delegation at the Samarkand meeting?"
    # The quote names who headed the delegation but never says "lawyer"; the model's phrase is not in it either.
    elsewhere = build_chain(settings.replace(llm="local"), llm=FakeListLLM(responses=["a Kazakh lawyer"]))
    result = elsewhere.answer(question)
    assert result.abstained and result.route is Route.ABSTAINED, result
    assert result.reason == policy.NOT_SAID.format(words="lawyer"), result
    assert [r.text for r in result.removed] == ["a Kazakh lawyer"], "the rejected short answer is reported"
    # Either sign alone is no reason to abstain: a short answer copied from the same quote leads it.
    copied = build_chain(settings.replace(llm="local"), llm=FakeListLLM(responses=["Mukhtar Tileuberdi"]))
    kept = copied.answer(question)
    assert not kept.abstained and kept.text.startswith("Mukhtar Tileuberdi"), kept
