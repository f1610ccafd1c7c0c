"""Questions of change ("how did … change", "when did … first", "since …") answered from a timeline.

`change_question` decides whether a question asks how something moved through time
and, if so, which topic and dates to follow; `answer_from_timeline` builds that
topic's timeline (`timelines.py`) and words the answer as its dated entries, oldest
first, each the entry's sentence quoted with its citation, then the reports that
differ with both citations and the later values labelled as revisions. Every
sentence is a verbatim quote of the passage span it cites, so it is grounded by
construction; the date before it is the article's own. The chain (`chain.py`) asks
here first and goes its usual way when this returns None.
Left out: an LLM summary of the movement, and questions of change about one article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from .dates import (
    BEFORE,
    BETWEEN,
    DAY_MONTH_YEAR,
    MONTH_DAY_YEAR,
    MONTH_YEAR,
    SINCE,
    YEAR,
    parse_time_expression,
    spell_date,
)
from .facts import QUANTITY_QUESTION
from .retrieval import Filters
from .text import renumber_markers
from .timelines import Timeline, TimelineEntry, build_timeline, topic_terms
from .types import Answer, Citation, Passage, Route

# What makes a question one of change: how something moved, when it first happened, how it went over time.
# "first" must be followed by what first happened ("first reported", "first rise"): "make first deliveries" is not.
CHANGE_QUESTION = re.compile(
    r"\bhow (?:did|has|have|had|does|do) .+? (?:chang|develop|evolv|mov|grow|grew|shift|trend|progress)\w*"
    r"|\bwhen (?:did|was|were|had|has) .+?\bfirst (?:\w+ed|appear|report|say|said|announce|mention|rise|rose|fall|"
    r"fell|begin|began|start|become|became|come|came|happen|hit|reach|emerge|raise|cut)\b"
    r"|\bover time\b|\btimeline\b",
    re.IGNORECASE,
)
# "Since <a time>" makes a question of change when it asks how or what happened, not for one fact of that time
# ("Since May 1987, what minimum bid rate did the Bundesbank set?" wants the one rate).
SINCE_CHANGE = re.compile(r"^\s*how\b|\bwhat (?:has |have )?(?:happened|changed)\b", re.IGNORECASE)
# A time the question names is a filter, not words a report must contain.
TIME_EXPRESSIONS = (SINCE, BEFORE, BETWEEN, DAY_MONTH_YEAR, MONTH_DAY_YEAR, MONTH_YEAR, YEAR)
# A timeline of fewer reports than this tells no movement: the usual answer (or abstention) serves better.
MIN_CHANGE_ENTRIES = 2
# The most entries an answer quotes: the first, the last and evenly spaced ones between (plus the reports that
# differ); the Timeline tab and `qa timeline` show them all.
MAX_ANSWER_ENTRIES = 6
CHANGE_REASON = "a question of change: the dated reports on its topic, oldest first"


@dataclass(frozen=True)
class ChangeQuestion:
    """The topic a question of change follows and the dates it limits the reports to."""

    topic: str
    filters: Filters


def change_question(question: str, filters: Filters | None = None) -> ChangeQuestion | None:
    """The topic and dates to follow when `question` asks how something changed, else None."""
    filters = filters or Filters()
    since = (match := SINCE.search(question)) is not None and match.group(0).lower().startswith("since")
    if not (CHANGE_QUESTION.search(question)
            or (since and SINCE_CHANGE.search(question) and not QUANTITY_QUESTION.search(question))):
        return None
    hint = parse_time_expression(question, date.today())
    topic = question
    if hint.has_window:
        for pattern in TIME_EXPRESSIONS:
            topic = pattern.sub(" ", topic)
    topic = " ".join(topic.split())
    if not topic_terms(topic):
        return None  # "how did it change?": a follow-up the usual chain reads with the history
    start = hint.start.isoformat() if hint.start else ""
    end = hint.end.isoformat() if hint.end else ""
    return ChangeQuestion(topic, replace(filters, date_from=max(filters.date_from, start),
                                         date_to=min(filters.date_to or end, end or filters.date_to)))


def shown_entries(timeline: Timeline) -> list[TimelineEntry]:
    """The entries an answer quotes: the first, the last, evenly spaced ones between, and those that differ."""
    entries = timeline.entries
    if len(entries) <= MAX_ANSWER_ENTRIES:
        return list(entries)
    step = (len(entries) - 1) / (MAX_ANSWER_ENTRIES - 1)
    picked = {round(i * step) for i in range(MAX_ANSWER_ENTRIES)}
    differing = {r.number for d in timeline.disagreements for r in d.readings}
    return [e for i, e in enumerate(entries) if i in picked or e.citation.number in differing]


def answer_from_timeline(pipeline, question: str, asked: ChangeQuestion) -> Answer | None:
    """The answer to a question of change from its topic's timeline, or None when the timeline is too thin."""
    timeline = build_timeline(pipeline, asked.topic, asked.filters)
    if len(timeline.entries) < MIN_CHANGE_ENTRIES:
        return None
    entries = shown_entries(timeline)
    numbers = {e.citation.number: new for new, e in enumerate(entries, start=1)}
    lines = [f"{spell_date(e.date)}: {e.sentence} [{e.citation.number}]" for e in entries]
    lines += [d.describe() for d in timeline.disagreements
              if all(r.number in numbers for r in d.readings)]
    text = renumber_markers("\n".join(lines), numbers.get)
    citations = [replace(e.citation, number=numbers[e.citation.number]) for e in entries]
    return Answer(question=question, text=text, abstained=False, citations=citations,
                  passages=[_passage(e.passage_id, c) for e, c in zip(entries, citations, strict=True)],
                  llm=pipeline.settings.llm, route=Route.TIMELINE, reason=CHANGE_REASON)


def _passage(passage_id: str, citation: Citation) -> Passage:
    return Passage(id=passage_id, source=citation.source, text=citation.text, title=citation.title,
                   date=citation.date, place=citation.place, outlet=citation.outlet, score=citation.score,
                   also_reported_by=citation.also_reported_by)
