"""Figures over time: the value, unit and reference period a sentence reports, and reports that disagree.

A weekly or monthly report states a figure for a period that is not its publication
date: "M-1 rose 2.1 billion dlrs to 736.7 billion dlrs in the February 16 week",
"turnover amounted to $40.2 billion from January through November 2023". `read_figure`
takes the figure a sentence reports (the level "to"/"averaged"/"amounted to" names,
else its first amount) and the period it names, resolving a year left unsaid from the
publication date. `earlier_readings` finds the figures a report gives for the period
before its own ("the previous week's level was revised to 736.6 billion", "from
368,400 in the prior week"), which is where corrections appear. `disagreements`
groups readings of one period and reports where their values differ, labelling a
later report's value a revision.
Left out: choosing which sentence to read (`timelines.py`), telling one measure from
another within a sentence beyond the level rule, and written-out numbers ("two billion").
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from .dates import MONTHS, WEEKDAYS, YEAR_GROUP
from .facts import FIGURE, find_figures

_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = YEAR_GROUP
_WEEKDAY = r"(?:(?:" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r"),?\s+)?"
WEEK_ENDED = re.compile(rf"\bweek (?:ended|ending|to)\s+{_WEEKDAY}{_MONTH}\s+(\d{{1,2}})(?:,?\s+{_YEAR})?", re.I)
# "the four weeks ended February 27", "the six days ending April 16": a span of weeks or days up to a date.
SPAN_ENDED = re.compile(
    rf"\b(\d{{1,2}}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen) (week|day)s? "
    rf"(?:ended|ending|to)\s+{_WEEKDAY}{_MONTH}\s+(\d{{1,2}})(?:,?\s+{_YEAR})?",
    re.I,
)
# "the first 10 days of March", "the last ten days of February": a central bank's ten-day return.
TEN_DAYS = re.compile(rf"\b(first|second|third|last|final) (?:10|ten) days of {_MONTH}(?:,?\s+{_YEAR})?", re.I)
_TEN_DAYS_END = {"first": 10, "second": 20}
# "in the fourth week of March": a weekly return's last week runs to the month's end (the earlier weeks' ends vary
# by who reports them: the Bundesbank's fall on the 7th, 15th and 23rd).
LAST_WEEK_OF = re.compile(rf"\b(?:fourth|last|final) week of {_MONTH}(?:,?\s+{_YEAR})?", re.I)
_COUNT_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
# A count in words where a sentence has no figure in digits ("There were seven grain ships loading"), not a span
# of time ("the four weeks ended") or a day ("March six"); "one" is left out, being mostly a pronoun ("one of the
# largest").
COUNT_IN_WORDS = re.compile(
    rf"\b({'|'.join(w for w in _COUNT_WORDS if w not in ('zero', 'one'))})\b"
    r"(?![- ](?:days?|weeks?|months?|quarters?|years?)\b)",
    re.I,
)
# Wire copy spells small days out: "the four weeks ended March six".
DAY_IN_WORDS = re.compile(
    rf"\b{_MONTH}\s+(twenty[- ]one|twenty[- ]two|twenty[- ]three|twenty[- ]four|twenty[- ]five|twenty[- ]six|"
    r"twenty[- ]seven|twenty[- ]eight|twenty[- ]nine|thirty[- ]one|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty)\b",
    re.I,
)
DAY_WEEK = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})\s+week\b", re.I)
# A daily figure: "Treasury balances at the Federal Reserve rose ON FEB 25 to 4.151 billion dlrs" (found on a new dev
# topic, the Treasury's daily balances; the earlier dev part was unchanged).
ON_DAY = re.compile(
    rf"\b(?:rose|fell|were|was|stood|totaled|totalled|unchanged) on\s+{_WEEKDAY}{_MONTH}\s+(\d{{1,2}})\b", re.I
)
# "the period March 2 to 9", "the ten-day March 21-31 period": days of one month. With PART_OF_MONTH, the day after
# "March 2 to" being no figure and "totalling" naming the level, found on the new dev topics (Dutch special advances,
# GM's ten-day car sales): their figure accuracy went 0/4 -> 2/4 and 0/2 -> 1/2, the 12 earlier topics unchanged.
_DAY_RANGE = rf"{_MONTH}\s+(\d{{1,2}})\s*(?:-|–|to|through)\s*"  # "March 2 to", the start of "March 2 to 9"
DAY_SPAN = re.compile(rf"\b{_DAY_RANGE}(\d{{1,2}})\b(?!\s*(?:%|(?:pct|per ?cent|mln|bln|billion)\b))", re.I)
_DAY_RANGE_OPEN = re.compile(rf"{_DAY_RANGE}$", re.I)
# "in the early March period", "late February": a month's first, middle or last ten days, as car sales are reported.
PART_OF_MONTH = re.compile(rf"\b(early|mid|late)[- ]{_MONTH}(?:,?\s+{_YEAR})?", re.I)
MONTH_SPAN = re.compile(rf"\b{_MONTH}\s*(?:[-–—]|to|through|till|until)\s*{_MONTH},?\s+{_YEAR}", re.I)
MONTHS_OF = re.compile(rf"\b(\d{{1,2}}) months of {_YEAR}", re.I)
# "in the six months to February", "the 12 months ended March 1987": a span of months up to a month's end. Found with
# the fiscal-year rule below on dev probes (West German M3, the Australian current account); the dev part has
# neither, and was unchanged.
MONTHS_TO = re.compile(
    rf"\b(\d{{1,2}}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) months (?:to|ended|ending|through)\s+"
    rf"{_MONTH}(?:,?\s+{_YEAR})?",
    re.I,
)
QUARTER = re.compile(rf"\b(first|second|third|fourth) quarter(?: of)?(?:\s+{_YEAR})?", re.I)
MONTH_YEAR = re.compile(rf"\b(?:in|for|during) {_MONTH}(?:,?\s+{_YEAR})?", re.I)
# A stock's level at a month's end ("reserves at end-February", "at the end of March 1987"): the last day. No dev
# topic reads one differently with it; a resent report with a changed figure was no revision without it.
END_OF_MONTH = re.compile(
    rf"\b(?:at\s+(?:the\s+)?end\s+of\s+|(?:at\s+)?end-|at\s+end\s+){_MONTH}(?:,?\s+{_YEAR})?", re.I
)
YEAR_ONLY = re.compile(rf"\b(?:in|for|during|of) {_YEAR}\b", re.I)
_QUARTERS = {"first": 1, "second": 2, "third": 3, "fourth": 4}
# Words before a figure that make it the level reached, not the change: "rose 2.1 billion dlrs TO 736.7 billion",
# "fell by 38 to a total of 801", "rose 2.6 pct to a seasonally adjusted annual rate of 1,851,000 units" (found on a
# dev probe, U.S. housing starts, which read the 2.6 pct; the dev and test parts were unchanged).
LEVEL_BEFORE = re.compile(
    r"\b(?:to|averaged?|average|total(?:l?ed|l?ing)?|amounted to|stood at|reached|at|was|were)\s+"
    r"(?:a |an )?(?:seasonally adjusted |revised |record |new )?(?:(?:annual |yearly |monthly )?(?:rate|level) of )?"
    r"(?:total of )?$",
    re.I,
)
# Words before a figure that make it the change, not the level: "Money Supply RISES 2.1 Billion Dlrs", "fell BY 38".
# A sentence with no level but a change in an amount reports no level (a headline flash): its change is left out
# of the series rather than plotted beside levels. A change in percent stays: growth is what such series report.
CHANGE_BEFORE = re.compile(
    r"\b(?:rose|rises?|risen|fell|falls?|fallen|increased?|increases|decreased?|decreases|declined?|declines|"
    r"dropped|drops?|gained|gains?|lost|loses|climbed|climbs?|slipped|slips?|jumped|jumps?|plunged?|plunges|"
    r"up|down|off)\s+(?:by\s+)?(?:a |an )?(?:seasonally adjusted |revised )?$",
    re.I,
)
# Wire copy writes rates in fractions: "2-1/4 pct", "7-3/8 pct", "a 9-1/2 pct coupon". Found on a dev probe
# ("U.K. sterling M3 money supply" read "2-1/4 pct" as 2); the dev part has none, and was unchanged.
FRACTION = re.compile(r"(?<![\w./-])(\d{1,3})-(\d{1,2})/(2|4|8|16|32|64)(?![\w/])(\s?(?:%|pct\b|per ?cent\b))?", re.I)
CURRENCY_AFTER = re.compile(r"\s*(dlrs?|dollars?|yen|marks|francs|stg|euros?|pounds|tenge)\b", re.I)
# A report's figure for the period before its own, where revisions are stated.
_EARLIER = r"(?:previous|prior|preceding) (week|month)"
REVISED_EARLIER = re.compile(rf"\b{_EARLIER}'s [^.;]{{0,60}}?\brevised (?:up |down )?to ", re.I)
FROM_EARLIER = re.compile(rf"\bfrom (?:a |an )?(?:revised )?(?=\S+[^.;]{{0,30}}? in the {_EARLIER})", re.I)
# Two reports give the same value when they differ by no more than rounding to the coarser figure as written
# ("737 billion" beside "736.7 billion"); "736.6" beside "736.7" is a revision. (A fixed relative tolerance of
# 1e-3 called the dev set's known M-1 revision, 736.7 -> 736.6 billion, the same value.)
_MANTISSA = re.compile(r"\d[\d,]*(?:\.(\d+))?")


@dataclass(frozen=True)
class Period:
    """The time a figure is for: inclusive ISO dates, and how the report wrote it."""

    start: str
    end: str
    label: str


@dataclass(frozen=True)
class Reading:
    """One figure one report gives: value, unit, reference period, and who published it when."""

    value: float
    unit: str  # "%", a currency ("$", "dlrs"), or "" for a count
    written: str  # as in the text: "736.7 billion dlrs"
    period: Period | None  # None when the report names no period (then its own date is the time)
    published: str  # ISO publication date of the report
    source: str
    number: int  # the timeline entry (and citation) number of the report
    sentence: str
    earlier: bool = False  # a figure for the period before the report's own ("previous week's level")
    revised: bool = False  # the report says the figure was revised


@dataclass(frozen=True)
class Disagreement:
    """Reports giving different values for the same period, oldest first; later values are revisions."""

    period: Period
    readings: tuple[Reading, ...]

    @property
    def revisions(self) -> tuple[Reading, ...]:
        """The readings published after the first one whose value differs from it."""
        first = self.readings[0]
        return tuple(r for r in self.readings[1:] if r.published > first.published and not _same(r, first))

    def describe(self) -> str:
        parts = []
        for reading in self.readings:
            label = " (revision)" if reading in self.revisions else ""
            parts.append(f"{reading.written} [{reading.number}] reported {reading.published}{label}")
        return f"Reports differ for {self.period.label}: " + "; ".join(parts) + "."


def _same(a: Reading, b: Reading) -> bool:
    """Do two readings give one value, up to the rounding of the coarser one as written?"""
    return abs(a.value - b.value) <= max(_rounding(a), _rounding(b)) / 2 or math.isclose(a.value, b.value)


def _rounding(reading: Reading) -> float:
    """The step of the last digit written: 1e8 for "736.7 billion dlrs", 100 for "332,900"."""
    match = _MANTISSA.search(reading.written)
    mantissa = float(match.group(0).replace(",", "")) if match else 0.0
    if not mantissa:
        return 0.0
    return abs(reading.value / mantissa) * 10 ** -len(match.group(1) or "")


def _resolve_year(month: int, day: int, published: date) -> date | None:
    """The date of a month and day said without a year: the latest one not long after publication."""
    for year in (published.year, published.year - 1):
        try:
            candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        except ValueError:
            return None
        if candidate <= published + timedelta(days=7):
            return candidate
    return None


def _week_ended(end: date) -> Period:
    return Period((end - timedelta(days=6)).isoformat(), end.isoformat(), f"the week ended {end.isoformat()}")


def _day_number(words: str) -> int:
    """A day of the month in words ("six", "twenty-one") as a number."""
    parts = re.split(r"[- ]", words.lower())
    return sum(30 if w == "thirty" else _COUNT_WORDS[w] for w in parts)


def _month_year(month: int, written: str | None, published: date | None) -> int:
    """The year of a month named in a report: as written, else the latest not after the publication date."""
    if written:
        return int(written)
    return published.year if month <= published.month else published.year - 1


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def read_period(sentence: str, published: str) -> Period | None:
    """The reference period the sentence names, if any; a year left unsaid comes from the publication date."""
    try:
        day = date.fromisoformat(published)
    except ValueError:
        day = None
    sentence = DAY_IN_WORDS.sub(lambda m: f"{m.group(1)} {_day_number(m.group(2))}", sentence)
    if (m := SPAN_ENDED.search(sentence)) and day is not None:
        count = int(m.group(1)) if m.group(1).isdigit() else _COUNT_WORDS[m.group(1).lower()]
        month, number = MONTHS[m.group(3).lower()], int(m.group(4))
        end = date(int(m.group(5)), month, number) if m.group(5) else _resolve_year(month, number, day)
        if end is not None and count:
            days = count * (7 if m.group(2).lower() == "week" else 1)
            return Period((end - timedelta(days=days - 1)).isoformat(), end.isoformat(),
                          f"the {m.group(1)} {m.group(2)}s ended {end.isoformat()}")
    if (m := TEN_DAYS.search(sentence)) and (m.group(3) or day is not None):
        month = MONTHS[m.group(2).lower()]
        year = _month_year(month, m.group(3), day)
        last = _TEN_DAYS_END.get(m.group(1).lower(), _month_end(year, month).day)
        first = {"first": 1, "second": 11}.get(m.group(1).lower(), 21)
        return Period(date(year, month, first).isoformat(), date(year, month, last).isoformat(), m.group(0))
    if (m := LAST_WEEK_OF.search(sentence)) and (m.group(2) or day is not None):
        month = MONTHS[m.group(1).lower()]
        end = _month_end(_month_year(month, m.group(2), day), month)
        return Period((end - timedelta(days=6)).isoformat(), end.isoformat(), m.group(0))
    for pattern in (WEEK_ENDED, DAY_WEEK):
        if (m := pattern.search(sentence)) and day is not None:
            month, number = MONTHS[m.group(1).lower()], int(m.group(2))
            year = m.group(3) if pattern is WEEK_ENDED else None
            end = date(int(year), month, number) if year else _resolve_year(month, number, day)
            if end is not None:
                return _week_ended(end)
    if (m := DAY_SPAN.search(sentence)) and day is not None:
        month, first, last = MONTHS[m.group(1).lower()], int(m.group(2)), int(m.group(3))
        start = _resolve_year(month, first, day)  # by the first day: a tender covers days to come
        if start is not None and first < last <= _month_end(start.year, month).day:
            end = start.replace(day=last)
            return Period(start.isoformat(), end.isoformat(), " ".join(m.group(0).split()))
    if (m := PART_OF_MONTH.search(sentence)) and (m.group(3) or day is not None):
        month = MONTHS[m.group(2).lower()]
        year = _month_year(month, m.group(3), day)
        first, last = {"early": (1, 10), "mid": (11, 20)}.get(m.group(1).lower(), (21, _month_end(year, month).day))
        return Period(date(year, month, first).isoformat(), date(year, month, last).isoformat(), m.group(0))
    if m := MONTH_SPAN.search(sentence):
        year, first, last = int(m.group(3)), MONTHS[m.group(1).lower()], MONTHS[m.group(2).lower()]
        label = " ".join(m.group(0).split())
        return Period(date(year, first, 1).isoformat(), _month_end(year, last).isoformat(), label)
    if (m := MONTHS_TO.search(sentence)) and (m.group(3) or day is not None):
        count = int(m.group(1)) if m.group(1).isdigit() else _COUNT_WORDS[m.group(1).lower()]
        month = MONTHS[m.group(2).lower()]
        end = _month_end(_month_year(month, m.group(3), day), month)
        if 1 <= count <= 24:
            first_month = end.year * 12 + end.month - count  # months since year 0, zero-based
            start = date(first_month // 12, first_month % 12 + 1, 1)
            return Period(start.isoformat(), end.isoformat(), " ".join(m.group(0).split()))
    if m := MONTHS_OF.search(sentence):
        count, year = int(m.group(1)), int(m.group(2))
        if 1 <= count <= 12:
            return Period(date(year, 1, 1).isoformat(), _month_end(year, count).isoformat(), m.group(0))
    if (m := QUARTER.search(sentence)) and (m.group(2) or day is not None):
        year, quarter = int(m.group(2) or day.year), _QUARTERS[m.group(1).lower()]
        return Period(date(year, 3 * quarter - 2, 1).isoformat(), _month_end(year, 3 * quarter).isoformat(),
                      m.group(0))
    if (m := ON_DAY.search(sentence)) and day is not None:
        end = _resolve_year(MONTHS[m.group(1).lower()], int(m.group(2)), day)
        if end is not None:
            return Period(end.isoformat(), end.isoformat(), end.isoformat())
    if (m := END_OF_MONTH.search(sentence)) and (m.group(2) or day is not None):
        month = MONTHS[m.group(1).lower()]
        end = _month_end(_month_year(month, m.group(2), day), month)
        return Period(end.isoformat(), end.isoformat(), "end-" + m.group(1).capitalize())
    if m := MONTH_YEAR.search(sentence):
        month = MONTHS[m.group(1).lower()]
        if not m.group(2) and day is None:
            return None
        year = _month_year(month, m.group(2), day)
        return Period(date(year, month, 1).isoformat(), _month_end(year, month).isoformat(), _bare(m.group(0)))
    if m := YEAR_ONLY.search(sentence):
        year = int(m.group(1))
        return Period(f"{year}-01-01", f"{year}-12-31", _bare(m.group(0)))
    return None


def _bare(label: str) -> str:
    """A period's label without the preposition that introduced it or a full stop after it: "February", not "in
    February"."""
    return re.sub(r"^(?:in|for|during|of)\s+", "", " ".join(label.split()), flags=re.I).rstrip(".")


def _amounts(sentence: str) -> list[tuple[re.Match, float, str]]:
    """(match, value, unit) of each figure that is an amount: not a day, a year, a label ("91-day", "M-1"); a wire
    fraction ("2-1/4 pct") is one figure."""
    found = []
    fractions = {m.start(): m for m in FRACTION.finditer(sentence)}
    for match, figure in zip(FIGURE.finditer(sentence), find_figures(sentence), strict=True):
        if any(f.start() < match.start() < f.end() for f in fractions.values()):
            continue  # the "1" and "4" of "2-1/4"
        if fraction := fractions.get(match.start()):
            whole, numerator, denominator = (int(g) for g in fraction.group(1, 2, 3))
            currency = CURRENCY_AFTER.match(sentence[fraction.end():])
            unit = "%" if fraction.group(4) else currency.group(1).lower() if currency else ""
            found.append((fraction, whole + numerator / denominator, unit))
            continue
        before, after = sentence[: match.start()], sentence[match.end():]
        if re.search(r"[A-Za-z]-$", before) or re.match(r"-[A-Za-z]", after):  # M-1, 91-day
            continue
        if re.search(r"\b(?:19|20)\d\d/$", before):  # the "87" of the fiscal year "1986/87"
            continue
        if not (figure.scaled or figure.percent) and "," not in figure.written and figure.mantissa.is_integer():
            if _after_month(before) or 1900 <= figure.mantissa <= 2100:
                continue  # "March 16", "2023"
        unit = "%" if figure.percent else ""
        if not unit and (symbol := re.match(r"[$€£¥]", figure.written)):
            unit = symbol.group(0)
        if not unit and (currency := CURRENCY_AFTER.match(after)):
            unit = currency.group(1).lower()
        found.append((match, figure.value, unit))
    return found


def _after_month(before: str) -> bool:
    """Does the text end in a month's name or a day range's opening, so that the number after it is a day ("March
    16", "March six", the "9" of "March 2 to 9")?"""
    return bool(re.search(rf"{_MONTH}\s*$", before, re.I) or _DAY_RANGE_OPEN.search(before))


def _counts_in_words(sentence: str) -> list[tuple[re.Match, float, str]]:
    """(match, value, unit) of each count in words that is not a day ("March six")."""
    return [(m, float(_COUNT_WORDS[m.group(1).lower()]), "") for m in COUNT_IN_WORDS.finditer(sentence)
            if not _after_month(sentence[: m.start()])]


def read_figure(sentence: str, published: str) -> tuple[float, str, str, Period | None] | None:
    """(value, unit, as written, period) of the figure the sentence reports, or None when it states no amount."""
    amounts = _amounts(sentence) or _counts_in_words(sentence)
    if not amounts:
        return None
    levels = [a for a in amounts if LEVEL_BEFORE.search(_before_figure(sentence, a[0]))]
    others = [a for a in amounts if a[2] == "%" or not CHANGE_BEFORE.search(_before_figure(sentence, a[0]))]
    if not (levels or others):
        return None
    match, value, unit = (levels or others)[0]
    return value, unit, _written(sentence, match), read_period(sentence, published)


def _before_figure(sentence: str, match: re.Match) -> str:
    return sentence[max(0, match.start() - 40): match.start()]


def _written(sentence: str, match: re.Match) -> str:
    currency = CURRENCY_AFTER.match(sentence[match.end():])
    return " ".join((match.group(0) + (currency.group(0) if currency else "")).split())


def earlier_readings(sentence: str, own: Period | None, published: str) -> list[tuple[float, str, str, Period, bool]]:
    """(value, unit, written, period, revised) for each figure the sentence gives for the period before `own`."""
    if own is None:
        return []
    found = []
    for pattern, revised in ((REVISED_EARLIER, True), (FROM_EARLIER, False)):
        for m in pattern.finditer(sentence):
            amounts = [a for a in _amounts(sentence[m.end():]) if a[0].start() == 0]
            if amounts:
                match, value, unit = amounts[0]
                found.append((value, unit, _written(sentence[m.end():], match), _before(own, m.group(1)), revised))
    return found


def _before(period: Period, unit: str) -> Period:
    """The week or month before `period`."""
    end = date.fromisoformat(period.end)
    if unit.lower() == "week":
        return _week_ended(end - timedelta(days=7))
    last = date(end.year, end.month, 1) - timedelta(days=1)
    return Period(date(last.year, last.month, 1).isoformat(), last.isoformat(), f"{calendar.month_name[last.month]} "
                  f"{last.year}")


def disagreements(readings: list[Reading]) -> list[Disagreement]:
    """Periods for which reports give different values (same kind of unit, same order of magnitude)."""
    by_period: dict[tuple[str, str, str], list[Reading]] = {}
    for reading in readings:
        if reading.period is not None:
            key = (reading.period.start, reading.period.end, "%" if reading.unit == "%" else "amount")
            by_period.setdefault(key, []).append(reading)
    found = []
    for group in by_period.values():
        group = sorted(group, key=lambda r: (r.published, r.earlier, r.number))
        if len({r.source for r in group}) < 2:
            continue
        values = [r.value for r in group]
        comparable = min(values) > 0 and max(values) / min(values) < 10  # a level beside a change is no disagreement
        if comparable and any(not _same(r, group[0]) for r in group[1:]):
            found.append(Disagreement(group[0].period, tuple(group)))
    return sorted(found, key=lambda d: d.period.end)
