"""The answering chain: retrieve, prompt, generate, cite, or abstain.

Wired in one place, `build_chain(settings, *, embeddings=None, llm=None, store=None)`,
so tests and other callers hand in components instead of patching. Generation is
a LangChain LCEL runnable (prompt | llm | parser); `stream()` yields the growing text
and finally the `Answer`, and `answer()` is its last item, so the UI, the Python API
and the evaluation see the same result. Components load on first use, once. When the
LLM fails while generating (`LLMUnavailableError`: down, too slow, a broken reply), the
answer is the extractive one, with `Answer.llm` saying why.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from collections import deque
from functools import cached_property
from typing import Iterator

from langchain_core.embeddings import Embeddings
from langchain_core.language_models.llms import BaseLLM

from .citations import cite, is_abstention, strip_passage_headers
from .embeddings import make_embeddings
from .errors import LLMUnavailableError
from .extractive import extractive_answer
from .facts import asks_for_quantity, find_figures, question_terms_missing
from .grounding import GroundedAnswer, answer_sentences, ground_answer, strip_markers
from .llms import STOP, build_llm
from .prompts import render_prompt
from .retrieval import Filters, Retriever, clean_question
from .settings import Settings
from .store import NewsStore, open_store
from .types import Answer, Passage, RemovedSentence

ABSTAIN_TEXT = "The articles in the index don't answer this question."
# Below this share of its characters surviving the check, what is left of an answer is a
# fragment that no longer answers the question as asked.
MIN_KEPT_SHARE = 0.5
TOO_LITTLE_KEPT = "too little of the answer was supported to keep this part"
NO_FIGURE = "the question asks for a figure and the answer states none"
# How close to the question a quoted sentence must be to stand in for the LLM's answer;
# see README "Grounding" for the measurements behind it.
FALLBACK_MIN_SIMILARITY = 0.5

log = logging.getLogger(__name__)


class Pipeline:
    """One configured set of components; build it once per process and reuse it."""

    def __init__(self, settings: Settings, *, embeddings: Embeddings | None = None, llm: BaseLLM | None = None, store: NewsStore | None = None):
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(settings)
        self._llm = llm
        self._store = store

    @cached_property
    def store(self) -> NewsStore:
        return self._store or open_store(self.settings, self.embeddings, self.settings.embedding_model)

    @cached_property
    def llm(self) -> BaseLLM | None:
        return self._llm if self._llm is not None else build_llm(self.settings)

    @property
    def llm_name(self) -> str:
        return self.settings.llm

    @cached_property
    def generation(self):
        """prompt | llm | text, as an LCEL runnable."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(self.render_prompt) | self.llm.bind(stop=STOP) | StrOutputParser()

    def render_prompt(self, inputs: dict) -> str:
        passages = [
            {"title": p.title or p.source, "date": p.date, "outlet": p.outlet, "text": " ".join(p.text.split())}
            for p in inputs["passages"]
        ]
        return render_prompt("answer", prompts_dir=self.settings.prompts_dir, question=inputs["question"], passages=passages)

    @cached_property
    def retriever(self) -> Retriever:
        store = self.store
        return Retriever(
            store, self.embeddings, store.lexical, store.duplicates,
            mode=self.settings.retrieval, use_dates=self.settings.dates, max_per_article=self.settings.max_per_article,
        )

    def retrieve(self, question: str, *, k: int | None = None, history: list | None = None, filters: Filters | None = None) -> list[Passage]:
        return self.retriever.retrieve(question, k or self.settings.k, filters=filters or Filters(), history=history)

    def stream(self, question: str, *, k: int | None = None, history: list | None = None, filters: Filters | None = None) -> Iterator[str | Answer]:
        """Yield the answer text as it grows, then the finished `Answer`."""
        question = clean_question(question)
        passages = self.retrieve(question, k=k, history=history, filters=filters)
        relevant = [p for p in passages if p.score >= self.settings.min_score]
        if not relevant:
            yield self._abstain(question, passages)
            return
        if self.llm is None:
            text = extractive_answer(question, relevant, self.embeddings, self.settings.min_score)
        else:
            text = ""
            try:
                for piece in self.generation.stream({"question": question, "passages": relevant}):
                    text += piece
                    yield text
            except LLMUnavailableError as error:
                # A server that is down, slow or talking nonsense should not silence the chat: quote
                # the passages instead, and say why. Configuration errors were raised by `self.llm`.
                log.warning("answering from the passages instead: %s", error)
                text = extractive_answer(question, relevant, self.embeddings, self.settings.min_score)
                result = self._finish(question, text, relevant, passages, quoted=True)
                yield replace(result, llm=f"extractive (LLM unavailable: {error})")
                return
        yield self._finish(question, text, relevant, passages)

    def answer(self, question: str, *, k: int | None = None, history: list | None = None, filters: Filters | None = None) -> Answer:
        # The stream's last item is the finished Answer; the text it grew through is not needed here.
        return deque(self.stream(question, k=k, history=history, filters=filters), maxlen=1)[0]

    def _finish(self, question: str, text: str, shown: list[Passage], retrieved: list[Passage], *, quoted: bool = False) -> Answer:
        """Ground the text; `quoted` says it is already the extractive answer, so there is nothing to fall back to."""
        text = strip_passage_headers(text)
        if is_abstention(text):
            return self._abstain(question, retrieved)
        if not self.settings.grounding:
            return self._finish_ungrounded(question, text, shown, retrieved)
        grounded = ground_answer(text, shown, self.embeddings.embed_documents)
        shortfall = _shortfall(question, grounded)
        if shortfall is None:
            return Answer(question=question, text=grounded.text, abstained=False, citations=grounded.citations,
                          passages=retrieved, llm=self.llm_name, removed=grounded.removed)
        removed = grounded.removed + [RemovedSentence(s, shortfall) for s in answer_sentences(grounded.text)]
        if self.llm is not None and not quoted:
            fallback = self._extractive_fallback(question, shown, retrieved, removed)
            if fallback is not None:
                return fallback
        return self._abstain(question, retrieved, removed)

    def _extractive_fallback(self, question: str, shown: list[Passage], retrieved: list[Passage], removed: list[RemovedSentence]) -> Answer | None:
        """The retrieved sentences closest to the question, in place of an LLM answer that lost its sentences.

        Quoted sentences cannot invent a figure, but they can answer a question the articles
        do not answer with a nearby fact, so they must be close to the question, the
        passages shown must mention every name and figure the question asks about, and
        the quoted sentences (with their articles' titles and dates) every figure it names.
        """
        if question_terms_missing(question, shown):
            return None
        sentences = answer_sentences(extractive_answer(question, shown, self.embeddings, self.settings.min_score))
        if not sentences:
            return None
        vectors = self.embeddings.embed_documents([strip_markers(s) for s in sentences])
        query = self.embeddings.embed_query(question)
        relevant = [s for s, v in zip(sentences, vectors) if dot(query, v) >= FALLBACK_MIN_SIMILARITY]
        grounded = ground_answer(" ".join(relevant), shown, self.embeddings.embed_documents)
        if _shortfall(question, grounded, whole=True) is not None:
            return None
        return Answer(question=question, text=grounded.text, abstained=False, citations=grounded.citations,
                      passages=retrieved, llm=f"{self.llm_name}+extractive", removed=removed)

    def _finish_ungrounded(self, question: str, text: str, shown: list[Passage], retrieved: list[Passage]) -> Answer:
        """The answer as the model cited it, without the sentence check (QA_GROUNDING=off)."""
        cited_text, citations = cite(text, shown)
        if not citations:
            # Nothing in the passages backs the text: it came from the model's own memory.
            return self._abstain(question, retrieved)
        return Answer(question=question, text=cited_text, abstained=False, citations=citations, passages=retrieved, llm=self.llm_name)

    def _abstain(self, question: str, retrieved: list[Passage], removed: list[RemovedSentence] | None = None) -> Answer:
        # The closest passages are still returned, so the reader can look for themselves.
        return Answer(question=question, text=ABSTAIN_TEXT, abstained=True, passages=retrieved, llm=self.llm_name, removed=removed or [])


def build_chain(settings: Settings, *, embeddings: Embeddings | None = None, llm: BaseLLM | None = None, store: NewsStore | None = None) -> Pipeline:
    """The one place components are put together."""
    return Pipeline(settings, embeddings=embeddings, llm=llm, store=store)


def _shortfall(question: str, grounded: GroundedAnswer, *, whole: bool = False) -> str | None:
    """Why what survived the check does not answer the question, or None when it does.

    `whole`: every figure the question names ("in 2005") must also be in the answer or its
    citations' titles and dates, as quoted sentences picked by similarity may be about another year.
    """
    if not grounded.citations or grounded.kept_share < MIN_KEPT_SHARE:
        return TOO_LITTLE_KEPT
    stated = find_figures(strip_markers(grounded.text))
    if asks_for_quantity(question) and not stated:
        return NO_FIGURE
    if whole:
        stated += find_figures(" ".join(f"{c.title} {c.date}" for c in grounded.citations))
        if any(not f.found_in(stated) for f in find_figures(question)):
            return TOO_LITTLE_KEPT
    return None
