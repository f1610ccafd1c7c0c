"""The no-LLM answer (`QA_LLM=extractive`): the retrieved sentences closest to the question.

Sentences of the relevant passages are ranked by embedding similarity to the question
(with the model the store already uses) plus a little word overlap, and the best few
are returned, each cited. It never paraphrases, so it cannot invent a figure; it
also cannot combine facts into a sentence of its own.
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from .text import dot, split_sentences, word_overlap
from .types import Passage

MAX_SENTENCES = 2
MIN_SENTENCE_CHARS = 20  # datelines and captions ("Photo: gov.kz") say nothing on their own
OVERLAP_WEIGHT = 0.2  # words of the question found in the sentence break near-ties in similarity


def extractive_answer(question: str, passages: list[Passage], embeddings: Embeddings, min_score: float) -> str:
    """Up to MAX_SENTENCES best sentences, each followed by its passage's [n]; "" when none is close enough."""
    candidates: list[tuple[int, str]] = []
    for number, passage in enumerate(passages, start=1):
        for start, end in split_sentences(passage.text):
            sentence = " ".join(passage.text[start:end].split())
            if len(sentence) >= MIN_SENTENCE_CHARS:
                candidates.append((number, sentence))
    if not candidates:
        return ""
    query = embeddings.embed_query(question)
    vectors = embeddings.embed_documents([sentence for _, sentence in candidates])
    scored = []
    for (number, sentence), vector in zip(candidates, vectors):
        similarity = dot(query, vector)
        if similarity >= min_score:
            scored.append((similarity + OVERLAP_WEIGHT * word_overlap(question, sentence), number, sentence))
    best = sorted(scored, key=lambda item: -item[0])[:MAX_SENTENCES]
    seen = set()
    parts = []
    for _, number, sentence in best:
        if sentence not in seen:
            seen.add(sentence)
            parts.append(f"{sentence.rstrip('.')} [{number}].")
    return " ".join(parts)
