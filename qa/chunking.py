"""Cut an article's text into passages of whole sentences, each a real slice of the text.

Sentences are found with a small rule-based splitter tuned for news prose
(abbreviations, initials, decimals, closing quotes, paragraph breaks); chunks
are packed greedily from them, prefer to end at a paragraph, and repeat the
last sentence(s) of the previous chunk so a fact split across a boundary is
still retrievable. Chunk ids come from the content, so re-chunking an unchanged
article gives the same ids.

Left out: token counting (characters are a close enough proxy for a small
embedding model), language detection, and anything that needs a model.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from qa.types import Article, Chunk

# A full stop, question or exclamation mark (or ellipsis), with any closing quotes or
# brackets that belong to the same sentence, followed by whitespace or the end.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s|$)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
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
    return [span for span in (_strip_span(text, *span) for span in spans) if span[0] < span[1]]


def chunk_id(source: str, index: int, text: str) -> str:
    """A stable id for a chunk: the same article text always gives the same ids."""
    return hashlib.sha256(f"{source}\x00{index}\x00{text}".encode("utf-8")).hexdigest()[:32]


def chunk_article(article: Article, chunk_chars: int = 700, overlap: int = 1) -> list[Chunk]:
    """Pack the article's sentences into chunks of at most `chunk_chars` characters."""
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be at least 1, got {chunk_chars}; set QA_CHUNK_CHARS to e.g. 700.")
    if overlap < 0:
        raise ValueError(f"overlap must be 0 or more sentences, got {overlap}; set QA_CHUNK_OVERLAP to e.g. 1.")
    text = article.text
    units = _units(text, chunk_chars)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last = _last_unit_that_fits(units, first, chunk_chars)
        start, end = units[first].start, units[last].end
        index = len(chunks)
        piece = text[start:end]
        chunks.append(Chunk(id=chunk_id(article.source, index, piece), article=article, text=piece, index=index, start=start))
        if last == len(units) - 1:
            break
        first = _next_first_unit(units, first, last, chunk_chars, overlap)
    return chunks


@dataclass(frozen=True)
class _Unit:
    """A sentence, or a word-boundary piece of a sentence too long for one chunk."""

    start: int
    end: int
    ends_paragraph: bool


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
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


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _units(text: str, chunk_chars: int) -> list[_Unit]:
    sentences = split_sentences(text)
    units = []
    for number, (start, end) in enumerate(sentences):
        next_start = sentences[number + 1][0] if number + 1 < len(sentences) else len(text)
        ends_paragraph = _PARAGRAPH_BREAK.search(text, end, next_start) is not None
        pieces = _cut_at_words(text, start, end, chunk_chars)
        for piece_number, (piece_start, piece_end) in enumerate(pieces):
            is_last_piece = piece_number == len(pieces) - 1
            units.append(_Unit(piece_start, piece_end, ends_paragraph and is_last_piece))
    return units


def _cut_at_words(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Split an over-long sentence at the last whitespace before each `limit` characters."""
    pieces = []
    while end - start > limit:
        cut = max(text.rfind(space, start + 1, start + limit + 1) for space in " \n\t")
        if cut <= start:  # one "word" longer than a chunk (a URL, a table): cut it anyway
            cut = start + limit
        piece = _strip_span(text, start, cut)
        if piece[0] < piece[1]:
            pieces.append(piece)
        start = _strip_span(text, cut, end)[0]
    pieces.append((start, end))
    return pieces


def _last_unit_that_fits(units: list[_Unit], first: int, chunk_chars: int) -> int:
    last = first
    while last + 1 < len(units) and units[last + 1].end - units[first].start <= chunk_chars:
        # A paragraph is a natural unit of meaning: stop at one once the chunk is half full.
        if units[last].ends_paragraph and units[last].end - units[first].start >= chunk_chars / 2:
            break
        last += 1
    return last


def _next_first_unit(units: list[_Unit], first: int, last: int, chunk_chars: int, overlap: int) -> int:
    """Where the next chunk starts: `overlap` units back, but always leaving room for a new one."""
    fresh = last + 1
    start = max(fresh - overlap, first + 1)
    while start < fresh and units[fresh].end - units[start].start > chunk_chars:
        start += 1
    return start
