"""Finding the passages for a question: clean it, make follow-ups standalone, search the store.

Dense search only (cosine over the configured embedding model). The question is cut
to what the embedding model reads, so a pasted page does not cost more than a
sentence. What counts as relevant enough to answer from is `min_score`, applied by
the chain, not here.
"""

from __future__ import annotations

import re

from langchain_core.embeddings import Embeddings

from .errors import QuestionError
from .store import NewsStore
from .types import Passage

MAX_QUESTION_CHARS = 1000  # MiniLM reads 256 word pieces; the rest would be ignored anyway
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about|and what about|then|so)\b|\b(it|its|they|them|their|that|this|those|he|she|his|her)\b",
    re.IGNORECASE,
)
FOLLOW_UP_MAX_WORDS = 8


def clean_question(question: str) -> str:
    """The question without control characters and extra spaces, cut to MAX_QUESTION_CHARS."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    cleaned = " ".join(CONTROL.sub(" ", question).split())
    if not re.search(r"\w", cleaned):
        raise QuestionError("Please type a question (it was empty or only punctuation).")
    return cleaned[:MAX_QUESTION_CHARS]


def standalone_question(question: str, history: list | None) -> str:
    """For a short follow-up ("and imports?"), prefix the previous user question so retrieval has the topic."""
    if not history:
        return question
    previous = last_user_message(history)
    if previous and len(question.split()) <= FOLLOW_UP_MAX_WORDS and FOLLOW_UP.search(question):
        return f"{previous} {question}"
    return question


def last_user_message(history: list) -> str:
    """The latest user turn, from (user, bot) pairs or {"role", "content"} messages."""
    for turn in reversed(history):
        if isinstance(turn, dict):
            if turn.get("role") == "user" and isinstance(turn.get("content"), str):
                return turn["content"]
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            return turn[0]
    return ""


def retrieve_passages(question: str, store: NewsStore, embeddings: Embeddings, k: int) -> list[Passage]:
    """The k passages closest to the question, best first."""
    return store.search(embeddings.embed_query(question), k=k)
