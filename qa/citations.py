"""Reading the [n] markers of a generated answer and turning them into citations.

Markers that name a passage the model was shown are kept and renumbered 1..m in
order of first use; markers naming anything else are dropped. An answer that
cites nothing gets the passage that shares the most words with it, if any shares
enough. Whether a cited passage really supports its sentence, beyond shared
words, is a grounding question and not answered here.
"""

from __future__ import annotations

import re

from .policy import ATTACH_MIN_OVERLAP
from .text import format_marker, renumber_markers, word_overlap
from .types import Citation, Passage

# The prompt lists passages as "[n] Title (date, outlet): text"; a small model sometimes starts
# writing such an entry instead of an answer. The header is the prompt's format, never an answer.
PASSAGE_HEADER = re.compile(
    r"(?:^|(?<=[.!?]\s))(?:(?![.!?]\s)[^\n])*?\(\s*(?:\d{4}-\d{2}-\d{2}|undated)\s*(?:,[^()\n]*)?\):\s*"
)


def strip_passage_headers(text: str) -> str:
    """The model's text without "Title (2024-02-15, Trend):" headers copied from the prompt's passage list."""
    return " ".join(PASSAGE_HEADER.sub(" ", text).split())


def best_supporting_passage(text: str, passages: list[Passage]) -> int | None:
    """Index of the passage sharing most of the text's content words, if it shares enough."""
    scored = [(word_overlap(text, p.text), i) for i, p in enumerate(passages)]
    if not scored:
        return None
    overlap, index = max(scored, key=lambda pair: (pair[0], -pair[1]))
    return index if overlap >= ATTACH_MIN_OVERLAP else None


def cite(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Renumber valid markers 1..m by first use, drop invalid ones, and build the citations."""
    order: list[int] = []  # 0-based passage indexes in order of first citation

    def renumber(number: int) -> int | None:
        index = number - 1
        if not 0 <= index < len(passages):
            return None
        if index not in order:
            order.append(index)
        return order.index(index) + 1

    cleaned = renumber_markers(text, renumber).strip()
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
        return f"{text[:-1]}{format_marker([number])}{text[-1]}"
    return f"{text}{format_marker([number])}"
