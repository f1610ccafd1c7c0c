"""Time in questions: "in 2023", "last February", "since 2022", "latest" become a date window or a recency wish.

`parse_time_expression(question, now)` returns a `TimeHint`: an inclusive window of
publication dates the question points at, and whether it asks for the most recent
news. Relative expressions ("last February", "this year") resolve against `now`,
which for an archive is the newest article's date, not the wall clock. Retrieval
decides how hard to apply the hint (`retrieval.py`); nothing here touches the store.
Statistical periods ("January-November 2023", "the 11 months of 2022", "the first
half of 2024") draw no window: they are reported after they end, often much later.
Left out: week numbers, "two years ago", and non-English expressions.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
WEEKDAYS = {name.lower() for name in calendar.day_name} | {name.lower() for name in calendar.day_abbr}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = r"((?:19|20)\d{2})"
YEAR_GROUP = _YEAR  # a year of this century or the last, as one regex group; series.py reads periods with it

RECENT = re.compile(r"\b(latest|most recent|newest|recently|currently|now|this week|today)\b", re.IGNORECASE)
SINCE = re.compile(rf"\b(?:since|after|from)\s+(?:{_MONTH}\s+)?{_YEAR}\b", re.IGNORECASE)
BEFORE = re.compile(rf"\b(?:before|until|prior to)\s+(?:{_MONTH}\s+)?{_YEAR}\b", re.IGNORECASE)
BETWEEN = re.compile(rf"\bbetween\s+{_YEAR}\s+and\s+{_YEAR}\b", re.IGNORECASE)
DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})\s+{_MONTH}\.?,?\s+{_YEAR}\b", re.IGNORECASE)
MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\.?\s+(\d{{1,2}}),?\s+{_YEAR}\b", re.IGNORECASE)
MONTH_YEAR = re.compile(rf"\b{_MONTH}\.?,?\s+{_YEAR}\b", re.IGNORECASE)
YEAR = re.compile(rf"\b(?:in|during|of|for)\s+{_YEAR}\b", re.IGNORECASE)
RELATIVE_MONTH = re.compile(rf"\b(last|this|past)\s+{_MONTH}\b", re.IGNORECASE)
RELATIVE_YEAR = re.compile(r"\b(last|this|past)\s+year\b", re.IGNORECASE)
# A span of months or a share of a year names a statistical period, reported after it ends, often
# much later and beside other periods ("January-November 2023 ... compared to 2022"): publication
# dates say little about which article holds it, so no window is drawn for it.
PERIOD = re.compile(
    rf"\b{_MONTH}\s*(?:[-–—]|to|through|till|until)\s*{_MONTH}\b|\b\d+\s+months\b"
    r"|\b(?:first|second|third|fourth|last)\s+(?:half|quarter)\b|\bq[1-4]\b|\b(?:whole|full|all)\s+(?:of\s+)?(?:the\s+)?(?:year|(?:19|20)\d{2})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeHint:
    """What a question says about when: a window of dates (either end may be open) and/or recency."""

    start: date | None = None
    end: date | None = None
    recent: bool = False

    @property
    def has_window(self) -> bool:
        return self.start is not None or self.end is not None


def _month_window(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _day(year: int, month: int, day: int) -> tuple[date, date] | None:
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return d, d


def _window(question: str, now: date) -> tuple[date | None, date | None]:
    if m := BETWEEN.search(question):
        first, last = sorted((int(m.group(1)), int(m.group(2))))
        return date(first, 1, 1), date(last, 12, 31)
    if m := SINCE.search(question):
        return date(int(m.group(2)), MONTHS[m.group(1).lower()] if m.group(1) else 1, 1), None
    if m := BEFORE.search(question):
        return None, date(int(m.group(2)), MONTHS[m.group(1).lower()] if m.group(1) else 1, 1)
    if (m := DAY_MONTH_YEAR.search(question)) and (
        window := _day(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
    ):
        return window
    if (m := MONTH_DAY_YEAR.search(question)) and (
        window := _day(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))
    ):
        return window
    if m := MONTH_YEAR.search(question):
        return _month_window(int(m.group(2)), MONTHS[m.group(1).lower()])
    if m := YEAR.search(question):
        year = int(m.group(1))
        return date(year, 1, 1), date(year, 12, 31)
    if m := RELATIVE_MONTH.search(question):
        month = MONTHS[m.group(2).lower()]
        # "last February" said in March 2024 is February 2024; said in January 2024 it is February 2023.
        year = (
            now.year if (month < now.month or (m.group(1).lower() == "this" and month <= now.month)) else now.year - 1
        )
        return _month_window(year, month)
    if m := RELATIVE_YEAR.search(question):
        year = now.year if m.group(1).lower() == "this" else now.year - 1
        return date(year, 1, 1), date(year, 12, 31)
    return None, None


def parse_time_expression(question: str, now: date) -> TimeHint:
    """The date window and recency wish a question expresses, relative to `now`."""
    start, end = _window(question, now) if not PERIOD.search(question) else (None, None)
    return TimeHint(start=start, end=end, recent=bool(RECENT.search(question)))


def window_slack(hint: TimeHint) -> timedelta:
    """How long after a named time its news may still be published: longer for longer windows."""
    if hint.start and hint.end:
        days = (hint.end - hint.start).days
        return timedelta(days=3 if days < 7 else 31 if days < 40 else 92)
    return timedelta(0)


def date_number(value: date | str | None) -> int | None:
    """YYYYMMDD as an int, the form dates take in chunk metadata (Chroma filters numbers only)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return int(value.replace("-", "")[:8])
    return value.year * 10000 + value.month * 100 + value.day


def spell_date(iso: str) -> str:
    """An ISO date as a reader writes it ("2022-11-18" -> "18 November 2022"); other text comes back as it is."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"
