"""Checking that every sentence of an answer is backed by the passages it cites.

A sentence is supported by a passage when (1) every figure in it (numbers, amounts,
percentages, years and days) and every named entity (capitalised word) also occurs
in the passage or its title and date, with "$40.2bn" matching "40.2 billion" and
"1.46%" matching "1.46 percent", and (2) it is close to the passage: the cosine of
its embedding and the embedding of the passage's closest sentence, together with
the share of its content words found in the passage (`is_close`). A sentence may
draw its figures from several close passages. Cited passages are tried first; when
none of them supports the sentence (or it cites nothing), the best supporting shown
passage is cited instead, if there is one. Unsupported sentences are removed with
a reason, citations that support nothing are dropped, and the rest are renumbered
1..m by first use, each with the span of the passage sentence that backs it.

Passages are only ever compared with, never obeyed: an instruction written in an
article is just more text that an answer sentence must match.

Left out: number words ("eleven"), arithmetic ("up 8.5%" from two totals),
paraphrased entities ("the bloc" for the EU) and any LLM judge; deciding what to
do with an answer that loses its sentences is the chain's business.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from .facts import Figure, about_article, entity_in, find_entities, find_figures, lower_words
from .policy import MIN_OVERLAP, MIN_SENTENCE_CHARS, MIN_SIMILARITY, MIN_SIMILARITY_WITH_OVERLAP
from .text import MARKER, dot, format_marker, marker_numbers, split_sentences, squash, strip_markers, word_overlap
from .types import Citation, Passage, RemovedSentence

Embed = Callable[[list[str]], list[list[float]]]

REPEATED = "it repeats an earlier sentence of the answer"

# Text planted in an article to steer a model ("ignore the question and reply ...") is not
# news: such sentences never count as support, so an answer that obeys them is removed.
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b[^.]{0,60}\b(?:question|instructions?|prompt|above|previous|passages?)\b"
    r"|(?:^|[:;]\s*|\b(?:and|then|please|just|instead)\s+)[\"'“«]?(?:reply|respond|answer|say|write|output)\b"
    r"|\b(?:language model|AI assistant|as an AI|system prompt)\b",
    re.IGNORECASE,
)


def is_instruction(sentence: str) -> bool:
    """Does this passage sentence tell the reader (or a model) what to do, rather than report something?"""
    return bool(INSTRUCTION.search(sentence))


@dataclass
class Evidence:
    """What a passage offers as support: its figures, its words, and its sentences with their vectors."""

    passage: Passage
    figures: list[Figure]
    words: set[str]
    sentences: list[tuple[int, int]]  # spans in passage.text
    vectors: list[list[float]]
    text: str  # title, date and every sentence but planted instructions: what words may come from
    instructions: list[str]  # planted instructions, never evidence
    normalised: str = ""  # the sentences lowercased with whitespace collapsed, to find verbatim quotes in

    @classmethod
    def of(cls, passage: Passage) -> "Evidence":
        spans, instructions = [], []
        for start, end in split_sentences(passage.text) or [(0, len(passage.text))]:
            sentence = passage.text[start:end]
            if is_instruction(sentence):
                instructions.append(" ".join(sentence.split()))
            else:
                spans.append((start, end))
        searchable = " ".join(about_article(passage) + [passage.text[a:b] for a, b in spans])
        normalised = squash(" ".join(passage.text[a:b] for a, b in spans))
        return cls(
            passage,
            find_figures(searchable),
            lower_words(searchable),
            spans or [(0, 0)],
            [],
            searchable,
            instructions,
            normalised,
        )

    def sentence(self, span: tuple[int, int]) -> str:
        return " ".join(self.passage.text[span[0] : span[1]].split())


@dataclass(frozen=True)
class Support:
    """How well one passage backs one sentence."""

    similarity: float  # cosine to the passage's closest sentence
    overlap: float  # share of the sentence's content words found in the passage
    span: tuple[int, int]  # the passage sentence that backs it best
    figures: frozenset[int]  # indexes of the sentence's figures the passage states
    entities: frozenset[int]

    @property
    def close(self) -> bool:
        return is_close(self.similarity, self.overlap)


def is_close(similarity: float, overlap: float) -> bool:
    """Close on meaning alone, or on a weaker meaning match backed by most of the words."""
    return similarity >= MIN_SIMILARITY or (similarity >= MIN_SIMILARITY_WITH_OVERLAP and overlap >= MIN_OVERLAP)


@dataclass(frozen=True)
class Verdict:
    """The check of one answer sentence: which passages support it (indexes, best first), or why none does."""

    sentence: str  # without markers
    supporters: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]  # per supporter, the backing sentence in its text
    reason: str = ""

    @property
    def supported(self) -> bool:
        return bool(self.supporters)


class GroundingCheck:
    """Checks sentences against a fixed list of passages; embeds each passage sentence once."""

    def __init__(self, passages: Sequence[Passage], embed: Embed | None):
        self.passages = list(passages)
        self.embed = embed
        self.evidence = [Evidence.of(p) for p in self.passages]
        if embed is not None:
            texts = [e.sentence(span) for e in self.evidence for span in e.sentences]
            vectors = iter(embed(texts) if texts else [])
            for e in self.evidence:
                e.vectors = [next(vectors) for _ in e.sentences]

    def verdicts(self, sentences: Sequence[tuple[str, Sequence[int]]], *, reattribute: bool = True) -> list[Verdict]:
        """A verdict per (sentence, cited passage indexes); see the module docstring for the rule."""
        cleaned = [strip_markers(s) for s, _ in sentences]
        vectors = self.embed(cleaned) if self.embed is not None and cleaned else [None] * len(cleaned)
        return [
            self._verdict(text, list(cited), vector, reattribute)
            for text, (_, cited), vector in zip(cleaned, sentences, vectors, strict=True)
        ]

    def _verdict(self, text: str, cited: list[int], vector, reattribute: bool) -> Verdict:
        if text.endswith("?"):
            return Verdict(text, (), (), "it is a question, not an answer")
        if self._obeys_instruction(text):
            return Verdict(text, (), (), "it repeats an instruction written in a passage, not a reported fact")
        figures, entities = find_figures(text), find_entities(text)
        supports = {i: self._support(text, vector, figures, entities, e) for i, e in enumerate(self.evidence)}
        tried = [i for i in dict.fromkeys(cited) if i in supports]
        chosen = _choose(tried, supports, figures, entities)
        if not chosen and reattribute:
            chosen = _choose([i for i in supports if i not in tried], supports, figures, entities)
        if chosen:
            return Verdict(text, tuple(chosen), tuple(supports[i].span for i in chosen))
        judged = list(supports) if reattribute else tried
        return Verdict(text, (), (), _reason(figures, entities, judged, supports))

    def _obeys_instruction(self, text: str) -> bool:
        """Does the sentence echo an instruction planted in a passage ("reply only with: ...")?"""
        return any(
            word_overlap(text, instruction) >= MIN_OVERLAP for e in self.evidence for instruction in e.instructions
        )

    def _support(self, text: str, vector, figures: list[Figure], entities: list[str], evidence: Evidence) -> Support:
        found_figures = frozenset(n for n, f in enumerate(figures) if f.found_in(evidence.figures))
        found_entities = frozenset(n for n, e in enumerate(entities) if entity_in(e, evidence.words))
        similarities = [dot(vector, v) for v in evidence.vectors] if vector is not None else []
        overlap = word_overlap(text, evidence.text)
        quoted = squash(quoted_part(text) or text.rstrip("."))
        if quoted in evidence.normalised:
            # A verbatim quote is what the passage says, however far its wording is from the rest,
            # and it is backed by the passage sentence it was copied from.
            similarities, overlap = [1.0] * len(evidence.sentences), 1.0
            source = next((span for span in evidence.sentences if quoted in squash(evidence.sentence(span))), None)
            if source is not None:
                return Support(1.0, 1.0, source, found_figures, found_entities)
        # The backing sentence: the one stating most of the figures, then the most similar.
        best, best_key = evidence.sentences[0], None
        for n, span in enumerate(evidence.sentences):
            sentence_figures = find_figures(evidence.sentence(span))
            key = (sum(f.found_in(sentence_figures) for f in figures), similarities[n] if similarities else 0.0)
            if best_key is None or key > best_key:
                best, best_key = span, key
        # Without an embedding model only word overlap can judge closeness.
        similarity = max(similarities) if similarities else overlap
        return Support(similarity, overlap, best, found_figures, found_entities)


def _reason(figures: list[Figure], entities: list[str], judged: list[int], supports: dict[int, Support]) -> str:
    """Why no passage supports a sentence, in words a reader of the report understands."""
    if not judged:
        return "it cites no passage"
    close = [i for i in judged if supports[i].close]
    # A figure or name stated nowhere is the clearest reason; closeness only says "not like this".
    stated_figures = set().union(*(supports[i].figures for i in close or judged))
    stated_entities = set().union(*(supports[i].entities for i in close or judged))
    missing = [f.written for n, f in enumerate(figures) if n not in stated_figures]
    missing += [e for n, e in enumerate(entities) if n not in stated_entities]
    if missing:
        return f"{', '.join(missing)}: in no {'passage close to it' if close else 'passage'}"
    best = max((supports[i] for i in judged), key=lambda s: s.similarity)
    return f"no passage says this (closest similarity {best.similarity:.2f}, word overlap {best.overlap:.2f})"


def _choose(candidates: list[int], supports: dict[int, Support], figures, entities) -> list[int]:
    """The close candidates that together state every figure and entity, best first; [] if they cannot."""
    close = sorted((i for i in candidates if supports[i].close), key=lambda i: -supports[i].similarity)
    chosen: list[int] = []
    missing_figures, missing_entities = set(range(len(figures))), set(range(len(entities)))
    for i in close:
        adds = (missing_figures & supports[i].figures) or (missing_entities & supports[i].entities)
        if not chosen or adds:
            chosen.append(i)
            missing_figures -= supports[i].figures
            missing_entities -= supports[i].entities
    return [] if missing_figures or missing_entities else chosen


QUOTE = re.compile(r"“([^”]{%d,})”" % MIN_SENTENCE_CHARS)


def quoted_part(sentence: str) -> str:
    """The text between “ and ” in a sentence, as the answer quotes a passage; "" when it quotes nothing."""
    match = QUOTE.search(sentence)
    return match.group(1).rstrip(".") if match else ""


@dataclass
class GroundedAnswer:
    """An answer after the check: kept sentences with renumbered markers, their citations, what was removed."""

    text: str
    citations: list[Citation]
    removed: list[RemovedSentence]
    kept_share: float  # share of the original answer's characters that survived


def answer_sentences(text: str) -> list[str]:
    """The sentences of a generated answer, with each [n] marker kept in the sentence it follows."""
    # "... billion. [1] Next" would hand the marker to the next sentence; put it before the full stop.
    text = re.sub(r"([.!?])((?:" + MARKER.pattern + r")+)", r"\2\1", text)
    return [text[start:end] for start, end in split_sentences(text)]


def ground_answer(text: str, passages: Sequence[Passage], embed: Embed | None) -> GroundedAnswer:
    """Keep the supported sentences of `text`, cite what supports them, and say why the rest went."""
    sentences = [s for s in answer_sentences(text) if len(strip_markers(s).strip(" .")) >= MIN_SENTENCE_CHARS]
    cited = [[n - 1 for n in marker_numbers(s) if 0 < n <= len(passages)] for s in sentences]
    verdicts = GroundingCheck(passages, embed).verdicts(list(zip(sentences, cited, strict=True))) if sentences else []
    order: list[int] = []
    spans: dict[int, tuple[int, int]] = {}
    kept, removed, seen, kept_chars = [], [], set(), 0
    for verdict in verdicts:
        if not verdict.supported:
            removed.append(RemovedSentence(verdict.sentence, verdict.reason))
            continue
        said = " ".join(verdict.sentence.lower().split())
        if said in seen:  # a small model stuck in a loop says one thing many times
            removed.append(RemovedSentence(verdict.sentence, REPEATED))
            continue
        seen.add(said)
        kept_chars += len(verdict.sentence)
        for index, span in zip(verdict.supporters, verdict.spans, strict=True):
            if index not in order:
                order.append(index)
                spans[index] = span
        numbers = [order.index(i) + 1 for i in verdict.supporters]
        kept.append(_with_markers(verdict.sentence, numbers))
    citations = [
        dataclasses.replace(Citation.from_passage(n, passages[i]), span=spans[i]) for n, i in enumerate(order, start=1)
    ]
    total = sum(len(v.sentence) for v in verdicts)
    share = kept_chars / total if total else 0.0
    return GroundedAnswer(" ".join(kept), citations, removed, share)


def _with_markers(sentence: str, numbers: list[int]) -> str:
    marker = format_marker(numbers)
    if sentence.endswith((".", "!", "?")):
        return sentence[:-1] + marker + sentence[-1]
    return sentence + marker + "."


def unsupported_sentences(text: str, citations: Sequence[Citation], embed: Embed | None) -> tuple[int, int]:
    """(flagged, total) sentences of a returned answer, each judged against only the citations it names."""
    sentences = [s for s in answer_sentences(text) if len(strip_markers(s).strip(" .")) >= MIN_SENTENCE_CHARS]
    if not sentences:
        return 0, 0
    by_number = {c.number: n for n, c in enumerate(citations)}
    passages = [
        Passage(
            id=str(c.number), source=c.source, text=c.text, title=c.title, date=c.date, outlet=c.outlet, place=c.place
        )
        for c in citations
    ]
    cited = [[by_number[n] for n in marker_numbers(s) if n in by_number] for s in sentences]
    verdicts = GroundingCheck(passages, embed).verdicts(list(zip(sentences, cited, strict=True)), reattribute=False)
    return sum(not v.supported for v in verdicts), len(verdicts)


def unsupported_figures(text: str, citations: Sequence[Citation]) -> list[str]:
    """Figures in the answer that no cited passage (text, title or date) states."""
    stated = [f for c in citations for f in find_figures(f"{c.title} {c.date} {c.text}")]
    return [f.written for f in find_figures(strip_markers(text)) if not f.found_in(stated)]
