"""Wording a news-shaped answer: the short answer first, then the sentences that say it, quoted and attributed.

"Almaty [1]. “At the same time, the second CA-EU Economic Forum is planned in May 2023 in
Almaty” (Kazinform, Samarkand, 18 November 2022) [1]." News facts expire, so the quote
says who reported it, from where and when. Markers number the shown passages (1-based);
the grounding check renumbers them by first use. Left out: choosing the sentences
(`policy.py`) and checking them (`grounding.py`).
"""

from __future__ import annotations

from typing import Sequence

from .dates import spell_date
from .evidence import Candidate
from .text import format_marker
from .types import Passage


def attribution(passage: Passage) -> str:
    """Who reported it, from where and when: "Kazinform, Samarkand, 18 November 2022"; the title when none is known."""
    parts = [
        passage.outlet,
        passage.place.title() if passage.place.isupper() else passage.place,
        spell_date(passage.date),
    ]
    known = [p for p in parts if p]
    return ", ".join(known) if known else passage.title


def quote(sentence: str) -> str:
    """The sentence in quotation marks, without its final stop (the answer's sentence ends after the attribution)."""
    return "“" + sentence.rstrip(" .!?") + "”"


def compose_answer(short: str | None, evidence: Sequence[Candidate], passages: Sequence[Passage]) -> str:
    """The answer text: the short answer (if any), then each evidence sentence quoted, the first one attributed."""
    sentences = []
    if short:
        short = short.strip(" .,;:")
        sentences.append(short[:1].upper() + short[1:] + format_marker([evidence[0].passage + 1]) + ".")
    for number, candidate in enumerate(evidence):
        passage = passages[candidate.passage]
        said = quote(candidate.text)
        if number == 0 and (who := attribution(passage)):
            said += f" ({who})"
        sentences.append(said + format_marker([candidate.passage + 1]) + ".")
    return " ".join(sentences)
