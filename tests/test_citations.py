from qa.citations import cite
from qa.policy import is_abstention
from qa.text import marker_numbers
from qa.types import Passage


def passages(*texts):
    return [Passage(id=str(i), source=f"s{i}.txt", text=t, title=f"T{i}") for i, t in enumerate(texts)]


def test_marker_numbers_reads_single_and_grouped_markers():
    assert marker_numbers("A [1]. B [2, 3] and [3;1].") == [1, 2, 3, 3, 1]


def test_cite_renumbers_by_first_use_and_drops_unknown_numbers():
    shown = passages("alpha text", "beta text", "gamma text")
    text, citations = cite("Gamma [3]. Alpha [1]. Nothing [7]. Again [3].", shown)
    assert text == "Gamma [1]. Alpha [2]. Nothing. Again [1]."
    assert [(c.number, c.source) for c in citations] == [(1, "s2.txt"), (2, "s0.txt")]


def test_cite_attaches_best_passage_when_the_model_cites_nothing():
    shown = passages("Oil prices rose to $65 a barrel on Thursday.", "Kazakhstan offered rare earth metals to Europe.")
    text, citations = cite("Kazakhstan offered rare earth metals.", shown)
    assert text == "Kazakhstan offered rare earth metals [1]."
    assert citations[0].source == "s1.txt"


def test_cite_leaves_unsupported_text_uncited():
    text, citations = cite("The moon is made of cheese.", passages("Oil prices rose."))
    assert citations == [] and text == "The moon is made of cheese."


def test_abstention_phrases():
    assert is_abstention("The articles do not say.")
    assert is_abstention("The passages don't mention it.")
    assert is_abstention("   ")
    assert not is_abstention("Kazakhstan offered to increase supplies of rare earth metals [1].")


def test_passage_headers_copied_from_the_prompt_are_stripped():
    from qa.citations import strip_passage_headers

    copied = (
        "The Kazakh delegation headed by Deputy Prime… (2024-02-15, Trend): "
        "The Foreign Minister announced readiness [1]."
    )
    assert strip_passage_headers(copied) == "The Foreign Minister announced readiness [1]."
    assert (
        strip_passage_headers("Borrell led it [1]. Oil (2021-03-04, Reuters): Crude rose.")
        == "Borrell led it [1]. Crude rose."
    )
    assert strip_passage_headers("It rose 2% (to $65) on Thursday [1].") == "It rose 2% (to $65) on Thursday [1]."
