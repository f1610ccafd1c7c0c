"""Finding the passages for a question: dense and BM25 search fused, dates, duplicates, diversity.

`Retriever.retrieve` cleans the question, makes a short follow-up standalone, and
fuses ranked lists by reciprocal rank fusion (RRF): dense (Chroma, cosine over
MiniLM), BM25 (the FTS5 side index), and, when the question names a time ("in
2023", "on March 5, 1987", "since 2022"), the same two searches restricted to that
window, which lifts articles from then without hiding the rest (a report on 2023
figures is often published in 2024). "latest"/"most recent" adds the candidates
ordered newest first. Explicit filters (`Filters`) are hard limits on every list:
their meaning is written once, as conditions from which Chroma's `where`, the BM25
index's SQL and the check on each retrieved passage are all derived.
Near-duplicate copies collapse to one passage, the earliest copy's where it was
retrieved, listing the others in `also_reported_by`; at most `max_per_article`
passages come from one article. Relevance gating (`min_score`) is the chain's job.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, NamedTuple, Sequence

from langchain_core.embeddings import Embeddings

from .dates import TimeHint, date_number, parse_time_expression, window_slack
from .duplicates import DuplicateIndex, preferred_copy
from .errors import QuestionError
from .lexical import LexicalIndex
from .store import NewsStore
from .types import Passage

MAX_QUESTION_CHARS = 1000  # MiniLM reads 256 word pieces; the rest would be ignored anyway
# C0/C1 controls, and lone surrogates (from JSON "\ud800" escapes), which the tokenizer refuses.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# A terminal colour code pasted with the question ("\x1b[31m") is formatting, not words.
TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about|and what about|then|so)\b"
    r"|\b(it|its|they|them|their|that|this|those|he|she|his|her)\b",
    re.IGNORECASE,
)
FOLLOW_UP_MAX_WORDS = 8
RRF_K = 60  # the usual constant: rank 1 and rank 10 differ, but no single list dominates
POOL_PER_K = 5  # candidates fetched per list for every passage finally returned
MIN_POOL = 20
# A window holding more than this share of the passages is searched with Chroma's unfiltered HNSW
# index, fetching WIDE_WINDOW_OVERFETCH times the pool and keeping what the window admits: at half
# the index that is about twice the pool, and it is cheaper than scoring tens of thousands of rows.
WIDE_WINDOW_SHARE = 0.5
WIDE_WINDOW_OVERFETCH = 4
DATE_NUM_MAX = 99991231  # date_num of the last day a date can name


class Condition(NamedTuple):
    """One limit on a chunk field, e.g. `Condition("date_num", "$gte", 20240101)`."""

    field: str  # a chunk metadata key in Chroma and a column of the BM25 side index: date_num, source, outlet
    operator: str  # a key of OPERATORS
    value: int | tuple[str, ...]


# Each operator in the three forms a filter takes: Chroma's name (the key), SQL, and Python.
OPERATORS: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {
    "$gte": (">=", operator.ge),
    "$lte": ("<=", operator.le),
    "$gt": (">", operator.gt),
    "$in": ("IN", lambda value, allowed: value in allowed),
}


@dataclass(frozen=True)
class Filters:
    """Hard limits on what may be retrieved; empty fields limit nothing.

    What they mean is written once, in `conditions()`; Chroma's `where`, the BM25
    index's SQL and the check on a retrieved passage are all derived from it.
    """

    date_from: str = ""  # ISO date, inclusive
    date_to: str = ""  # ISO date, inclusive
    sources: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()

    @classmethod
    def build(cls, date_from=None, date_to=None, sources=None, outlets=None) -> Filters:
        """Filters from API arguments: dates as `date` objects or YYYY-MM-DD text, lists of names."""
        return cls(
            date_from=_iso_date(date_from, "date_from"),
            date_to=_iso_date(date_to, "date_to"),
            sources=tuple(sources or ()),
            outlets=tuple(outlets or ()),
        )

    @property
    def has_dates(self) -> bool:
        return bool(self.date_from or self.date_to)

    def conditions(self) -> list[Condition]:
        """What the filters mean, as conditions that must all hold."""
        conditions = []
        if self.date_from:
            conditions.append(Condition("date_num", "$gte", date_number(self.date_from)))
        if self.date_to:
            # An undated chunk (date_num 0) is not "before" any date.
            conditions += [Condition("date_num", "$lte", date_number(self.date_to)), Condition("date_num", "$gt", 0)]
        if self.sources:
            conditions.append(Condition("source", "$in", tuple(self.sources)))
        if self.outlets:
            conditions.append(Condition("outlet", "$in", tuple(self.outlets)))
        return conditions

    def where(self) -> dict | None:
        """The Chroma `where` clause for these filters."""
        clauses = [
            {c.field: {c.operator: list(c.value) if isinstance(c.value, tuple) else c.value}} for c in self.conditions()
        ]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def sql(self) -> tuple[str, list]:
        """An SQL condition on the BM25 side index's columns, with its parameters ("" when nothing is limited)."""
        parts, params = [], []
        for c in self.conditions():
            if isinstance(c.value, tuple):
                parts.append(f"{c.field} {OPERATORS[c.operator][0]} ({', '.join(['?'] * len(c.value))})")
                params += c.value
            else:
                parts.append(f"{c.field} {OPERATORS[c.operator][0]} ?")
                params.append(c.value)
        return " AND ".join(parts), params

    def date_span(self) -> tuple[int, int] | None:
        """The first and last date_num admitted, when the filters limit dates alone; else None."""
        conditions = self.conditions()
        if not conditions or any(c.field != "date_num" for c in conditions):
            return None
        first = max([c.value for c in conditions if c.operator == "$gte"]
                    + [c.value + 1 for c in conditions if c.operator == "$gt"], default=0)
        last = min((c.value for c in conditions if c.operator == "$lte"), default=DATE_NUM_MAX)
        return first, last

    def admits(self, passage: Passage) -> bool:
        """Whether a retrieved passage meets the filters."""
        fields = {"date_num": date_number(passage.date) or 0, "source": passage.source, "outlet": passage.outlet}
        return all(OPERATORS[c.operator][1](fields[c.field], c.value) for c in self.conditions())


def _iso_date(value, name: str) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise QuestionError(f"{name}={value!r} is not a date; write it as YYYY-MM-DD.") from None


def clean_question(question: str) -> str:
    """The question without control characters and extra spaces, cut to MAX_QUESTION_CHARS."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    cleaned = " ".join(CONTROL.sub(" ", TERMINAL_ESCAPE.sub(" ", question)).split())
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


def fuse(ranked_lists: list[list[str]]) -> list[str]:
    """Reciprocal rank fusion: ids ordered by the sum of 1 / (RRF_K + rank) over the lists."""
    scores: dict[str, float] = {}
    for ranked in ranked_lists:
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores, key=lambda item: -scores[item])



class Retriever:
    """Dense, lexical, date and duplicate handling over one store; build once, use from many threads."""

    def __init__(
        self,
        store: NewsStore,
        embeddings: Embeddings,
        lexical: LexicalIndex | None,
        duplicates: DuplicateIndex | None,
        *,
        mode: str = "hybrid",
        use_dates: bool = True,
        max_per_article: int = 2,
        filtered_dense: str = "side",
    ):
        self.store, self.embeddings, self.lexical, self.duplicates = store, embeddings, lexical, duplicates
        # Who scores a dense search inside a filter or date window: the side index's vectors, or Chroma's
        # filtered HNSW search (the baseline `bench/scale.py` measures against).
        self.filtered_dense = filtered_dense
        self.mode = mode if lexical is not None else "dense"
        self.use_dates, self.max_per_article = use_dates, max_per_article

    def retrieve(
        self, question: str, k: int, *, filters: Filters = Filters(), history: list | None = None
    ) -> list[Passage]:
        """The k best passages for the question, best first."""
        query = standalone_question(clean_question(question), history)
        self.store.sync_if_due()  # other machines' (or processes') writes reach the BM25 side first
        vector = self.embeddings.embed_query(query)
        pool = max(k * POOL_PER_K, MIN_POOL)
        found: dict[str, Passage] = {}
        hint = parse_time_expression(query, self._now()) if self.use_dates and not filters.has_dates else TimeHint()
        limits = [filters]
        if hint.has_window:
            limits.append(Filters(
                date_from=hint.start.isoformat() if hint.start else "",
                date_to=(hint.end + window_slack(hint)).isoformat() if hint.end else "",
                sources=filters.sources,
                outlets=filters.outlets,
            ))
        ranked_lists = self._searches(query, vector, pool, limits, found)
        missing = [i for ranked in ranked_lists for i in ranked if i not in found]
        found.update({p.id: p for p in self.store.get_passages(list(dict.fromkeys(missing)), vector)})
        if hint.recent:
            candidates = [found[i] for i in dict.fromkeys(i for ranked in ranked_lists for i in ranked) if i in found]
            newest_first = [p.id for p in sorted(candidates, key=lambda p: p.date, reverse=True)]
            # Weighted like all relevance lists together: "latest" is what the reader asked for first.
            ranked_lists += [newest_first] * len(ranked_lists)
        ordered = [found[i] for i in fuse(ranked_lists) if i in found and filters.admits(found[i])]
        return self._diversify(ordered, k)

    def _searches(
        self, query: str, vector: list[float], pool: int, limits: list[Filters], found: dict[str, Passage]
    ) -> list[list[str]]:
        """The ranked ids of each search under each of `limits`: dense, then BM25, for each in turn."""
        dense = [self._dense(vector, pool, f, found) for f in limits] if self.mode != "bm25" else []
        lexical = []
        if self.mode != "dense":
            found_each = self.lexical.search_each(query, pool, [f.sql() for f in limits])
            lexical = [[chunk_id for chunk_id, _ in hits] for hits in found_each]
        return [ranked for pair in itertools.zip_longest(dense, lexical) for ranked in pair if ranked is not None]

    def _dense(self, vector: list[float], pool: int, filters: Filters, found: dict[str, Passage]) -> list[str]:
        """The ids of the `pool` passages nearest the question among those the filters admit, best first.

        Chroma's filtered search costs more the more rows match, so inside a filter the side index
        scores the admitted rows itself; a window holding most of the index is cheaper to take from
        Chroma's unfiltered search, over-fetched and filtered here.
        """
        if not filters.conditions():
            dense = self.store.search(vector, pool)
        else:
            scored = None
            if self.lexical is not None and self.filtered_dense == "side":
                scored = self.lexical.nearest(
                    vector,
                    pool,
                    where=filters.sql(),
                    dates=filters.date_span(),
                    at_most=WIDE_WINDOW_SHARE * self.lexical.count(),
                )
                if scored is not None and (scored or self.lexical.count()):  # an empty window; Chroma's count costs ms
                    return [chunk_id for chunk_id, _ in scored]
                if self.lexical.vectors_complete():  # a wide window: most passages pass the filter
                    wide = [p for p in self.store.search(vector, pool * WIDE_WINDOW_OVERFETCH) if filters.admits(p)]
                    if len(wide) >= pool:
                        found.update({p.id: p for p in wide[:pool]})
                        return [p.id for p in wide[:pool]]
            dense = self.store.search(vector, pool, filters.where())
        found.update({p.id: p for p in dense})
        return [p.id for p in dense]

    def rest_of_articles(
        self, shown: Sequence[Passage], sources: Sequence[str], vector: list[float], limit: int
    ) -> list[Passage]:
        """Up to `limit` passages of each of `sources` that `shown` lacks, article by article in article order,
        scored against `vector`, in one read of the store.

        They carry the near-duplicate copies the shown passages of their article list. Without the side index,
        which knows each article's chunks, there are none.
        """
        if self.lexical is None:
            return []
        have = {p.id for p in shown}
        ids: list[str] = []
        for source in sources:
            ids += [i for i in self.lexical.chunk_ids_of(source) if i not in have][:limit]
        copies = {p.source: p.also_reported_by for p in reversed(shown)}  # the first shown passage's, per article
        order = {chunk_id: n for n, chunk_id in enumerate(ids)}
        found = sorted(self.store.get_passages(ids, vector), key=lambda p: order[p.id])
        return [replace(p, also_reported_by=copies[p.source]) if copies.get(p.source) else p for p in found]

    def _now(self) -> date:
        """'Now' for relative dates: the newest article's date, so an archive reads as of its own time."""
        newest = self.lexical.newest_date() if self.lexical is not None else ""
        return date.fromisoformat(newest) if newest else date.today()

    def _diversify(self, ordered: list[Passage], k: int) -> list[Passage]:
        """Collapse near-duplicate copies and cap passages per article, keeping rank order.

        Copies are looked up in rank order and only until k passages are chosen: each lookup is a
        few queries of the duplicate index, and most of the ranked list is never shown.
        """
        retrieved = {p.source for p in ordered}
        groups: dict[str, list[str]] = {}  # source -> its group's preferred copy first, then the other copies
        shown: dict[str, str] = {}  # preferred copy -> the source whose passages stand for the group
        chosen: list[Passage] = []
        taken: dict[str, int] = {}

        def group(source: str) -> list[str]:
            if source not in groups:
                members = self.duplicates.group_of(source) if self.duplicates is not None else []
                sources = [m.source for m in members] or [source]
                key = preferred_copy(members).source if members else source
                groups[source] = [key] + sorted(s for s in sources if s != key)
            return groups[source]

        for passage in ordered:
            key = group(passage.source)[0]
            if key not in shown:
                # The preferred (earliest) copy's passages stand for the group when it was retrieved at all;
                # else the best-ranked copy's, which is this one: every passage before it has been grouped.
                shown[key] = key if key in retrieved and group(key)[0] == key else passage.source
            shown_source = shown[key]
            if passage.source != shown_source or taken.get(key, 0) >= self.max_per_article:
                continue
            taken[key] = taken.get(key, 0) + 1
            others = tuple(s for s in groups[passage.source] if s != passage.source)
            chosen.append(replace(passage, also_reported_by=others) if others else passage)
            if len(chosen) == k:
                break
        return chosen
