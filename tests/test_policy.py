"""The answer policy's rules on hand-built passages and sentences: what counts as offering the answer's kind, which
names a question may leave unmentioned, and which article may be quoted. No model is needed."""

from __future__ import annotations

from qa import policy
from qa.evidence import Candidate, Kind, offers_kind
from qa.types import Passage

VIOTTI = Passage("v1", "bbc/entertainment/1.txt", "Viotti won first prize at the Gino Marinuzzi competition in 1982.")
AIRBUS = Passage("a1", "news/airbus.txt", "The airline has ordered 30 Airbus A320 planes in a $1.8bn deal.")
ATR = Passage("t1", "news/atr.txt", "The airline also agreed to buy 36 planes from ATR, it said.")


def candidate(passage: int, text: str, score: float = 1.0, similarity: float = 0.7) -> Candidate:
    return Candidate(passage, (0, len(text)), text, similarity, 0.5, True, score)


MURRAY = Passage("m1", "bbc/sport/1.txt", "Andrew Murray will become Britain's youngest Davis Cup player on Saturday. "
                 "Murray will eclipse the record set by Roger Becker in 1952. Greg Rusedski plays the singles.")

BECKER = "Murray will eclipse the record set by Roger Becker in 1952."


def sentences_of(passage: Passage, overlaps: list[float], offers: list[bool], scores: list[float]) -> list[Candidate]:
    """The passage's sentences as ranked candidates (best first by score), with the features given."""
    found, start = [], 0
    for text, overlap, offer, score in zip(passage.text.split(". "), overlaps, offers, scores, strict=True):
        text = text if text.endswith(".") else text + "."
        found.append(Candidate(0, (start, start + len(text)), text, 0.7, overlap, offer, score))
        start += len(text) + 1
    return sorted(found, key=lambda c: -c.score)


def test_money_is_an_amount_even_when_it_could_be_a_day_of_the_month():
    question = "How much does the service cost a month?"
    assert offers_kind("The service costs $15 per month for unlimited downloads.", Kind.QUANTITY, question)
    assert not offers_kind("The service starts on 15 March.", Kind.QUANTITY, question)


def test_a_measure_compound_answers_only_a_question_about_that_measure():
    gig = "The 45-minute gig is due to be phone cast."
    assert not offers_kind(gig, Kind.QUANTITY, "How many people watched the gig?")
    assert offers_kind(gig, Kind.QUANTITY, "How many minutes did the gig last?")
    assert offers_kind("The 45-minute gig drew 20,000 fans.", Kind.QUANTITY, "How many people watched the gig?")


def test_a_given_name_may_be_left_out_when_the_surname_after_it_is_mentioned():
    assert policy.missing_terms("Which competition did Marcello Viotti win in 1982?", [VIOTTI]) == []
    assert policy.missing_terms("Which competition did Marcello Rossi win?", [VIOTTI]) == ["Marcello", "Rossi"]
    assert policy.missing_terms("Whose record did Viotti break?", [VIOTTI]) == [], "a question word is not a name"


def test_the_quoted_article_must_state_the_figures_the_question_names():
    question = "What was the total value of the airline's deal to buy 36 planes?"
    passages = [AIRBUS, ATR]
    only_airbus = [candidate(0, AIRBUS.text)]
    choice = policy.choose_evidence(question, passages, only_airbus, None)
    assert choice.abstain and choice.reason == policy.NOT_TOGETHER
    both = [candidate(0, AIRBUS.text, score=1.2), candidate(1, ATR.text, score=1.0)]
    choice = policy.choose_evidence(question, passages, both, None)
    assert [c.passage for c in choice.sentences] == [1], "the sentence of the article stating 36 is quoted"


def test_the_sentence_after_one_restating_the_question_is_quoted_when_it_states_the_answer():
    question = "Whose record as Britain's youngest Davis Cup player was Andrew Murray about to break?"
    ranked = sentences_of(MURRAY, [0.75, 0.2, 0.0], [True, True, True], [1.5, 0.9, 0.5])
    chosen = policy.choose_evidence(question, [MURRAY], ranked, None).sentences
    assert [c.text for c in chosen] == [ranked[0].text, BECKER]
    below = sentences_of(MURRAY, [policy.RESTATING_OVERLAP - 0.1, 0.2, 0.0], [True, True, True], [1.5, 0.9, 0.5])
    assert len(policy.choose_evidence(question, [MURRAY], below, None).sentences) == 1, "it restated too little"
    silent = sentences_of(MURRAY, [0.75, 0.2, 0.0], [True, False, True], [1.5, 0.9, 0.5])
    assert len(policy.choose_evidence(question, [MURRAY], silent, None).sentences) == 1, "the next one states no name"


def test_a_best_sentence_without_the_answer_is_quoted_with_a_neighbour_that_states_it_or_not_at_all():
    question = "Whose record as Britain's youngest Davis Cup player was Andrew Murray about to break?"
    ranked = sentences_of(MURRAY, [0.75, 0.2, 0.0], [False, True, True], [1.5, 0.9, 0.5])
    chosen = policy.choose_evidence(question, [MURRAY], ranked, None).sentences
    assert [c.text for c in chosen] == [ranked[0].text, BECKER]
    ranked = sentences_of(MURRAY, [0.75, 0.2, 0.0], [False, False, True], [1.5, 0.9, 0.5])
    choice = policy.choose_evidence(question, [MURRAY], ranked, None)
    assert choice.abstain and choice.reason == policy.NOT_OFFERED.format(what="a name"), "the third is no neighbour"
