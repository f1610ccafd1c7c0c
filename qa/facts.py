"""The facts a sentence states: figures ("$40.2bn", "1.46%", "2023") and names (capitalised words).

Grounding compares them between answers and passages; the chain also asks of a question
which names and figures it is about, and whether it asks for a quantity at all.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from .dates import MONTHS, WEEKDAYS, spell_date
from .text import STOPWORDS
from .types import Citation, Passage

_SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "trn": 1e12,
}
_PERCENT = {"%", "percent", "per cent", "pct"}
CURRENCY_SIGNS = "$€£¥"
FIGURE = re.compile(
    r"(?<![\w.])(?:[" + CURRENCY_SIGNS + r"]\s?)?(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:(?P<abbrev>bn|mn|mln|bln|trn|tn|k|m|b)\b"
    r"|\s?(?P<word>%|per ?cent\b|pct\b|thousand\b|million\b|billion\b|trillion\b|mln\b|bln\b|bn\b)"
    r"|(?:st|nd|rd|th)\b)?",
    re.IGNORECASE,
)
CAPITALISED = re.compile(r"\b[A-Z][\w’']*")
# Capitalised only because they start a sentence or a title, never entities of their own.
_NOT_ENTITIES = STOPWORDS | {
    "yes",
    "no",
    "both",
    "there",
    "these",
    "those",
    "however",
    "meanwhile",
    "then",
    "while",
    "although",
    "because",
    "since",
    "if",
    "according",
    "during",
    "in",
    "on",
    "at",
    "as",
    "so",
    "thus",
    "also",
    "but",
    "its",
    "his",
    "her",
    "their",
    "our",
    "my",
    "your",
    "mr",
    "mrs",
    "ms",
    "dr",
    "answer",
    "question",
}


@dataclass(frozen=True)
class Figure:
    """A number as written ("$40.2bn") and what it means: its value, and whether it is a percentage."""

    written: str
    value: float  # the number times its scale: 40.2bn -> 4.02e10
    mantissa: float  # the number as printed: 40.2
    percent: bool
    scaled: bool

    @property
    def currency(self) -> bool:
        """Is it written as money ("$15", "£2.5m")?"""
        return self.written[:1] in CURRENCY_SIGNS

    def found_in(self, figures: Sequence["Figure"]) -> bool:
        """Does any of `figures` state this figure? A bare number matches the same number at any scale."""
        for other in figures:
            if self.percent:
                if other.percent and _same(self.value, other.value):
                    return True
            elif self.scaled:
                if not other.percent and _same(self.value, other.value):
                    return True
            elif _same(self.mantissa, other.mantissa):
                return True
        return False


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def find_figures(text: str) -> list[Figure]:
    """Every figure in the text, with "bn"/"billion", "%"/"percent" and thousands separators understood."""
    figures = []
    for match in FIGURE.finditer(text):
        mantissa = float(match.group("number").replace(",", ""))
        unit = (match.group("abbrev") or match.group("word") or "").lower().replace("per cent", "percent")
        percent = unit in _PERCENT or unit == "percent"
        scale = _SCALES.get(unit, 1.0)
        figures.append(Figure(match.group(0).strip(), mantissa * scale, mantissa, percent, scale != 1.0))
    return figures


def find_entities(text: str) -> list[str]:
    """Capitalised words that name something (people, places, bodies, months), once each."""
    entities: dict[str, str] = {}
    for match in CAPITALISED.finditer(text):
        for part in re.split(r"[-–—]", match.group(0)):
            word = re.sub(r"['’]s?$", "", part)
            if len(word) > 1 and word.lower() not in _NOT_ENTITIES and not word.isdigit():
                entities.setdefault(word.lower(), word)
    return list(entities.values())


def question_names(question: str) -> list[str]:
    """The names a question asks about; a month or weekday is a time, which the date window checks, not a name."""
    return [e for e in find_entities(question) if e.lower() not in MONTHS and e.lower() not in WEEKDAYS]


def entity_in(entity: str, words: set[str]) -> bool:
    """Is the entity among the (lowercase) words, allowing a short ending ("Asia"/"Asian", "Europe"/"European")?"""
    entity = entity.lower()
    if entity in words:
        return True
    return len(entity) >= 4 and any(
        len(w) >= 4 and (w.startswith(entity) or entity.startswith(w)) and abs(len(w) - len(entity)) <= 3 for w in words
    )


def lower_words(text: str) -> set[str]:
    return {re.sub(r"['’]s?$", "", w) for w in re.findall(r"[\w’']+", text.lower())}


def about_article(passage: Passage | Citation) -> list[str]:
    """What an article says of itself: title, date (as written and spelled out), outlet and dateline place.

    They count as evidence as its text does: "in 2024" is backed by a passage dated 2024-02-15,
    "Samarkand" by its dateline, "Trend reported" by its outlet.
    """
    return [passage.title, passage.date, spell_date(passage.date), passage.outlet, passage.place]


def mentioned(passages: Sequence[Passage | Citation]) -> tuple[list[Figure], set[str]]:
    """The figures and (lowercase) words the passages and their articles state."""
    searchable = " ".join(" ".join([*about_article(p), p.text]) for p in passages)
    return find_figures(searchable), lower_words(searchable)


def question_terms_missing(question: str, passages: Sequence[Passage | Citation]) -> list[str]:
    """Names and figures in the question that none of the passages mentions (the articles are about something else)."""
    figures, words = mentioned(passages)
    missing = [f.written for f in find_figures(question) if not f.found_in(figures)]
    return missing + [e for e in find_entities(question) if not entity_in(e, words)]


# "How many", "how much", "what percentage" ... : the answer to these is a figure.
QUANTITY_QUESTION = re.compile(
    r"\bhow (?:many|much|long|far|big|large|high|old)\b"
    r"|\bwhat (?:percentage|proportion|share|amount|number|price|sum)\b"
    r"|\bby (?:how much|what (?:percentage|amount))\b|\bwhat (?:majority|score|figure|total)\b",
    re.IGNORECASE,
)


def asks_for_quantity(question: str) -> bool:
    """Is the question asking for a number ("how many", "what percentage"), so an answer without one answers nothing?"""
    return bool(QUANTITY_QUESTION.search(question))
