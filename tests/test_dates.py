from datetime import date

import pytest

from qa.dates import TimeHint, date_number, parse_time_expression

NOW = date(2024, 3, 10)


@pytest.mark.parametrize(
    "question, start, end",
    [
        ("What was the trade turnover in 2023?", date(2023, 1, 1), date(2023, 12, 31)),
        ("What happened last February?", date(2024, 2, 1), date(2024, 2, 29)),
        ("What happened last May?", date(2023, 5, 1), date(2023, 5, 31)),
        ("How has trade grown since 2022?", date(2022, 1, 1), None),
        ("What changed since March 1987?", date(1987, 3, 1), None),
        ("Which deals were signed before 2020?", None, date(2020, 1, 1)),
        ("What did the Fed say on March 5, 1987?", date(1987, 3, 5), date(1987, 3, 5)),
        ("What did the Fed say on 5 March 1987?", date(1987, 3, 5), date(1987, 3, 5)),
        ("What happened to cocoa prices in February 1987?", date(1987, 2, 1), date(1987, 2, 28)),
        ("Trade between 2021 and 2023?", date(2021, 1, 1), date(2023, 12, 31)),
        ("What did they decide last year?", date(2023, 1, 1), date(2023, 12, 31)),
        ("Who headed the EU delegation?", None, None),
    ],
)
def test_time_expressions_become_windows(question, start, end):
    hint = parse_time_expression(question, NOW)
    assert (hint.start, hint.end) == (start, end)


def test_recency_words_ask_for_the_latest_news():
    assert parse_time_expression("What is the latest on rare earths?", NOW) == TimeHint(recent=True)
    assert parse_time_expression("most recent oil price?", NOW).recent
    assert not parse_time_expression("oil price in 1987?", NOW).recent


def test_a_number_that_is_not_a_year_is_not_a_date():
    assert not parse_time_expression("Why did 3000 workers strike?", NOW).has_window


def test_date_numbers_are_yyyymmdd():
    assert date_number("2024-02-15") == 20240215
    assert date_number(date(1987, 3, 5)) == 19870305
    assert date_number("") is None


@pytest.mark.parametrize(
    "question",
    [
        "What was the trade turnover in January–November 2022?",
        "How much did Kazakhstan import in the 11 months of 2022?",
        "What was the turnover from January through November 2023?",
        "What were profits in the first half of 2004?",
        "What was the trade turnover for the whole of 2023?",
    ],
)
def test_statistical_periods_draw_no_window(question):
    assert not parse_time_expression(question, NOW).has_window
