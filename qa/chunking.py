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
from dataclasses import dataclass

from qa.text import PARAGRAPH_BREAK, split_sentences, strip_span
from qa.types import Article, Chunk


def chunk_id(source: str, index: int, text: str) -> str:
    """A stable id for a chunk: the same article text always gives the same ids."""
    return hashlib.sha256(f"{source}\x00{index}\x00{text}".encode("utf-8")).hexdigest()[:32]


def chunk_article(article: Article, chunk_chars: int = 700, overlap: int = 0) -> list[Chunk]:
    """Pack the article's sentences into chunks of at most `chunk_chars` characters."""
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be at least 1, got {chunk_chars}; set QA_CHUNK_CHARS to e.g. 700.")
    if overlap < 0:
        raise ValueError(f"overlap must be 0 or more sentences, got {overlap}; set QA_CHUNK_OVERLAP to e.g. 0.")
    text = article.text
    units = _units(text, chunk_chars)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last = _last_unit_that_fits(units, first, chunk_chars)
        start, end = units[first].start, units[last].end
        index = len(chunks)
        piece = text[start:end]
        chunks.append(
            Chunk(id=chunk_id(article.source, index, piece), article=article, text=piece, index=index, start=start)
        )
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


def _units(text: str, chunk_chars: int) -> list[_Unit]:
    sentences = split_sentences(text)
    units = []
    for number, (start, end) in enumerate(sentences):
        next_start = sentences[number + 1][0] if number + 1 < len(sentences) else len(text)
        ends_paragraph = PARAGRAPH_BREAK.search(text, end, next_start) is not None
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
        piece = strip_span(text, start, cut)
        if piece[0] < piece[1]:
            pieces.append(piece)
        start = strip_span(text, cut, end)[0]
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
