"""Timelines: figures and periods read from sentences, reports that differ, and `timeline()` end to end.

The end-to-end tests use the real embedding model and store: the sample articles (the
session's `sample_index`) and a module index of two weekly reports, the later one revising
the earlier one's figure, as a wire service does.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from qa.change_answers import change_question
from qa.series import Reading, disagreements, earlier_readings, read_figure, read_period
from qa.timeline_eval import score_timeline, summarise
from qa.timelines import grain_for, group_label, names_mentioned, topic_names, topic_terms

WEEK_ONE = """Ruritania money supply rises in week

date 2024-03-07
Ruritania's M-2 money supply rose 300 mln dlrs to 12.5 billion dlrs in the week ended March 4, the central bank said.
Economists had expected a smaller rise.
"""
WEEK_TWO = """Ruritania money supply falls in week

date 2024-03-14
Ruritania's M-2 money supply fell 100 mln dlrs to 12.6 billion dlrs in the week ended March 11, the central bank said.
The previous week's M-2 level was revised to 12.7 billion dlrs from 12.5 billion dlrs.
"""

# The same measure of a neighbouring place, and commentary that names the figures only in its body: neither is
# a report in Ruritania's series.
NEIGHBOUR = """Freedonia money supply rises in week

date 2024-03-08
Freedonia's M-2 money supply rose 200 mln dlrs to 8.1 billion dlrs in the week ended March 4, the central bank said.
"""
COMMENTARY = """Economists see steady policy after data

date 2024-03-15
Economists said the central bank's weekly data, including Ruritania's M-2 money supply, suggested no change in policy.
"""


def test_the_level_and_the_week_it_is_for_not_the_change_or_the_publication_date():
    value, unit, written, period = read_figure(
        "U.S. M-1 money supply rose 2.1 billion dlrs to a seasonally adjusted 736.7 billion dlrs in the "
        "February 16 week, the Federal Reserve said.", "1987-02-26")
    assert (value, unit, written) == (736.7e9, "dlrs", "736.7 billion dlrs")
    assert (period.start, period.end) == ("1987-02-10", "1987-02-16")


def test_a_span_of_months_a_count_and_a_labelled_number():
    value, unit, _, period = read_figure(
        "Kazakhstan's trade turnover with European countries amounted to $40.2 billion from January through "
        "November 2023.", "2024-02-15")
    assert (value, unit, period.start, period.end) == (40.2e9, "$", "2023-01-01", "2023-11-30")
    claims = read_figure("Claims fell to a seasonally adjusted 332,900 in the week ended Feb 21 from 368,400 in the "
                         "prior week.", "1987-03-05")
    assert claims[0] == 332900 and claims[3].end == "1987-02-21"
    assert read_figure("CANADA 91-DAY T-BILLS AVERAGE 7.29 PCT, MAKING BANK RATE 7.54 PCT", "1987-03-05")[:2] == (
        7.29, "%")
    assert read_figure("The meeting took place on March 16, 2023.", "2023-03-17") is None


def test_a_wire_fraction_is_one_figure():
    value, unit, written, period = read_figure(
        "Sterling M3 grew a provisional, seasonally adjusted 2-1/4 pct in February after a rise of 1.1 pct in "
        "January, the Bank of England said.", "1987-03-19")
    assert (value, unit, written, period.end) == (2.25, "%", "2-1/4 pct", "1987-02-28")
    stock = read_figure("The stock rose 2-1/2 points to 35-1/8 dlrs.", "1987-03-19")
    assert stock[:3] == (35.125, "dlrs", "35-1/8 dlrs")
    assert read_figure("Terms were set on 3/16/87 at 101.", "1987-03-19")[0] == 101


def test_months_to_a_month_a_fiscal_year_and_an_annual_rate_reached():
    value, _, _, period = read_figure("In the six months to February, M3 grew at a seasonally adjusted annual rate of "
                                      "8.5 pct after 9.8 in the six months to January.", "1987-03-20")
    assert (value, period.start, period.end) == (8.5, "1986-09-01", "1987-02-28")
    assert period.label == "six months to February"
    assert read_period("sales in the 12 months ended March 1987", "1987-04-20").start == "1986-04-01"
    keating = read_figure("He expects the 1986/87 deficit to be lower than the 14.7 billion forecast.", "1987-03-20")
    assert keating[0] == 14.7e9
    assert read_figure("The deficit narrowed to 750 mln dlrs in February.", "1987-03-16")[3].label == "February"
    starts = read_figure("Housing starts rose 2.6 pct in February to a seasonally adjusted annual rate of 1,851,000 "
                         "units, the Commerce Department said.", "1987-03-17")
    assert starts[:2] == (1851000, "")


def test_days_of_a_month_a_part_of_a_month_and_a_total_named_by_totalling():
    tender = read_figure("The central bank accepted bids totalling 4.8 billion guilders at tender for seven-day "
                         "special advances at 5.3 pct covering the period March 2 to 9.", "1987-03-02")
    assert tender[0] == 4.8e9 and (tender[3].start, tender[3].end) == ("1987-03-02", "1987-03-09")
    coming = read_figure("New advances at 5.3 pct cover the period April 3 to 15.", "1987-04-02")
    assert coming[0] == 5.3 and coming[3].end == "1987-04-15", "a period to come, not last year's"
    cars = read_figure("GM said car sales in the early March period declined 8.2 pct to 99,882 units.", "1987-03-13")
    assert cars[0] == 99882 and (cars[3].start, cars[3].end) == ("1987-03-01", "1987-03-10")
    assert read_period("sales in late February", "1987-03-04").start == "1987-02-21"
    assert read_period("For the ten-day March 21-31 period", "1987-04-03").end == "1987-03-31"
    assert read_period("reserves stood at 5 bln at end-February", "1987-03-05").end == "1987-02-28"
    assert read_period("at the end of March 1986, against", "1987-03-05").end == "1986-03-31"
    assert read_period("the end may come soon", "1987-03-05") is None


def test_a_count_in_words_is_a_figure_where_no_digits_are_but_a_span_of_time_or_a_day_is_not():
    assert read_figure("There were seven grain ships loading and six ships were waiting to load at Portland.",
                       "1987-02-26")[:3] == (7.0, "", "seven")
    assert read_figure("Two ships were waiting, with 12 more expected.", "1987-02-26")[0] == 12
    assert read_figure("Demand rose in the four weeks ended March six, the agency said.", "1987-03-11") is None
    assert read_figure("The figure is expected to show one of the largest one-week increases.", "1987-04-24") is None


def test_a_total_is_the_level_and_a_flash_of_only_the_change_gives_no_level():
    assert read_figure("The number of active rotary rigs fell by 38 to a total of 801, against 1,248 working rigs one "
                       "year ago, Hughes Tool Co said.", "1987-03-02")[:3] == (801, "", "801")
    assert read_figure("U.S. M-1 Money Supply Rises 2.1 Billion Dlrs In Feb 16 Week, Fed Says", "1987-02-26") is None
    assert read_figure("Japan February Money Supply Rises 8.8 Pct", "1987-03-17")[:2] == (8.8, "%")


def test_the_names_a_topic_qualifies_its_measure_with_must_be_mentioned():
    assert topic_names("Canadian M-1 money supply each week") == ["Canadian"]
    assert topic_names("U.S. M-1 money supply reported by the Fed each week") == ["U.S."]  # the Fed reports it
    assert topic_names("U.S. drilling rig count by Hughes Tool") == ["U.S."]
    assert topic_names("Kazakhstan trade turnover with Europe") == ["Kazakhstan", "Europe"]
    assert names_mentioned(["Canadian"], "Canada's M-1 money supply rose") and names_mentioned(
        ["Kazakhstan", "Europe"], "Kazakhstan's trade with European countries")
    assert not names_mentioned(["Canadian"], "U.S. M-1 money supply rose 2.1 billion dlrs")
    assert not names_mentioned(["U.S."], "Thai M-1 money supply rises in January")
    assert topic_names("Bank of Ruritania sales of financing bills") == ["Bank of Ruritania"], "one name, whole"
    assert names_mentioned(["Bank of Ruritania"], "The Bank of Ruritania sold 500 billion crowns of bills")
    assert not names_mentioned(["Bank of Ruritania"], "The Bank of Freedonia said Ruritania's banks borrowed")


def test_a_topics_opening_word_is_no_name_where_the_articles_write_it_as_an_ordinary_word():
    text = "A number of grain ships were loading at Ruritania. The number waiting rose. Number of ships: 3."
    assert topic_names("Number of grain ships loading at Ruritania", text) == ["Ruritania"]
    assert topic_names("Ruritania grain ships loading", text) == ["Ruritania"]
    assert topic_names("Number of grain ships loading at Ruritania", "Number Theory Weekly") == ["Number"]


def test_who_issues_or_reports_the_measure_does_not_qualify_it_and_wire_abbreviations_read_as_words():
    assert topic_names("Ruritanian Treasury three-month bill auction rate") == ["Ruritanian"]
    assert topic_names("Freedonian banks' sight deposits at the Freedonian National Bank") == ["Freedonian"]
    assert topic_names("Kazakhstan and European Union cooperation") == ["Kazakhstan", "European"]
    assert {"3", "month", "bill"} <= topic_terms("Ruritania Sells 3-Mo Bills At 5.47 Pct")
    assert topic_terms("three-month bills") == topic_terms("3-Mo Bills")


def test_spans_of_weeks_or_days_ten_day_returns_and_days_in_words():
    oil = read_period("Demand rose 1.9 pct in the four weeks ended March six to 16.39 mln barrels per day.",
                      "1987-03-11")
    assert (oil.start, oil.end) == ("1987-02-07", "1987-03-06")
    assert read_period("fell to 7.46 billion in the six days ending April 16", "1987-04-21").end == "1987-04-16"
    last = read_period("rose to 10.53 billion in the last 10 days of February, the bank said.", "1987-03-02")
    assert (last.start, last.end) == ("1987-02-21", "1987-02-28")
    assert read_period("fell in the first ten days of March to 7.65 billion", "1987-03-11").end == "1987-03-10"
    assert read_period("rose in the second 10 days of March to 8.40 billion", "1987-03-23").end == "1987-03-20"
    assert read_period("in the week ended March twenty-one", "1987-03-26").end == "1987-03-21"
    fourth = read_period("reserves rose by 200 mln marks in the fourth week of March to 82.2 billion", "1987-04-03")
    assert (fourth.start, fourth.end) == ("1987-03-25", "1987-03-31")
    assert read_period("fell in the last week of December to 80 billion", "1987-01-05").end == "1986-12-31"


def test_a_december_week_said_in_january_is_last_year():
    assert read_period("in the week ended December 30", "1987-01-08").end == "1986-12-30"


def test_the_previous_weeks_revised_figure_and_the_prior_weeks_figure():
    own = read_period("in the February 23 week", "1987-03-05")
    [(value, _, _, period, revised)] = earlier_readings(
        "The previous week's M-1 level was revised to 736.6 billion dlrs from 736.7 billion dlrs.", own, "1987-03-05")
    assert (value, period.end, revised) == (736.6e9, "1987-02-16", True)
    own = read_period("in the week ended Feb 21", "1987-03-05")
    [(value, _, _, period, revised)] = earlier_readings("fell to 332,900 in the week ended Feb 21 from 368,400 in the "
                                                        "prior week", own, "1987-03-05")
    assert (value, period.end, revised) == (368400, "1987-02-14", False)


def test_a_later_report_of_another_value_for_the_same_period_is_a_revision():
    period = read_period("in the week ended March 4", "2024-03-07")
    first = Reading(12.5e9, "dlrs", "12.5 billion dlrs", period, "2024-03-07", "a.txt", 1, "…")
    later = Reading(12.7e9, "dlrs", "12.7 billion dlrs", period, "2024-03-14", "b.txt", 2, "…", earlier=True)
    same = Reading(12.5e9, "dlrs", "12.5 billion dlrs", period, "2024-03-14", "c.txt", 3, "…")
    [found] = disagreements([first, later, same])
    assert found.revisions == (later,)
    assert "12.7 billion dlrs [2] reported 2024-03-14 (revision)" in found.describe()
    assert disagreements([first, same]) == []


def test_a_revision_in_the_last_digit_is_a_revision_and_a_rounded_report_is_not():
    period = read_period("in the February 16 week", "1987-02-26")
    first = Reading(736.7e9, "dlrs", "736.7 billion dlrs", period, "1987-02-26", "a", 1, "…")
    revised = Reading(736.6e9, "dlrs", "736.6 billion dlrs", period, "1987-03-05", "b", 2, "…", earlier=True)
    rounded = Reading(737e9, "dlrs", "737 billion dlrs", period, "1987-03-06", "c", 3, "…")
    [found] = disagreements([first, revised])
    assert found.revisions == (revised,)
    assert disagreements([first, rounded]) == []


def test_questions_of_change_and_the_dates_they_name():
    asked = change_question("How has Ruritania's M-2 money supply changed since March 2024?")
    assert asked.filters.date_from == "2024-03-01" and "2024" not in asked.topic
    assert change_question("How did Kazakhstan-EU trade develop?").topic == "How did Kazakhstan-EU trade develop?"
    assert change_question("When was the Mittal job-cut figure first reported?") is not None
    assert change_question("What has happened to the Canadian dollar since March 1987?") is not None
    for one_fact in ("Since May 1987, what minimum bid rate did the Bundesbank set?",
                     "How many bushels of corn were inspected since July 1987?",
                     "When did Airbus aim to make first deliveries of the A340?", "How did it change?",
                     "What was Kazakhstan's trade turnover with Europe in 2023?"):
        assert change_question(one_fact) is None, one_fact


def test_grouping_follows_the_span():
    assert grain_for("1987-03-01", "1987-03-20") == "day"
    assert grain_for("1987-02-26", "1987-06-19") == "week"
    assert grain_for("2022-11-18", "2024-02-15") == "month"
    assert group_label("1987-03-05", "week") == "week of 1987-03-02"
    assert group_label("2024-02-15", "month") == "February 2024"


OUTPUT_FLASH = """Weekly Electric Output Up {change} Pct From Last Year

date {day}
Ruritanian power companies generated a net {level} billion kilowatt-hours in the week, the institute said.
"""
OUTPUT_NAMED = """Ruritania Weekly Electric Output Up 6.8 Pct From Last Year

date 2024-03-21
Ruritanian power companies generated a net 49.92 billion kilowatt-hours in the week, the institute said.
"""
OUTPUT_COMMENT = """Officials Urge Utilities To Build More Plants

date 2024-03-22
Officials said Ruritania's weekly electric output figures showed the utilities needed more plants.
"""


def test_a_report_whose_headline_is_the_series_own_is_kept_when_another_weeks_title_names_more(tmp_path):
    """One week's title names the country, the others' leave it out: the others are still the series' reports,
    and a commentary naming the figures only in its body is not."""
    from qa import ingest, timeline
    from qa.settings import Settings

    folder = tmp_path / "output"
    folder.mkdir()
    for n, (day, change, level) in enumerate((("2024-03-07", "2.4", "50.08"), ("2024-03-14", "4.9", "48.31"))):
        (folder / f"flash-{n}.txt").write_text(OUTPUT_FLASH.format(day=day, change=change, level=level))
    (folder / "named.txt").write_text(OUTPUT_NAMED)
    (folder / "comment.txt").write_text(OUTPUT_COMMENT)
    settings = Settings(index_dir=tmp_path / "index")
    assert ingest([folder], settings=settings, progress=False).added == 4
    result = timeline("Ruritania weekly electric output", settings=settings)
    assert [e.date for e in result.entries] == ["2024-03-07", "2024-03-14", "2024-03-21"]
    assert [e.reading.value for e in result.entries] == [50.08e9, 48.31e9, 49.92e9]


MONEY_BOTH = """Ruritania M-1 Money Supply Rises 2.1 Billion Crowns

date 2024-03-07
Ruritania's M-1 money supply rose 2.1 billion crowns to 736.7 billion crowns in the week ended February 28, the
central bank said. The broader M-2 money supply rose to 2,810.5 billion crowns in the week ended February 28 from
2,805.1 billion crowns.
"""
MONEY_M1 = """Ruritania M-1 Money Supply Falls 1.0 Billion Crowns

date 2024-03-14
Ruritania's M-1 money supply fell 1.0 billion crowns to 735.7 billion crowns in the week ended March 6, the central
bank said.
"""


DAILY = """Ruritania Treasury Balances At Central Bank {direction} On March {day}

date 2024-03-{published}
Treasury balances at the Ruritanian central bank {direction_lower} on March {day} to {level} billion crowns from
{before} billion crowns the previous business day, the Treasury said in its latest budget statement. Balances in tax
and loan note accounts were little changed on the same respective days, the Treasury said. The Treasury's operating cash
balance was reported in the same statement, which is published every business day by the Treasury in the capital.
"""


def test_a_daily_figure_is_for_the_day_it_names(tmp_path):
    """Each day's report of a daily series gives its figure for the day it names, not its publication date."""
    from qa import ingest, timeline
    from qa.settings import Settings

    folder = tmp_path / "daily"
    folder.mkdir()
    for day, published, direction, level, before in (("4", "05", "Rose", "4.151", "2.727"),
                                                      ("5", "06", "Rose", "4.467", "4.151")):
        (folder / f"day-{day}.txt").write_text(DAILY.format(day=day, published=published, direction=direction,
                                                            direction_lower=direction.lower(), level=level,
                                                            before=before))
    settings = Settings(index_dir=tmp_path / "index")
    summary = ingest([folder], settings=settings, progress=False)
    assert summary.added == 2
    result = timeline("Ruritania Treasury balances at the central bank", settings=settings)
    readings = [(e.date, e.reading.value, e.reading.period.end) for e in result.entries]
    assert readings == [("2024-03-05", 4.151e9, "2024-03-04"), ("2024-03-06", 4.467e9, "2024-03-05")]


RESERVES = """Ruritania Foreign Exchange Reserves Rise To {level} Billion Dlrs

date 2024-{day}
Ruritania's foreign exchange reserves rose to {level} billion U.S. Dlrs at the end of {month} from {before} billion
a month earlier, the central bank said. The central bank attributed the rise in foreign exchange reserves to the trade
surplus and to dollar purchases on the interbank market, a bank official said in the capital.
"""
DEPOSITS = """Ruritania Central Bank Issues Certificates Of Deposit

date 2024-03-20
The central bank issued 4.03 billion crowns of certificates of deposit, bringing issues so far this year to 134.5
billion. The issues are intended to curb the growth of the money supply, which has grown as a result of large foreign
exchange reserves, a central bank official told reporters. Ruritania's central bank said more issues would follow.
"""


def test_who_reports_the_measure_in_parentheses_is_left_out_of_the_title_share(tmp_path):
    """A story of the central bank that mentions the reserves in passing is no reserves report for a topic naming
    the central bank in parentheses as the one that reports them."""
    from qa import ingest, timeline
    from qa.settings import Settings

    folder = tmp_path / "reserves"
    folder.mkdir()
    for name, day, month, level, before in (("feb", "03-05", "February", "51", "49"),
                                            ("mar", "04-03", "March", "53", "51")):
        (folder / f"{name}.txt").write_text(RESERVES.format(day=day, month=month, level=level, before=before))
    (folder / "deposits.txt").write_text(DEPOSITS)
    settings = Settings(index_dir=tmp_path / "index")
    ingest([folder], settings=settings, progress=False)
    result = timeline("Ruritania's foreign exchange reserves (central bank)", settings=settings)
    assert [e.citation.source.rsplit("/", 1)[-1] for e in result.entries] == ["feb.txt", "mar.txt"]


def test_a_story_sent_again_the_next_day_with_a_figure_changed_is_shown_as_a_revision(tmp_path):
    """Word for word a copy, but for one figure: two reports, and the timeline says they differ."""
    from qa import ingest, timeline
    from qa.settings import Settings

    folder = tmp_path / "resent"
    folder.mkdir()
    (folder / "first.txt").write_text(RESERVES.format(day="03-05", month="February", level="51", before="49"))
    (folder / "again.txt").write_text(RESERVES.format(day="03-06", month="February", level="52", before="49"))
    settings = Settings(index_dir=tmp_path / "index")
    ingest([folder], settings=settings, progress=False)
    result = timeline("Ruritania's foreign exchange reserves", settings=settings)
    assert [(e.reading.value, e.reading.period.end) for e in result.entries] == [(51e9, "2024-02-29"),
                                                                                 (52e9, "2024-02-29")]
    [differ] = result.disagreements
    assert [r.value for r in differ.revisions] == [52e9] and "(revision)" in differ.describe()


def test_a_measure_label_must_be_stated_and_its_sentence_is_the_entry(tmp_path):
    """An M-1 report that gives M-2 in passing is the M-2 series' report, read from its M-2 sentence; a report
    that never states M-2 is not."""
    from qa import ingest, timeline
    from qa.settings import Settings

    folder = tmp_path / "money"
    folder.mkdir()
    (folder / "both.txt").write_text(MONEY_BOTH)
    (folder / "m1.txt").write_text(MONEY_M1)
    settings = Settings(index_dir=tmp_path / "index")
    assert ingest([folder], settings=settings, progress=False).added == 2
    m2 = timeline("Ruritania M-2 money supply", settings=settings)
    assert [(e.date, e.reading.value) for e in m2.entries] == [("2024-03-07", 2810.5e9)]
    m1 = timeline("Ruritania M1 money supply", settings=settings)
    assert [(e.date, e.reading.value) for e in m1.entries] == [("2024-03-07", 736.7e9), ("2024-03-14", 735.7e9)]


@pytest.fixture(scope="module")
def revised_index(tmp_path_factory):
    """An index of two weekly reports, the second revising the first's figure, beside a neighbouring country's
    report and a commentary."""
    from qa import ingest
    from qa.settings import Settings

    folder = tmp_path_factory.mktemp("weekly") / "weekly"
    folder.mkdir()
    for name, text in (("week-one", WEEK_ONE), ("week-two", WEEK_TWO), ("neighbour", NEIGHBOUR),
                       ("commentary", COMMENTARY)):
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    settings = Settings(index_dir=tmp_path_factory.mktemp("weekly-index"))
    assert ingest([folder], settings=settings, progress=False).added == 4
    return settings


def test_reports_that_differ_are_shown_both_with_citations(revised_index):
    from qa import timeline

    result = timeline("Ruritania M-2 money supply", settings=revised_index)
    assert [e.date for e in result.entries] == ["2024-03-07", "2024-03-14"]
    assert [e.citation.number for e in result.entries] == [1, 2]
    first = result.entries[0]
    assert first.citation.text[slice(*first.citation.span)].startswith("Ruritania's M-2 money supply rose")
    [conflict] = result.disagreements
    assert conflict.period.end == "2024-03-04"
    assert [(r.value, r.number) for r in conflict.readings] == [(12.5e9, 1), (12.7e9, 2)]
    assert [r.number for r in conflict.revisions] == [2]
    rows = result.series_rows()
    assert [(row["period_end"], row["value"], row["revision"]) for row in rows] == [
        ("2024-03-04", 12.5e9, False), ("2024-03-04", 12.7e9, True), ("2024-03-11", 12.6e9, False)]


def test_a_question_of_change_is_answered_from_the_timeline_with_both_reports_cited(revised_index):
    from qa import answer
    from qa.types import Route

    result = answer("How did Ruritania's M-2 money supply change?", settings=revised_index)
    assert result.route is Route.TIMELINE and not result.abstained
    lines = result.text.splitlines()
    assert lines[0].startswith("7 March 2024: Ruritania's M-2 money supply rose") and lines[0].endswith("[1]")
    assert lines[1].startswith("14 March 2024: Ruritania's M-2 money supply fell") and lines[1].endswith("[2]")
    assert "Reports differ for the week ended 2024-03-04" in result.text and "(revision)" in result.text
    assert [(c.number, c.date) for c in result.citations] == [(1, "2024-03-07"), (2, "2024-03-14")]
    assert [p.source for p in result.passages] == [c.source for c in result.citations]


def test_cli_prints_the_timeline_and_exports_csv_and_json(revised_index, monkeypatch):
    from qa.cli import main

    monkeypatch.setenv("QA_INDEX_DIR", str(revised_index.index_dir))
    runner = CliRunner()
    text = runner.invoke(main, ["timeline", "Ruritania M-2 money supply"])
    assert text.exit_code == 0, text.output
    assert "Reports differ for the week ended 2024-03-04" in text.output and "(revision)" in text.output
    exported = runner.invoke(main, ["timeline", "Ruritania M-2 money supply", "--csv", "--from", "2024-03-10"])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert [(r["period_end"], r["value"], r["published"]) for r in rows] == [
        ("2024-03-04", "12700000000.0", "2024-03-14"), ("2024-03-11", "12600000000.0", "2024-03-14")]
    data = json.loads(runner.invoke(main, ["timeline", "Ruritania M-2 money supply", "--json"]).output)
    assert len(data["entries"]) == 2 and data["disagreements"][0]["period"]["end"] == "2024-03-04"
    reversed_range = runner.invoke(main, ["timeline", "money", "--from", "2024-03-10", "--to", "2024-03-01"])
    assert reversed_range.exit_code == 1 and "reversed" in reversed_range.output


def test_sample_articles_timeline_in_order_with_the_trade_figure(sample_index):
    from qa import timeline

    settings, _, _ = sample_index
    result = timeline("Kazakhstan trade turnover with Europe", settings=settings)
    assert [e.date for e in result.entries] == ["2022-11-18", "2024-02-15"]
    assert result.grain == "month" and result.entries[1].group == "February 2024"
    reading = result.entries[1].reading
    assert (reading.value, reading.period.end, reading.published) == (40.2e9, "2023-11-30", "2024-02-15")
    record = {"id": "x", "split": "dev", "topic": result.topic, "entries": [
        {"date": "2022-11-18", "sources": ["000_7a094f6f779c30f4.txt"], "figure": None},
        {"date": "2024-02-15", "sources": ["002_40a8f02fd4e3abf6.txt"],
         "figure": {"value": 40.2e9, "period_end": "2023-11-30"}}]}
    row = score_timeline(record, result)
    summary = summarise([{**row, "latency_s": 0.1}])
    assert (summary["entry_recall"], summary["entry_precision"], summary["figure_accuracy"]) == (1.0, 1.0, 1.0)
