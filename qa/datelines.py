"""What news prose says about itself: dateline place, outlet, a title to show, and dates.

Wire copy opens with a dateline ("SAMARKAND. KAZINFORM – ...", "ASTANA, Kazakhstan,
February 15. ...", "WASHINGTON, March 3 (Reuters) - ...") and sometimes credits the
outlet in the first paragraph (", Trend reports."). These helpers read those
conventions and return "" when the text does not give them: nothing is guessed.
`normalise_date` turns the common ways of writing a date into YYYY-MM-DD.

Left out: named-entity recognition, time zones (a date is taken as written), and
numeric day/month orders that are ambiguous (03/04/2024).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from qa.dates import MONTHS
from qa.text import split_sentences

_MONTH = r"(?i:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"  # Feb, FEB, February

_PLACE = r"(?P<place>[A-Z][A-Z'’\-]+(?: [A-Z][A-Z'’\-]+){0,3})"  # all capitals, as datelines are set
_DASH = r"[–—-]"
_DATELINES = [
    # SAMARKAND. KAZINFORM – The Kazakh delegation ...
    re.compile(_PLACE + r"\.\s+(?P<outlet>[A-Z][A-Z\-]+)\s+" + _DASH + r"\s"),
    # ASTANA, Kazakhstan, February 15. ...   WASHINGTON, March 3 (Reuters) - ...
    re.compile(
        _PLACE + r"(?:,\s+[A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*)*)?,\s+" + _MONTH + r"\s+\d{1,2}"
        r"\s*(?:\((?P<tag>[A-Z][\w .&'-]{0,30})\))?\s*(?:\.|" + _DASH + r")\s"
    ),
    # LONDON (Reuters) - ...
    re.compile(_PLACE + r"(?:,\s+[A-Za-z. ]{1,30})?\s+\((?P<tag>[A-Z][\w .&'-]{0,30})\)\s*" + _DASH + r"\s"),
]
_REPORTS = re.compile(r",\s+(?P<outlet>[A-Z][\w.&-]*(?: [A-Z][\w.&-]*){0,2}) reports\b")
_LONGEST_DERIVED_TITLE = 90


@dataclass(frozen=True)
class Dateline:
    """The opening credit of a wire story: where it was filed and by whom."""

    place: str = ""
    outlet: str = ""
    end: int = 0  # where the dateline ends in the text, 0 when there is none


def find_dateline(text: str) -> Dateline:
    """The dateline place and the outlet credited in the article's opening, or "" for each when absent."""
    first_paragraph = text.lstrip().split("\n\n", 1)[0]
    offset = len(text) - len(text.lstrip())
    place = outlet = ""
    end = 0
    for pattern in _DATELINES:
        if match := pattern.match(first_paragraph):
            place = " ".join(match.group("place").split()).title()
            named = match.groupdict().get("outlet") or match.groupdict().get("tag") or ""
            outlet, end = _readable_outlet(named), offset + match.end()
            break
    if not outlet and (credit := _REPORTS.search(first_paragraph)):
        outlet = credit.group("outlet")
    return Dateline(place=place, outlet=outlet, end=end)


def derive_title(text: str) -> str:
    """A title for an article that has none: its first sentence without the dateline, cut to ~90 characters."""
    dateline = find_dateline(text)
    opening = text[dateline.end :]
    sentences = split_sentences(opening)
    if not sentences:
        return ""
    start, end = sentences[0]
    sentence = " ".join(opening[start:end].split())
    if dateline.outlet:  # drop the credit: ", Kazinform cites the press service." / ", Trend reports."
        sentence = re.sub(r",\s+" + re.escape(dateline.outlet) + r"\s+(?:reports|cites|said|says)\b.*$", ".", sentence)
    if len(sentence) <= _LONGEST_DERIVED_TITLE:
        return sentence
    cut = sentence[: _LONGEST_DERIVED_TITLE + 1].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return cut + "…"


def tidy_paragraphs(text: str) -> str:
    """Collapse whitespace inside lines and keep one blank line between paragraphs."""
    paragraphs = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    tidied = []
    for paragraph in paragraphs:
        lines = [" ".join(line.split()) for line in paragraph.split("\n")]
        if kept := "\n".join(line for line in lines if line):
            tidied.append(kept)
    return "\n\n".join(tidied)


def normalise_date(value: str) -> str:
    """`value` as YYYY-MM-DD, or "" when it is not a date written in a common way."""
    value = " ".join(str(value).split())
    if match := re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)", value):  # 2024-02-15T10:00:00Z, 2024/02/15
        return _iso_date(match.group(1), match.group(2), match.group(3))
    # 15 February 2024, 15th Feb 2024, 26-FEB-1987 15:01:01, Thu, 15 Feb 2024 10:00:00 GMT
    day_first = r"\b(\d{1,2})(?:st|nd|rd|th)?[\s-]+(" + _MONTH + r")[\s,-]+(\d{4})\b"
    if match := re.search(day_first, value):
        return _iso_date(match.group(3), _month_number(match.group(2)), match.group(1))
    # Feb 15, 2024 / February 15 2024
    month_first = r"\b(" + _MONTH + r")\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b"
    if match := re.search(month_first, value):
        return _iso_date(match.group(3), _month_number(match.group(1)), match.group(2))
    return ""


def _month_number(name: str) -> int:
    return MONTHS[name.rstrip(".").lower()]


def _iso_date(year: str | int, month: str | int, day: str | int) -> str:
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:  # 2024-02-31 and friends
        return ""


def _readable_outlet(name: str) -> str:
    """KAZINFORM -> Kazinform; short acronyms (AP, AFP, TASS) stay as they are."""
    name = " ".join(name.split())
    return name.title() if name.isupper() and len(name) > 4 else name
