"""Answers and their sources as HTML: the chat message with linked [n] markers, and the source cards.

Text from articles and questions is escaped here for both HTML and markdown, so the chat shows it as
text: no markup in it is run, rendered or fetched. The chat page (`ui.py`) and the Timeline tab
(`timeline_view.py`) both draw their sources with `source_card`. Left out: the page itself.
"""

from __future__ import annotations

import html
import re

from .text import MARKER, content_words, link_markers, marker_numbers, split_sentences
from .types import Answer, Citation, Passage

# Characters markdown reads as syntax: emphasis, code, links and images, headings, lists, tables,
# autolinks, maths. A backslash makes each a plain character. HTML's own (& < > " ') are left to
# html.escape, and [ ] , ; stay so that citation markers can still be found: with "(", ":" and "!"
# escaped, a bracket alone makes no link or image.
MARKDOWN_SYNTAX = re.compile(r"([\\`*_{}()#+\-.!|~^=:/@$])")
MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}()#+\-.!|~^=:/@$])")


def chat_text(text: str) -> str:
    """`text` as a chat message that shows exactly these characters: HTML- and markdown-escaped."""
    return html.escape(MARKDOWN_SYNTAX.sub(r"\\\1", text))


def plain_text(message: str) -> str:
    """A chat message back as the text it shows, without our link markup and escapes."""
    return html.unescape(MARKDOWN_ESCAPE.sub(r"\1", re.sub(r"<[^>]+>", "", message)))


def link_citations(text: str, turn: int) -> str:
    """The answer as a chat message, each number of each [n] / [n, m] a link to its source in this turn's panel."""
    return link_markers(chat_text(text), lambda n: f'<a class="cite" href="#src-{turn}-{n}">{n}</a>')


def support_spans(citation: Citation, answer_text: str) -> list[tuple[int, int]]:
    """What to highlight in a cited passage: the grounding span, else for each sentence citing it,
    the passage sentence sharing the most words with it."""
    if citation.span:
        return [tuple(citation.span)]
    citing = [
        answer_text[s:e] for s, e in split_sentences(answer_text) if citation.number in marker_numbers(answer_text[s:e])
    ] or [answer_text]
    sentences = split_sentences(citation.text)
    spans = set()
    for claim in citing:
        words = content_words(MARKER.sub(" ", claim))
        overlaps = ((len(words & content_words(citation.text[s:e])), (s, e)) for s, e in sentences)
        overlap, best = max(overlaps, default=(0, None))
        if overlap:
            spans.add(best)
    return sorted(spans)


def source_card(item: Citation | Passage, *, anchor: str = "", spans: list[tuple[int, int]] = ()) -> str:
    """One source: number, title (a link when the source is a URL), outlet, date, source, and the passage."""
    esc = html.escape
    number = getattr(item, "number", None)
    title = esc(item.title or item.source)
    if re.match(r"https?://", item.source):
        title = f'<a href="{esc(item.source)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    if number:
        title = f'<span class="src-num">[{number}]</span> {title}'
    meta = " · ".join([esc(x) for x in (item.outlet, item.date, item.place) if x] + [f"relevance {item.score:.2f}"])
    passage, done = "", 0
    for start, end in spans:
        if done <= start < end <= len(item.text):
            passage += f"{esc(item.text[done:start])}<mark>{esc(item.text[start:end])}</mark>"
            done = end
    passage += esc(item.text[done:])
    anchor = f' id="{anchor}"' if anchor else ""
    return (
        f'<article class="src-card"{anchor}><header class="src-title">{title}</header>'
        f'<div class="src-meta">{meta}</div><div class="src-path">{esc(item.source)}</div>'
        f'<blockquote class="src-text">{passage.strip()}</blockquote></article>'
    )


def turn_sources(answer: Answer, turn: int, current: bool) -> str:
    """The sources of one answer: the cited passages, then the other retrieved ones folded away."""
    cited = [
        source_card(c, anchor=f"src-{turn}-{c.number}", spans=support_spans(c, answer.text)) for c in answer.citations
    ]
    cited_ids = {(c.source, c.text) for c in answer.citations}
    others = [source_card(p) for p in answer.passages if (p.source, p.text) not in cited_ids]
    question, llm, reason = html.escape(answer.question), html.escape(answer.llm), html.escape(answer.reason)
    how = f"{llm}, {answer.route.value}" + (f": {reason}" if reason else "")
    parts = [f'<p class="src-question">Sources for “{question}” · answered by {how}</p>']
    if cited:
        parts += cited
        if others:
            folded = "".join(others)
            parts.append(f"<details><summary>{len(others)} more retrieved, not cited</summary>{folded}</details>")
    elif others:
        parts.append('<p class="src-note">No passage answers this. The closest ones:</p>')
        parts += others
    return f'<section class="src-turn{" current" if current else ""}" data-turn="{turn}">{"".join(parts)}</section>'


def sources_html(answers: list[Answer]) -> str:
    """The sources panel: one section per answer, the latest shown; clicking an [n] shows its own."""
    heading = '<h2 class="src-heading">Sources</h2>'
    if not answers:
        return heading + (
            '<div class="src-empty">The sources of each answer appear here, with the supporting words highlighted. '
            "Click a [n] in an answer to jump to its passage.</div>"
        )
    return heading + "".join(turn_sources(a, i, i == len(answers) - 1) for i, a in enumerate(answers))
