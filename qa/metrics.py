"""Offline metrics for one question's answer, and the bootstrap that summarises them.

Every metric is a small pure function returning a float in [0, 1], or None when it
does not apply; `evaluation.py` decides which apply to which question:

- answer, retrieval and citation metrics apply to answerable questions only and are
  None for unanswerable ones; a metric needing gold sources is None when the
  question lists none, `semantic_similarity` is None without a reference answer
  or an embedding function, and the alias metrics (`answer_accuracy`, `lead_accuracy`,
  `token_f1`, `answer_supported`) are None for a question with a reference but no aliases;
- `abstention_accuracy` applies to every question;
- `unsupported_sentence_rate` and `unsupported_number_rate` (lower is better) apply to
  every answer that did not abstain, answerable or not, and are None for abstentions;
- means (and their bootstrap intervals) skip None.

Matching rules:
- text is compared after `normalize_text`: lowercase, punctuation and symbols become
  spaces, the articles a/an/the are dropped, whitespace is collapsed. A point or
  comma between two digits is kept, so "40.2" stays one token and "40" does not
  match it; numbers are compared both as written and with thousands separators
  removed, so "1,000" and "1000" match each other;
- an alias "appears" in a text when its tokens occur there as a contiguous run of
  whole tokens;
- a gold source matches a retrieved or cited source when the source ends with it at a
  path boundary ("bbc/tech/001.txt" matches "tech/001.txt", not "01.txt").

Left out: any LLM judge, and anything about how answers are produced.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Callable, Iterable, Sequence

from qa.text import contains_phrase, dot, marker_numbers, normalize_text, split_sentences
from qa.types import Answer, Citation, Passage

Embed = Callable[[list[str]], list[list[float]]]

def source_matches(source: str, gold: str) -> bool:
    """Whether a gold source (a path suffix) names this source."""
    source, gold = source.replace("\\", "/"), gold.replace("\\", "/").lstrip("/")
    return source == gold or source.endswith("/" + gold)


def _is_gold(source: str, gold_sources: Iterable[str]) -> bool:
    return any(source_matches(source, gold) for gold in gold_sources)


def ranked_sources(passages: Iterable[Passage]) -> list[str]:
    """Unique article sources in the order their first passage was retrieved."""
    return list(dict.fromkeys(p.source for p in passages))


# --- retrieval -------------------------------------------------------------


def hit_at_k(retrieved: Sequence[str], gold_sources: Sequence[str], k: int) -> float | None:
    """1.0 if a gold source is among the top k retrieved articles (sources deduplicated first)."""
    if not gold_sources:
        return None
    top = list(dict.fromkeys(retrieved))[:k]
    return 1.0 if any(_is_gold(s, gold_sources) for s in top) else 0.0


def mrr(retrieved: Sequence[str], gold_sources: Sequence[str], cutoff: int = 10) -> float | None:
    """Reciprocal rank of the first gold article among the top `cutoff` articles, else 0."""
    if not gold_sources:
        return None
    for rank, source in enumerate(list(dict.fromkeys(retrieved))[:cutoff], start=1):
        if _is_gold(source, gold_sources):
            return 1.0 / rank
    return 0.0


# --- answer text -----------------------------------------------------------


def answer_accuracy(text: str, aliases: Sequence[str]) -> float:
    """1.0 if any alias appears in the answer text (see the module's matching rules)."""
    return 1.0 if any(contains_phrase(text, a) for a in aliases) else 0.0


def lead_accuracy(answer: Answer, aliases: Sequence[str]) -> float:
    """1.0 if an alias appears in the answer's first sentence, which a reader takes as the answer; 0.0 for an
    abstention. `answer_accuracy` looks anywhere, so a wrong short answer ("Scorsese.") over a quote naming the right
    one counts there, not here."""
    if answer.abstained or not (spans := split_sentences(answer.text)):
        return 0.0
    start, end = spans[0]
    return answer_accuracy(answer.text[start:end], aliases)


def _token_f1(prediction: list[str], truth: list[str]) -> float:
    common = Counter(prediction) & Counter(truth)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(prediction), overlap / len(truth)
    return 2 * precision * recall / (precision + recall)


def token_f1(text: str, aliases: Sequence[str]) -> float:
    """SQuAD-style token F1 between the answer and its best-matching alias."""
    prediction = normalize_text(text, drop_thousands_separators=True).split()
    return max(
        (_token_f1(prediction, normalize_text(a, drop_thousands_separators=True).split()) for a in aliases),
        default=0.0,
    )


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors; 0.0 if either is all zeros."""
    norm = math.sqrt(dot(a, a)) * math.sqrt(dot(b, b))
    return dot(a, b) / norm if norm else 0.0


def semantic_similarity(text: str, reference: str, embed: Embed | None) -> float | None:
    """Cosine of the answer's and the reference's embeddings; None without both."""
    if not reference or embed is None:
        return None
    answer_vector, reference_vector = embed([text, reference])
    return cosine(answer_vector, reference_vector)


# --- citations -------------------------------------------------------------


def citation_markers(text: str) -> list[int]:
    """The numbers of every [n] (or [n, m]) marker in the text, in order."""
    return marker_numbers(text)


def citation_validity(answer: Answer) -> float:
    """1.0 if every [n] marker names one of the answer's citations.

    An answer with no markers (an abstention, or an uncited answer) scores 1.0: it
    names nothing that is missing. An uncited answer is penalised by
    `citation_recall` and `answer_supported` instead.
    """
    numbers = {c.number for c in answer.citations}
    return 1.0 if all(n in numbers for n in citation_markers(answer.text)) else 0.0


def _cited_sources(citations: Sequence[Citation]) -> list[tuple[str, ...]]:
    """Each distinct cited article with the near-duplicate copies its citation lists, cited source first.

    A copy states what the gold article states, so citing it is citing the gold article: the
    timeline evaluation counts copies the same way.
    """
    return list(dict.fromkeys((c.source, *c.also_reported_by) for c in citations))


def citation_precision(citations: Sequence[Citation], gold_sources: Sequence[str]) -> float | None:
    """Share of the distinct cited articles that are gold, or copies of a gold one; None when nothing is cited."""
    cited = _cited_sources(citations)
    if not cited or not gold_sources:
        return None
    return sum(any(_is_gold(s, gold_sources) for s in copies) for copies in cited) / len(cited)


def citation_recall(citations: Sequence[Citation], gold_sources: Sequence[str]) -> float | None:
    """Share of the gold sources that some citation names; None without gold sources."""
    if not gold_sources:
        return None
    cited = [s for copies in _cited_sources(citations) for s in copies]
    return sum(any(source_matches(s, g) for s in cited) for g in gold_sources) / len(gold_sources)


def answer_supported(citations: Sequence[Citation], aliases: Sequence[str]) -> float:
    """1.0 if an alias appears in the text of a cited passage (0.0 when nothing is cited)."""
    return 1.0 if any(contains_phrase(c.text, a) for c in citations for a in aliases) else 0.0


# --- grounding ----------------------------------------------------------------


def unsupported_sentence_rate(answer: Answer, embed: Embed | None) -> float | None:
    """Share of the answer's sentences that the grounding check flags against the citations they name.

    Judged on the answer as returned, with no re-attribution: an uncited sentence counts as
    flagged. Without an embedding function only word overlap judges closeness. None for an
    abstention or an answer with no sentences.
    """
    from qa.grounding import unsupported_sentences

    if answer.abstained:
        return None
    flagged, total = unsupported_sentences(answer.text, answer.citations, embed)
    return flagged / total if total else None


def unsupported_number_rate(answer: Answer) -> float | None:
    """1.0 if the answer states a figure no cited passage states ("$40.2bn" = "40.2 billion"); None if it abstained."""
    from qa.grounding import unsupported_figures

    if answer.abstained:
        return None
    return 1.0 if unsupported_figures(answer.text, answer.citations) else 0.0


# --- abstention and summaries ----------------------------------------------


def abstention_accuracy(abstained: bool, answerable: bool) -> float:
    """1.0 when the system abstained exactly on an unanswerable question."""
    return 1.0 if abstained != answerable else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bootstrap_interval(
    values: Sequence[float], *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; a fixed seed makes reruns identical."""
    if not values:
        raise ValueError("bootstrap of no values")
    rng = random.Random(seed)
    n = len(values)
    means = [sum(rng.choices(values, k=n)) / n for _ in range(resamples)]
    tail = (1 - confidence) / 2 * 100
    return percentile(means, tail), percentile(means, 100 - tail)
