"""The small text tools every stage shares, each defined once.

- sentences: `split_sentences`, a rule-based splitter tuned for news prose
  (abbreviations, initials, decimals, closing quotes, paragraph breaks);
- words: `STOPWORDS`, `content_words` and `word_overlap`;
- citation markers: `MARKER` (``[1]`` and grouped ``[1, 2]``), `marker_numbers`,
  `strip_markers`, `renumber_markers` and `link_markers`;
- comparing as written: `squash`, and `normalize_text` and `contains_phrase` (punctuation,
  articles and thousands separators aside), which the metrics and evidence selection share;
- vectors: `dot`, the cosine of two normalised embeddings.

Left out: figures and names (`facts.py`), dates and months (`dates.py`), and
anything that needs a model.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Iterable, Sequence

# ---- Sentences ------------------------------------------------------------------------------

# A full stop, question or exclamation mark (or ellipsis), with any closing quotes or
# brackets that belong to the same sentence, followed by whitespace or the end.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s|$)")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_OPENING_PUNCTUATION = "\"'“‘«(["

# Words whose full stop never ends a sentence in news copy: titles, months, company
# suffixes, Latin shorthand. "U.S.", "e.g." and initials are caught by shape instead.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "col", "capt", "lt", "sgt", "rev",
    "st", "jr", "sr", "mt", "ft", "inc", "ltd", "corp", "co", "bros", "plc", "vs", "approx",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
# These are abbreviations only before a number ("No. 5"); "said no. Then" ends a sentence.
_ABBREVIATIONS_BEFORE_NUMBER = {"no", "nos", "vol", "art", "p", "pp", "fig"}
_DOTTED_SHORTHAND = re.compile(r"(?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2}")  # U.S, U.K, e.g, i.e, a.m


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences in `text`, in order, without surrounding whitespace."""
    spans = []
    for paragraph_start, paragraph_end in _paragraph_spans(text):
        start = paragraph_start
        for match in _SENTENCE_END.finditer(text, paragraph_start, paragraph_end):
            if _ends_sentence(text, match, paragraph_end):
                spans.append((start, match.end()))
                start = match.end()
        spans.append((start, paragraph_end))
    return [span for span in (strip_span(text, *span) for span in spans) if span[0] < span[1]]



def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in PARAGRAPH_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _ends_sentence(text: str, match: re.Match, paragraph_end: int) -> bool:
    following = text[match.end():paragraph_end].lstrip().lstrip(_OPENING_PUNCTUATION)
    if not following:
        return True
    if following[0].islower():  # "e.g. the", "U.S. officials", '"Why?" he asked'
        return False
    if not match.group().startswith(".") or match.group().startswith(".."):
        return True
    word = _word_before(text, match.start())
    if len(word) == 1 and word.isalpha():  # an initial, as in "J. Smith"
        return False
    if _DOTTED_SHORTHAND.fullmatch(word) or word.lower() in _ABBREVIATIONS:
        return False
    return not (word.lower() in _ABBREVIATIONS_BEFORE_NUMBER and following[0].isdigit())


def _word_before(text: str, position: int) -> str:
    start = position
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in _OPENING_PUNCTUATION:
        start -= 1
    return text[start:position]


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end

# ---- Words ----------------------------------------------------------------------------------

WORD = re.compile(r"[\w$%.,]+")
# Function words: they carry no topic, so BM25 queries and word-overlap scores leave them out.
STOPWORDS = frozenset(
    "the a an and or of to in on at for by with from as is are was were be been has have had that this "
    "which who whom whose what when where why how it its their his her they he she we you i not also than "
    "into about after before during over under more most such other some any all can could would should "
    "did do does will then there these those".split()
)


def squash(text: str) -> str:
    """The text lowercased with its whitespace collapsed, to find one text inside another as written."""
    return " ".join(text.lower().split())


def content_words(text: str) -> set[str]:
    """The lowercase words of `text` that are not stop words, with trailing full stops and commas removed."""
    words = {w.strip(".,").lower() for w in WORD.findall(text)}
    return {w for w in words if w and w not in STOPWORDS}


def word_overlap(text: str, other: str) -> float:
    """Share of `text`'s content words (its citation markers aside) that occur in `other`."""
    words = content_words(MARKER.sub("", text))
    if not words:
        return 0.0
    return len(words & content_words(other)) / len(words)


# ---- Citation markers -----------------------------------------------------------------------

# "[1]", "[1, 2]" or "[1; 2]", with the space before it, as the answer writes them.
MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKER_SEPARATOR = re.compile(r"\s*[,;]\s*")


def group_numbers(group: str) -> list[int]:
    """The numbers of one marker's inside, "1, 2" -> [1, 2]."""
    return [int(n) for n in _MARKER_SEPARATOR.split(group)]


def marker_numbers(text: str) -> list[int]:
    """Every number inside [n] / [n, m] markers, in order of appearance."""
    return [n for match in MARKER.finditer(text) for n in group_numbers(match.group(1))]


def strip_markers(text: str) -> str:
    """The text without its citation markers, whitespace collapsed."""
    return " ".join(MARKER.sub("", text).split())


def format_marker(numbers: Iterable[int]) -> str:
    """" [1, 2]" for [1, 2]; "" for none."""
    numbers = list(numbers)
    return " [" + ", ".join(str(n) for n in numbers) + "]" if numbers else ""


def renumber_markers(text: str, renumber: Callable[[int], int | None]) -> str:
    """Each marker's numbers mapped through `renumber` (None drops a number; a marker left empty goes)."""

    def replace(match: re.Match) -> str:
        kept = []
        for number in group_numbers(match.group(1)):
            new = renumber(number)
            if new is not None and new not in kept:
                kept.append(new)
        return format_marker(kept)

    return MARKER.sub(replace, text)


def link_markers(text: str, link: Callable[[int], str]) -> str:
    """Each number of each marker replaced by `link(n)` (already-escaped HTML), keeping "[1, 2]" grouped."""

    def replace(match: re.Match) -> str:
        inner = ", ".join(link(n) for n in group_numbers(match.group(1)))
        return match.group(0)[: match.start(1) - match.start(0) - 1] + "[" + inner + "]"

    return MARKER.sub(replace, text)


# ---- Vectors --------------------------------------------------------------------------------


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    """The dot product; our embeddings are normalised, so this is their cosine."""
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


def remember_vectors(embed: Callable[[list[str]], list[list[float]]]) -> Callable[[list[str]], list[list[float]]]:
    """`embed`, remembering each text's vector, so a text is embedded once however often it is asked for."""
    vectors: dict[str, list[float]] = {}

    def cached(texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in vectors]
        if new:
            vectors.update(zip(new, embed(new), strict=True))
        return [vectors[t] for t in texts]

    return cached


# ---- Comparing as written ---------------------------------------------------------------------

_ARTICLES = {"a", "an", "the"}
# A point or comma with a digit on both sides is part of a number, not punctuation.
_NUMBER_SEPARATOR = re.compile(r"(?<=\d)[.,](?=\d)")
_THOUSANDS_SEPARATOR = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalize_text(text: str, *, drop_thousands_separators: bool = False) -> str:
    """Lowercase, strip punctuation and articles, collapse whitespace; keep numbers like 40.2 whole."""
    text = unicodedata.normalize("NFKC", text).lower()
    if drop_thousands_separators:
        text = _THOUSANDS_SEPARATOR.sub("", text)
    kept = {m.start() for m in _NUMBER_SEPARATOR.finditer(text)}
    chars = [" " if unicodedata.category(ch)[0] in "PS" and i not in kept else ch for i, ch in enumerate(text)]
    return " ".join(t for t in "".join(chars).split() if t not in _ARTICLES)


def _normal_forms(text: str) -> tuple[str, str]:
    return normalize_text(text), normalize_text(text, drop_thousands_separators=True)


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether the normalised phrase occurs in the normalised text as whole tokens (an alias in an answer, a quoted
    phrase in a sentence)."""
    for text_form, phrase_form in zip(_normal_forms(text), _normal_forms(phrase), strict=True):
        # Padding with spaces makes the substring test respect token boundaries.
        if phrase_form and f" {phrase_form} " in f" {text_form} ":
            return True
    return False
