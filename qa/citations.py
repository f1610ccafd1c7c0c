"""Reading the [n] markers of a generated answer and turning them into citations.

Markers that name a passage the model was shown are kept and renumbered 1..m in
order of first use; markers naming anything else are dropped. An answer that
cites nothing gets the passage that shares the most words with it, if any shares
enough. Whether a cited passage really supports its sentence, beyond shared
words, is a grounding question and not answered here.
"""

from __future__ import annotations

import re

from .types import Citation, Passage

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
ABSTENTION = re.compile(
    r"\b(?:articles?|passages?|texts?|sources?)\s+(?:do|does|did)\s*(?:not|n't)\s+(?:say|mention|contain|answer|state|specify|include)"
    r"|\bnot\s+(?:mentioned|stated|specified|found|given)\b|\bno information\b|\bcannot be (?:determined|answered)\b",
    re.IGNORECASE,
)
WORD = re.compile(r"[\w$%.,]+")
# The prompt lists passages as "[n] Title (date, outlet): text"; a small model sometimes starts
# writing such an entry instead of an answer. The header is the prompt's format, never an answer.
PASSAGE_HEADER = re.compile(r"(?:^|(?<=[.!?]\s))(?:(?![.!?]\s)[^\n])*?\(\s*(?:\d{4}-\d{2}-\d{2}|undated)\s*(?:,[^()\n]*)?\):\s*")
STOPWORDS = frozenset(
    "the a an and or of to in on at for by with from as is are was were be been has have had that this "
    "which who whom what when where why how it its their his her they he she we you i not also than "
    "into about after before during over under more most such other some any all can could would should".split()
)
MIN_OVERLAP = 0.5  # share of the answer's content words a passage must contain to be attached


def marker_numbers(text: str) -> list[int]:
    """Every number inside [n] / [n, m] markers, in order of appearance."""
    numbers = []
    for match in MARKER.finditer(text):
        numbers.extend(int(n) for n in re.split(r"\s*[,;]\s*", match.group(1)))
    return numbers


def strip_passage_headers(text: str) -> str:
    """The model's text without "Title (2024-02-15, Trend):" headers copied from the prompt's passage list."""
    return " ".join(PASSAGE_HEADER.sub(" ", text).split())


def is_abstention(text: str) -> bool:
    """Does the generated text say the articles don't answer the question?"""
    return not text.strip() or bool(ABSTENTION.search(text))


def content_words(text: str) -> set[str]:
    words = {w.strip(".,").lower() for w in WORD.findall(text)}
    return {w for w in words if w and w not in STOPWORDS}


def word_overlap(text: str, passage_text: str) -> float:
    """Share of `text`'s content words that occur in the passage."""
    words = content_words(MARKER.sub("", text))
    if not words:
        return 0.0
    return len(words & content_words(passage_text)) / len(words)


def best_supporting_passage(text: str, passages: list[Passage]) -> int | None:
    """Index of the passage sharing most of the text's content words, if it shares enough."""
    scored = [(word_overlap(text, p.text), i) for i, p in enumerate(passages)]
    if not scored:
        return None
    overlap, index = max(scored, key=lambda pair: (pair[0], -pair[1]))
    return index if overlap >= MIN_OVERLAP else None


def cite(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Renumber valid markers 1..m by first use, drop invalid ones, and build the citations."""
    order: list[int] = []  # 0-based passage indexes in order of first citation

    def renumber(match: re.Match) -> str:
        kept = []
        for raw in re.split(r"\s*[,;]\s*", match.group(1)):
            index = int(raw) - 1
            if 0 <= index < len(passages):
                if index not in order:
                    order.append(index)
                new = order.index(index) + 1
                if new not in kept:
                    kept.append(new)
        return " [" + ", ".join(str(n) for n in kept) + "]" if kept else ""

    cleaned = MARKER.sub(renumber, text).strip()
    if not order:
        index = best_supporting_passage(cleaned, passages)
        if index is not None:
            order.append(index)
            cleaned = _append_marker(cleaned, 1)
    citations = [Citation.from_passage(n, passages[i]) for n, i in enumerate(order, start=1)]
    return cleaned, citations


def _append_marker(text: str, number: int) -> str:
    """Put [number] before the final full stop, as the model would have."""
    if text.endswith((".", "!", "?")):
        return f"{text[:-1]} [{number}]{text[-1]}"
    return f"{text} [{number}]"
