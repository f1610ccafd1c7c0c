"""The answering chain: retrieve, select the evidence, ask the LLM for the short answer, check, stream.

Wired in one place, `build_chain(settings, *, embeddings=None, llm=None, store=None)`, so
tests and other callers hand in components instead of patching. The steps:
1. retrieve passages (`retrieval.py`) and rank their sentences (`evidence.py`);
2. `policy.choose_evidence` picks the sentence(s) that answer, or abstains;
3. the LLM (a LangChain LCEL runnable, prompt | llm | parser) reads only those sentences
   and gives the short direct answer, which `policy.check_short_answer` accepts only
   when it is copied from them;
4. `compose.py` words the answer and `grounding.py` checks every sentence of it;
5. `stream()` yields the checked text sentence by sentence, each item a prefix of the
   next, then the `Answer`; `answer()` is its last item, so the UI, the Python API and
   the evaluation see the same result. Nothing unchecked is ever yielded.
Components load on first use, once. Which route an answer took, and why, is decided in
`policy.py` and carried in `Answer.route` and `Answer.reason`.
"""

from __future__ import annotations

import logging
from collections import deque
from functools import cached_property
from typing import Iterator

from langchain_core.embeddings import Embeddings
from langchain_core.language_models.llms import BaseLLM

from . import policy
from .change_answers import answer_from_timeline, change_question
from .citations import cite, strip_passage_headers
from .compose import compose_answer
from .embeddings import make_embeddings
from .errors import LLMUnavailableError
from .evidence import rank_sentences, timely_passages
from .grounding import answer_sentences, ground_answer
from .llms import STOP, build_llm
from .prompts import render_prompt
from .retrieval import Filters, Retriever, clean_question
from .settings import Settings
from .store import NewsStore, open_store
from .text import remember_vectors
from .types import Answer, Passage, RemovedSentence, Route

ABSTAIN_TEXT = "The articles in the index don't answer this question."

log = logging.getLogger(__name__)


class Pipeline:
    """One configured set of components; build it once per process and reuse it."""

    def __init__(self, settings: Settings, *, embeddings: Embeddings | None = None, llm: BaseLLM | None = None,
                 store: NewsStore | None = None):
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
    def llm_loaded(self) -> bool:
        """Has this pipeline built its LLM yet (so another pipeline of the same LLM settings may share it)?"""
        return "llm" in vars(self)

    @cached_property
    def short_answer(self):
        """prompt | llm | text, as an LCEL runnable: the short answer the chosen sentences give."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.runnables import RunnableLambda

        limit = min(self.settings.llm_max_tokens, policy.SHORT_ANSWER_MAX_TOKENS)
        bound = self.llm.bind(stop=STOP, max_tokens=limit)
        return RunnableLambda(self.render_prompt) | bound | StrOutputParser()

    def render_prompt(self, inputs: dict) -> str:
        return render_prompt("short_answer", prompts_dir=self.settings.prompts_dir, question=inputs["question"],
                             sentences=" ".join(inputs["sentences"]))

    @cached_property
    def retriever(self) -> Retriever:
        store = self.store
        return Retriever(
            store, self.embeddings, store.lexical, store.duplicates,
            mode=self.settings.retrieval, use_dates=self.settings.dates, max_per_article=self.settings.max_per_article,
        )

    def retrieve(self, question: str, *, k: int | None = None, history: list | None = None,
                 filters: Filters | None = None) -> list[Passage]:
        return self.retriever.retrieve(question, k or self.settings.k, filters=filters or Filters(), history=history)

    def stream(self, question: str, *, k: int | None = None, history: list | None = None,
               filters: Filters | None = None) -> Iterator[str | Answer]:
        """Yield the checked answer text as it grows, sentence by sentence, then the finished `Answer`."""
        question = clean_question(question)
        # A question of change ("how did ... change", "when did ... first") is answered from its topic's timeline.
        if (asked := change_question(question, filters)) and (told := answer_from_timeline(self, question, asked)):
            yield told.text
            yield told
            return
        passages = self.retrieve(question, k=k, history=history, filters=filters)
        relevant = [p for p in passages if p.score >= self.settings.min_score]
        vector = self.embeddings.embed_query(question)
        # The sentence that answers is often in another passage of the best article than the ones retrieved.
        best = list(dict.fromkeys(p.source for p in relevant))[: policy.ARTICLES_READ_WHOLE]
        relevant += self.retriever.rest_of_articles(relevant, best, vector, policy.MORE_PASSAGES_PER_ARTICLE)
        embed = remember_vectors(self.embeddings.embed_documents)  # ranking and grounding embed the same sentences
        timely = timely_passages(question, relevant)  # one reading of the question's time, for ranking and the gate
        ranked = rank_sentences(question, relevant, vector, embed, policy.EVIDENCE_WEIGHTS, timely) if relevant else []
        choice = policy.choose_evidence(question, relevant, ranked, timely)
        if choice.abstain:
            yield self._abstain(question, passages, choice.reason)
            return
        quoted = [c.text for c in choice.sentences]
        short, rejected, llm_error = None, None, None
        if self.llm is not None:
            try:
                # Streamed, not invoked: the streaming path is the one that turns every server fault into our error.
                pieces = self.short_answer.stream({"question": question, "sentences": quoted})
                short = strip_passage_headers("".join(pieces))
            except LLMUnavailableError as error:
                # A server that is down, slow or talking nonsense should not silence the chat: quote instead.
                log.warning("quoting the passages instead: %s", error)
                llm_error = str(error)
            if short is not None and self.settings.grounding:
                rejected = policy.check_short_answer(short, quoted, question)
        removed = [RemovedSentence(short, rejected)] if short and rejected else []
        if (why := policy.abstain_unsaid(question, quoted, rejected)) is not None:
            yield self._abstain(question, passages, why, removed)
            return
        route, reason = policy.route_for(self.settings.llm, rejected, llm_error)
        text = compose_answer(None if rejected else short, choice.sentences, relevant)
        if self.settings.grounding:
            grounded = ground_answer(text, relevant, embed)
            text, citations, removed = grounded.text, grounded.citations, removed + grounded.removed
        else:
            text, citations = cite(text, relevant)
        if (why := policy.abstain_after_check(citations)) is not None:
            yield self._abstain(question, passages, why, removed)
            return
        shown = ""
        for sentence in answer_sentences(text):
            shown = text[: text.index(sentence, len(shown)) + len(sentence)]
            yield shown
        yield Answer(question=question, text=text, abstained=False, citations=citations, passages=passages,
                     llm=self.settings.llm, removed=removed, route=route, reason=reason)

    def answer(self, question: str, *, k: int | None = None, history: list | None = None,
               filters: Filters | None = None) -> Answer:
        # The stream's last item is the finished Answer; the text it grew through is not needed here.
        return deque(self.stream(question, k=k, history=history, filters=filters), maxlen=1)[0]

    def _abstain(self, question: str, retrieved: list[Passage], reason: str,
                 removed: list[RemovedSentence] | None = None) -> Answer:
        # The closest passages are still returned, so the reader can look for themselves.
        return Answer(question=question, text=ABSTAIN_TEXT, abstained=True, passages=retrieved, llm=self.settings.llm,
                      removed=removed or [], route=Route.ABSTAINED, reason=reason)


def build_chain(settings: Settings, *, embeddings: Embeddings | None = None, llm: BaseLLM | None = None,
                store: NewsStore | None = None) -> Pipeline:
    """The one place components are put together."""
    return Pipeline(settings, embeddings=embeddings, llm=llm, store=store)
