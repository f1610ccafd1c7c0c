"""The answering chain: retrieve, prompt, generate, cite, or abstain.

Wired in one place, `build_chain(settings, *, embeddings=None, llm=None, store=None)`,
so tests and other callers hand in components instead of patching. Generation is
a LangChain LCEL runnable (prompt | llm | parser); `stream()` yields the growing text
and finally the `Answer`, and `answer()` is its last item, so the UI, the Python API
and the evaluation see the same result. Components load on first use, once.
"""

from __future__ import annotations

from functools import cached_property
from typing import Iterator

from langchain_core.embeddings import Embeddings
from langchain_core.language_models.llms import BaseLLM

from .citations import cite, is_abstention
from .embeddings import SentenceTransformerEmbeddings
from .extractive import extractive_answer
from .llms import STOP, build_llm
from .prompts import render_prompt
from .retrieval import clean_question, retrieve_passages, standalone_question
from .settings import Settings
from .store import NewsStore, open_store
from .types import Answer, Passage

ABSTAIN_TEXT = "The articles in the index don't answer this question."


class Pipeline:
    """One configured set of components; build it once per process and reuse it."""

    def __init__(self, settings: Settings, *, embeddings: Embeddings | None = None, llm: BaseLLM | None = None, store: NewsStore | None = None):
        self.settings = settings
        self.embeddings = embeddings or SentenceTransformerEmbeddings(settings.embedding_model, settings.embedding_batch_size)
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

    def retrieve(self, question: str, *, k: int | None = None, history: list | None = None) -> list[Passage]:
        query = standalone_question(clean_question(question), history)
        return retrieve_passages(query, self.store, self.embeddings, k or self.settings.k)

    def stream(self, question: str, *, k: int | None = None, history: list | None = None) -> Iterator[str | Answer]:
        """Yield the answer text as it grows, then the finished `Answer`."""
        question = clean_question(question)
        passages = self.retrieve(question, k=k, history=history)
        relevant = [p for p in passages if p.score >= self.settings.min_score]
        if not relevant:
            yield self._abstain(question, passages)
            return
        if self.llm is None:
            text = extractive_answer(question, relevant, self.embeddings, self.settings.min_score)
        else:
            text = ""
            for piece in self.generation.stream({"question": question, "passages": relevant}):
                text += piece
                yield text
        yield self._finish(question, text, relevant, passages)

    def answer(self, question: str, *, k: int | None = None, history: list | None = None) -> Answer:
        result = None
        for result in self.stream(question, k=k, history=history):
            pass
        return result

    def _finish(self, question: str, text: str, shown: list[Passage], retrieved: list[Passage]) -> Answer:
        text = text.strip()
        if is_abstention(text):
            return self._abstain(question, retrieved)
        cited_text, citations = cite(text, shown)
        if not citations:
            # Nothing in the passages backs the text: it came from the model's own memory.
            return self._abstain(question, retrieved)
        return Answer(question=question, text=cited_text, abstained=False, citations=citations, passages=retrieved, llm=self.llm_name)

    def _abstain(self, question: str, retrieved: list[Passage]) -> Answer:
        return Answer(question=question, text=ABSTAIN_TEXT, abstained=True, passages=retrieved, llm=self.llm_name)


def build_chain(settings: Settings, *, embeddings: Embeddings | None = None, llm: BaseLLM | None = None, store: NewsStore | None = None) -> Pipeline:
    """The one place components are put together."""
    return Pipeline(settings, embeddings=embeddings, llm=llm, store=store)
