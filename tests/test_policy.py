"""The answer policy's rules on hand-built passages and sentences: what counts as offering the answer's kind, which
names a question may leave unmentioned, and which article may be quoted. No model is needed."""

from __future__ import annotations

import dataclasses
import math

import pytest

from qa import policy
from qa.evidence import (
    Candidate,
    Kind,
    attribute_words,
    focus_terms,
    offers_kind,
    question_kind,
    quoted_phrases,
    rank_sentences,
    says_none_of,
    timely_passages,
)
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


def test_a_count_in_words_answers_how_many_but_not_how_much():
    petition = "Ninety one MPs have signed a petition backing the amendment."
    assert offers_kind(petition, Kind.QUANTITY, "How many MPs signed the petition?")
    assert not offers_kind("The show is due to end in May after four series.", Kind.QUANTITY,
                           "How much did the advert cost?"), "four series is no sum of money"
    premium = "The coins will be priced at a premium of seven pct to the value of the gold."
    assert offers_kind(premium, Kind.QUANTITY, "At what premium were the coins priced?")
    assert offers_kind(premium, Kind.PERCENT, "What premium rate were the coins priced at?")
    assert not offers_kind(petition, Kind.QUANTITY, "How many of the ninety one MPs signed it in March?"), (
        "a count the question already states is not an answer")


def test_a_question_about_money_wants_a_sum_of_money():
    question = "How much did Vodafone pay for its licence?"
    assert not offers_kind("Now Vodafone has 14m customers in the UK alone.", Kind.QUANTITY, question)
    assert offers_kind("It paid £1.3bn for it.", Kind.QUANTITY, question)
    assert offers_kind("The licence cost 500 Belgian francs.", Kind.QUANTITY, question)
    assert offers_kind("The licence cost 12 mln dlrs.", Kind.QUANTITY, question)
    assert not offers_kind("It was signed at 5 p.m. by 40 officials.", Kind.QUANTITY, question)
    assert offers_kind("Now Vodafone has 14m customers.", Kind.QUANTITY, "How many customers does Vodafone have?")


def test_how_much_of_a_thing_wants_an_amount_of_it_even_with_a_verb_of_money():
    question = "How much fuel oil a month did Venezuela offer to supply China?"
    assert offers_kind("Venezuela will supply 120,000 barrels of fuel oil a month.", Kind.QUANTITY, question)
    money = "How much did Venezuela offer to supply China?"
    assert not offers_kind("Venezuela will supply 120,000 barrels of fuel oil a month.", Kind.QUANTITY, money)
    assert not offers_kind("Now Vodafone has 14m customers.", Kind.QUANTITY,
                           "How much compensation did Vodafone pay?"), "compensation is money"


def test_how_many_things_is_answered_by_a_count_of_them_not_money_or_a_count_of_other_things():
    copies = "How many copies of the White Paper were printed?"
    assert not offers_kind("The Foreign Office says it cost about £2,500 to print.", Kind.QUANTITY, copies)
    assert offers_kind("It printed 30,000 copies at a cost of £2,500.", Kind.QUANTITY, copies)
    votes = "By how many votes did the parliament agree?"
    assert not offers_kind("There are plans for eight Las Vegas style resorts.", Kind.QUANTITY, votes)
    assert offers_kind("It agreed by ninety votes to forty.", Kind.QUANTITY, votes)
    assert offers_kind("Ninety one Labour MPs signed it.", Kind.QUANTITY, "How many MPs signed it?")
    assert offers_kind("It cost 500 dlrs.", Kind.QUANTITY, "How many dollars did it cost?")


def test_how_much_of_a_thing_is_no_share_of_a_market_and_a_scale_word_joined_to_a_number_is_an_amount():
    steel = "How much steel did Canada import in 1986?"
    assert not offers_kind("Canadian steel shipments have risen to 5.7 pct of the U.S. market.", Kind.QUANTITY, steel)
    assert offers_kind("Canada imported 944-mln dlrs worth of the product in 1986.", Kind.QUANTITY, steel)
    assert offers_kind("Imports rose 5.7 pct.", Kind.QUANTITY, "By how much did Canada's steel imports rise?")
    assert offers_kind("It won a 12-mln-dlr contract.", Kind.QUANTITY, "How much was the contract worth?")
    assert not offers_kind("The 45-minute gig is due.", Kind.QUANTITY, "How much did the gig cost?")


def test_a_price_per_share_is_a_figure_not_a_share_and_a_possessive_keeps_the_question_phrase():
    assert question_kind("At what price per share did the company redeem its preferred shares?") is Kind.QUANTITY
    assert question_kind("What share of the market did the company hold?") is Kind.PERCENT
    assert question_kind("What was Bangladesh's trade deficit in October 1986?") is Kind.QUANTITY
    assert question_kind("Which was Italy's largest bank by assets?") is Kind.NAME


def test_a_price_per_unit_is_stated_per_that_unit_and_prize_money_is_money():
    per_share = "What price per share did Holcim offer for Aggregate Industries?"
    assert offers_kind("Its chief said the 138p a share offer provided significant value.", Kind.QUANTITY, per_share)
    assert not offers_kind("Holcim has bid $800m (£429m) for two Indian firms.", Kind.QUANTITY, per_share)
    prize = "How much prize money did she earn for winning the Canberra Classic?"
    assert not offers_kind("The 17-year-old took 83 minutes to take the match 7-5 6-1.", Kind.QUANTITY, prize)
    assert offers_kind("She took home $22,000 for the title.", Kind.QUANTITY, prize)
    assert question_kind("What annual salary would the members receive?") is Kind.QUANTITY
    assert not offers_kind("Its members would be known as MSCPs.", Kind.QUANTITY, "What annual salary would they get?")


def test_a_verb_of_paying_far_from_how_much_still_asks_for_money_and_an_attendance_is_a_figure():
    cost = "How much did Indonesia expect the Batam island crude palm oil terminal announced in March 1987 to cost?"
    assert not offers_kind("Palm oil output is expected to rise to 1.56 mln tonnes in 1987.", Kind.QUANTITY, cost)
    assert offers_kind("The terminal will cost about 40 mln dlrs.", Kind.QUANTITY, cost)
    attendance = "What was the attendance at the match in which England lost 18-17 to France?"
    assert question_kind(attendance) is Kind.QUANTITY
    assert not offers_kind("England lost 18-17 to France in the Six Nations.", Kind.QUANTITY, attendance)


@pytest.mark.parametrize(("question", "words"), [
    ("What prison sentence did Mikhail Khodorkovsky receive?", ["prison", "sentence"]),
    ("How many copies of the White Paper were printed?", ["copies"]),
    ("What net income did Willms Trucking earn?", ["net"]),
    ("How much foreign exchange was Brazil losing each day?", ["foreign", "exchange"]),
    ("In which Canadian province is the mine?", []),  # a name and a kind noun: the answer is a province
    ("At what price per share did it redeem the shares?", []),  # the unit follows "per"
    ("How much did William Hague earn?", []),  # the verb follows
    ("How much money from Chinese banks helped Rosneft?", []),  # money is what is asked, a kind
    ("How large was the supplementary budget?", []),  # "how large" is the question
    ("Who took over on the right wing?", []),
])
def test_the_words_a_question_asks_about_are_those_of_its_own_phrase_that_are_no_kind_noun(question, words):
    assert attribute_words(question) == words


def test_a_quote_saying_none_of_them_is_abstained_on_only_when_the_model_found_no_short_answer_in_it():
    question = "What net income did Willms Trucking earn in its year ended September 30?"
    revenues = ["In the year ended September 30, Willms had revenues of about 15 mln dlrs."]
    assert says_none_of(attribute_words(question), revenues)
    assert policy.abstain_unsaid(question, revenues, policy.NOT_COPIED) == policy.NOT_SAID.format(words="net")
    assert policy.abstain_unsaid(question, revenues, None) is None  # the model copied a short answer from it
    profit = ["Willms had net income of about 1.2 mln dlrs on revenues of 15 mln."]
    assert policy.abstain_unsaid(question, profit, policy.NOT_COPIED) is None
    assert not says_none_of(["first-time", "jobless"], ["The number of jobless stood at 508,392."])


def test_a_count_of_things_is_no_share_and_a_stake_is_a_share():
    members = "How many members would the second chamber have?"
    assert not offers_kind("A second chamber in which 70% of members would be elected.", Kind.QUANTITY, members)
    assert offers_kind("There would be 385 MSCPs, including 270 elected members.", Kind.QUANTITY, members)
    assert question_kind("What stake in Delchamps did the company hold?") is Kind.PERCENT
    assert question_kind("What were the assets of First Federal, which Colonial agreed to buy?") is Kind.QUANTITY
    assert question_kind("What did Colonial say of First Federal, which it agreed to buy?") is Kind.OTHER


def test_a_clause_setting_the_scene_does_not_decide_what_is_asked():
    question = "When India opened long-haul routes to domestic airlines, what maximum foreign stake did it allow?"
    assert question_kind(question) is Kind.PERCENT
    assert question_kind("When did India open long-haul routes?") is Kind.TIME
    assert focus_terms(question, 3) == {"maximu", "foreig", "stake"}


def test_a_sentence_holding_the_words_the_question_quotes_ranks_first():
    question = "Who called closing the show 'painful but fiscally responsible'?"
    assert quoted_phrases(question) == ["painful but fiscally responsible"]
    assert quoted_phrases("What did the cross-party MPs' draft bill for Britain's 'Lords' say?") == []
    passage = Passage("c1", "bbc/entertainment/1.txt", "Star Christina Applegate had starred in the show. Producer "
                      "Barry Weissler said the decision to close it was \"painful but fiscally responsible\".")
    ranked = rank_sentences(question, [passage], [1.0, 0.0], lambda texts: [[0.5, 0.5] for _ in texts],
                            policy.EVIDENCE_WEIGHTS, None)
    assert "Weissler" in ranked[0].text
    unweighted = rank_sentences(question, [passage], [1.0, 0.0], lambda texts: [[0.5, 0.5] for _ in texts],
                                dataclasses.replace(policy.EVIDENCE_WEIGHTS, quote=0.0), None)
    weissler = next(c for c in unweighted if "Weissler" in c.text)
    assert math.isclose(ranked[0].score - weissler.score, policy.EVIDENCE_WEIGHTS.quote)


def test_in_which_year_asks_for_a_time_and_in_which_alone_for_a_place():
    assert question_kind("In which year will the government review retirement ages?") is Kind.TIME
    assert question_kind("In which city was the meeting held?") is Kind.NAME


def test_a_time_before_the_article_was_written_is_timely_where_the_article_names_it():
    told = Passage("p1", "r#1", "It was Schmidt who, as Chancellor, appointed Poehl in 1980.", date="1987-06-02")
    other = Passage("p2", "r#2", "Poehl said rates would stay where they are.", date="1987-06-03")
    assert timely_passages("Which chancellor appointed Poehl in 1980?", [told, other]) == {0}
    weekly = Passage("p3", "r#3", "M-1 rose in the week to March 2, the Fed said in 1987.", date="1987-03-20")
    assert timely_passages("What was M-1 on March 5, 1987?", [weekly]) == set(), "another day is not the one asked"
    report = Passage("p4", "r#4", "Demand rose 2.1 pct in the four weeks ended February 27.", date="1987-03-04")
    asked = "What oil demand did the agency report for the four weeks ended February 27, 1987?"
    assert timely_passages(asked, [report, weekly]) == {0}, "a weekly report names the day it reports on"
    monthly = Passage("p5", "r#5", "The trade deficit narrowed to 1.91 billion Taka in October.", date="1987-03-09")
    later = Passage("p6", "r#6", "Exports may rise in November, the bank said.", date="1987-03-10")
    assert timely_passages("What was the trade deficit in October 1986?", [monthly, later]) == {0}, (
        "a later report names the month it reports on")
    may = Passage("p7", "r#7", "Prices may fall, the bank said.", date="1987-08-10")
    assert timely_passages("What did the bank report for May 1987?", [may]) == set(), "'may' the verb is no month"


def test_a_wire_abbreviation_of_the_month_names_it():
    sale = Passage("p1", "r#1", "Income included a gain of 4,307,180 dlrs on the sale on Dec 16, 1986.",
                   date="1987-10-19")
    assert timely_passages("What gain did it record on the sale in December 1986?", [sale]) == {0}
    assert timely_passages("What gain did it record on the sale on December 16, 1986?", [sale]) == {0}
    assert timely_passages("What gain did it record on the sale on December 15, 1986?", [sale]) == set()
    dec = Passage("p2", "r#2", "The decision will come in the summer.", date="1987-10-19")
    assert timely_passages("What gain did it record on the sale in December 1986?", [dec]) == set()


def test_at_what_time_asks_for_a_time_of_day_and_in_what_time_for_a_time_taken():
    when = "According to Apacs, at what time on Wednesday did card spending overtake cash for the first time?"
    assert question_kind(when) is Kind.TIME
    assert offers_kind("The moment came at 10.38am on Wednesday, Apacs said.", Kind.TIME, when)
    assert not offers_kind("Shoppers will put £269bn on cards in 2004, Apacs said.", Kind.TIME, when)
    taken = "In what time did Britain's relay team win the gold?"
    assert offers_kind("The quartet won in 38.07 seconds.", Kind.TIME, taken)
    assert not offers_kind("The quartet won in August.", Kind.TIME, taken)
    assert offers_kind("The quartet won in August.", Kind.TIME, "When did the relay team win the gold?")


def test_how_much_money_asks_for_a_sum_of_money_without_a_verb_of_paying():
    prize = "How much prize money did Spain receive for winning the Davis Cup?"
    assert not offers_kind("A record crowd of 27,000 spectators watched.", Kind.QUANTITY, prize)
    assert offers_kind("Spain received $1.2m in prize money.", Kind.QUANTITY, prize)


def test_a_figure_of_other_months_only_does_not_answer_for_the_month_asked():
    reserves = Passage("p1", "r#1", "Italy's net official reserves rose to 66,172 billion lire in February from "
                       "62,174 billion in January, the Bank of Italy said.")
    question = "What were Italy's net official reserves at the end of March 1987?"
    choice = policy.choose_evidence(question, [reserves], [candidate(0, reserves.text)], None)
    assert choice.abstain
    assert choice.reason == policy.OTHER_PERIOD.format(named="February and January", asked="March")
    asked_february = question.replace("March", "February")
    assert not policy.choose_evidence(asked_february, [reserves], [candidate(0, reserves.text)], None).abstain
    undated = Passage("p2", "r#2", "Italy's net official reserves rose to 66,172 billion lire, the bank said.")
    assert not policy.choose_evidence(question, [undated], [candidate(0, undated.text)], None).abstain
    in_march = "In March 1987, what net official reserves did the Bank of Italy report?"
    assert not policy.choose_evidence(in_march, [reserves], [candidate(0, reserves.text)], None).abstain, (
        "the time of the report is no period of the figure")


def test_a_measure_compound_answers_only_a_question_about_that_measure():
    gig = "The 45-minute gig is due to be phone cast."
    assert not offers_kind(gig, Kind.QUANTITY, "How many people watched the gig?")
    assert offers_kind(gig, Kind.QUANTITY, "How many minutes did the gig last?")
    assert offers_kind("The 45-minute gig drew 20,000 fans.", Kind.QUANTITY, "How many people watched the gig?")


def test_a_given_name_may_be_left_out_when_the_surname_after_it_is_mentioned():
    assert policy.missing_terms("Which competition did Marcello Viotti win in 1982?", [VIOTTI]) == []
    assert policy.missing_terms("Which competition did Marcello Rossi win?", [VIOTTI]) == ["Marcello", "Rossi"]
    assert policy.missing_terms("Whose record did Viotti break?", [VIOTTI]) == [], "a question word is not a name"


def test_a_name_describing_what_is_asked_may_be_left_out():
    willa = Passage("w1", "reuters/1", "Northair Mines owns the Willa mine in British Columbia.")
    assert policy.missing_terms("In which Canadian province is Northair's Willa mine?", [willa]) == []
    assert policy.missing_terms("Did the Canadian firm Northair open the Willa mine?", [willa]) == ["Canadian"]


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
    assert [c.text for c in chosen] == [BECKER, ranked[0].text], "the sentence stating the answer leads"
    ranked = sentences_of(MURRAY, [0.75, 0.2, 0.0], [False, False, True], [1.5, 0.9, 0.5])
    choice = policy.choose_evidence(question, [MURRAY], ranked, None)
    assert choice.abstain and choice.reason == policy.NOT_OFFERED.format(what="a name"), "the third is no neighbour"


ANHEUSER = "Anheuser-Busch Cos is raising 150 mln dlrs through an offering, said sole manager Dillon, Read and Co."
ANHEUSER_Q = "Which firm was sole manager of Anheuser-Busch's offering of sinking fund debentures due 2017?"
YACYRETA = "Mitsubishi Electric Corp <MIET.T> and Hitachi will sign the contract with Entidad Binacional Yacyreta."
YACYRETA_Q = "With which Argentine company were Mitsubishi Electric and Hitachi to sign a contract?"
CHRYSLER = "Chrysler Corp said it made 98,648 cars in the U.S. in March, down from the 115,540 it made a year ago."
CHRYSLER_Q = "How many cars did Chrysler Corp make in the U.S. in March 1987?"
INSPECTIONS = "U.S. Export Inspections, In Thous Bushels, Soybeans 16,333 Wheat 30,917 Corn 36,781"
INSPECTIONS_Q = "How many thousand bushels of U.S. corn were inspected for export in the week?"


@pytest.mark.parametrize(("short", "sentence", "question", "reason"), [
    # A name that only repeats the question's, company suffix and ticker aside, does not lead; the answer does.
    ("Anheuser-Busch Cos", ANHEUSER, ANHEUSER_Q, policy.ONLY_QUESTION),
    ("Dillon, Read and Co", ANHEUSER, ANHEUSER_Q, None),
    ("Mitsubishi Electric Corp <MIET.T>", YACYRETA, YACYRETA_Q, policy.ONLY_QUESTION),
    ("Entidad Binacional Yacyreta", YACYRETA, YACYRETA_Q, None),
    # The figure a sentence compares with does not lead, unless the earlier one is asked; a name after "from" may.
    ("115,540", CHRYSLER, CHRYSLER_Q, policy.COMPARED),
    ("98,648", CHRYSLER, CHRYSLER_Q, None),
    ("115,540", CHRYSLER, "How many cars had Chrysler Corp made in the U.S. in March the year before?", None),
    ("Martin Corry", "England had tries from Martin Corry disallowed.", "Who scored England's try?", None),
    # A table's figure labelled for something the question does not name does not lead, where it names one.
    ("16,333", INSPECTIONS, INSPECTIONS_Q, policy.OTHER_LABEL),
    ("36,781", INSPECTIONS, INSPECTIONS_Q, None),
    ("16,333", INSPECTIONS, "How many bushels were inspected?", None),
])
def test_which_short_answers_copied_from_the_sentence_may_lead(short, sentence, question, reason):
    assert policy.check_short_answer(short, [sentence], question) == reason
