"""The types the rest of the code speaks in: articles in, passages through, answers out.

LangChain `Document`s and Chroma rows are converted into these at the edges
(`store.py`, `chain.py`); nothing else should need to know about them.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import Enum


@dataclass(frozen=True)
class Article:
    """One news article as read from a file or record, before chunking."""

    source: str  # path relative to the ingest root, or the record's id/url
    text: str
    title: str = ""
    date: str = ""  # ISO YYYY-MM-DD, or "" when the text gives none
    place: str = ""  # dateline place, e.g. "SAMARKAND"
    outlet: str = ""  # e.g. "Kazinform", "Trend"

    @property
    def content_hash(self) -> str:
        """A digest of everything that ends up in the index, so a change to any of it re-ingests."""
        digest = hashlib.sha256()
        for part in (self.title, self.date, self.place, self.outlet, self.text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Chunk:
    """A piece of an article's text as it is stored and embedded."""

    id: str
    article: Article
    text: str  # the passage itself, shown to the reader and the model
    index: int  # position of the chunk in its article
    start: int  # character offset of `text` in `article.text`

    @property
    def embedded_text(self) -> str:
        """The passage prefixed with its article's title and date, which is what gets embedded."""
        return embedding_prefix(self.article.title, self.article.date) + self.text


def embedding_prefix(title: str, date: str) -> str:
    """The header put before a passage for embedding, so retrieval sees what and when."""
    parts = [p for p in (title, date) if p]
    return (" | ".join(parts) + "\n") if parts else ""


@dataclass(frozen=True)
class Passage:
    """A chunk as retrieved from the store, with its relevance to the question."""

    id: str
    source: str
    text: str
    title: str = ""
    date: str = ""
    place: str = ""
    outlet: str = ""
    score: float = 0.0  # cosine similarity to the question, higher is closer
    also_reported_by: tuple[str, ...] = ()  # sources of near-duplicate copies of this article


@dataclass(frozen=True)
class Citation:
    """A passage cited in an answer as [number]."""

    number: int
    source: str
    title: str
    date: str
    text: str
    score: float
    outlet: str = ""
    place: str = ""
    # Character offsets in `text` of the part that supports the cited sentence, when known.
    span: tuple[int, int] | None = None
    also_reported_by: tuple[str, ...] = ()  # near-duplicate copies of the cited article

    @classmethod
    def from_passage(cls, number: int, passage: Passage) -> "Citation":
        return cls(
            number=number,
            source=passage.source,
            title=passage.title,
            date=passage.date,
            text=passage.text,
            score=passage.score,
            outlet=passage.outlet,
            place=passage.place,
            also_reported_by=passage.also_reported_by,
        )


@dataclass(frozen=True)
class RemovedSentence:
    """A sentence of the generated answer that was taken out, and why (for reports and debugging)."""

    text: str
    reason: str


class Route(str, Enum):
    """How an answer was made (`policy.py` decides)."""

    GENERATED = "generated"  # the LLM's short answer, checked against the quoted evidence, then the quote
    QUOTED = "quoted"  # the evidence quoted, by design (QA_LLM=extractive)
    FALLBACK_QUOTED = "fallback_quoted"  # the evidence quoted because the LLM's text failed the check or the LLM failed
    ABSTAINED = "abstained"  # the articles do not answer the question
    TIMELINE = "timeline"  # a question of change, answered by the dated reports on its topic (change_answers.py)


@dataclass
class Answer:
    """What `answer()` returns: the text with [n] markers, the passages they cite, and what was retrieved."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)  # everything retrieved, best first
    llm: str = ""  # the LLM mode configured (local, openai, extractive); `route` says whether it was used
    removed: list[RemovedSentence] = field(default_factory=list)  # sentences the grounding check took out
    route: Route = Route.ABSTAINED
    reason: str = ""  # why this route, in words ("the model's short answer is not in the quoted sentence")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["route"] = self.route.value
        return data

    def __str__(self) -> str:
        lines = [self.text]
        for c in self.citations:
            when = f", {c.date}" if c.date else ""
            lines.append(f"[{c.number}] {c.title or c.source}{when} ({c.source})")
        return "\n".join(lines)
