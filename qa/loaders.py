"""Read news articles from files and folders into `Article`s, reporting what could not be read.

`iter_articles` walks the paths it is given (folders recursively, in sorted order,
hidden names ignored) and yields, lazily, an `Article` for each article, a `Skipped`
for each file or record it could not use (with the reason in plain words), and a
`Notice` after an article that loaded with a caveat (e.g. a legacy encoding). It
never raises for bad input, so one broken file cannot stop an ingest. A file's source
is its path from the folder given (or its name, when the file itself was given); with
a `namespace` (the chat page's uploads) every source starts "<namespace>/", and a
record's id is read as an id within its file ("uploads/feed.jsonl#<id>"), so the
articles of a namespace can never have the source of an article outside it.

Plain text, Markdown and HTML are handled here; JSON, JSON Lines and CSV records
in `records.py`; Reuters-21578 SGML in `reuters.py`; the dateline, outlet, title and date conventions of news prose
in `datelines.py`. Left out: PDF and Word files, fetching URLs, and language detection.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bs4 import BeautifulSoup

from qa.datelines import derive_title, find_dateline, normalise_date, tidy_paragraphs
from qa.records import iter_csv_records, iter_json_records, iter_jsonl_records
from qa.reuters import iter_sgml_records
from qa.types import Article

__all__ = [
    "Notice",
    "RECORD_SUFFIXES",
    "Skipped",
    "SUPPORTED_SUFFIXES",
    "iter_articles",
    "normalise_date",
    "parse_text_article",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".csv", ".sgm")
# Files holding many articles each, so a file count does not tell how many articles to expect.
RECORD_SUFFIXES = (".json", ".jsonl", ".csv", ".sgm")


@dataclass(frozen=True)
class Skipped:
    """A file or record that could not be read; nothing of it is ingested."""

    source: str  # the path or record id, as the user would recognise it
    reason: str


@dataclass(frozen=True)
class Notice:
    """The article was loaded, but something about it deserves a word in the summary."""

    source: str
    message: str


LoadResult = Article | Skipped | Notice

# "date 2022-11-18 SAMARKAND. KAZINFORM – ..." as in the seed articles, or "Date: 2024-02-15".
_DATE_MARKER = re.compile(r"^\s*date\s*:?\s+(\d{4}-\d{2}-\d{2})\b[ \t]*", re.IGNORECASE)
_LONGEST_TITLE = 200
_BINARY_SNIFF_BYTES = 8192


def iter_articles(paths: Iterable[str | Path], *, namespace: str = "") -> Iterator[LoadResult]:
    """Articles, skipped files and notices from the given files and folders, lazily, in a stable order.

    With a `namespace`, sources start "<namespace>/" and record ids count only within their file.
    """
    if isinstance(paths, (str, Path)):  # a lone path would otherwise be iterated letter by letter
        paths = [paths]
    prefix = f"{namespace}/" if namespace else ""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            root = Path(os.path.abspath(path))
            for file in _files_under(root):
                yield from _load_file(file, prefix + file.relative_to(root.parent).as_posix(), bool(namespace))
        elif path.is_file():
            yield from _load_file(path, prefix + path.name, bool(namespace))
        elif path.exists():
            yield Skipped(str(given), "not a regular file or folder")
        else:
            yield Skipped(str(given), "no such file or folder")


def parse_text_article(raw: str, source: str) -> Article:
    """An article from plain text or Markdown: optional title line, optional `date YYYY-MM-DD` marker, body."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    title = date = ""
    if lines and (marker := _DATE_MARKER.match(lines[0])):
        date, lines[0] = marker.group(1), lines[0][marker.end() :]
    elif lines and _is_title_line(lines, markdown=source.lower().endswith(".md")):
        title = " ".join(lines.pop(0).lstrip("#").split())
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines and (marker := _DATE_MARKER.match(lines[0])):
            date, lines[0] = marker.group(1), lines[0][marker.end() :]
    text = tidy_paragraphs("\n".join(lines))
    return _with_prose_metadata(Article(source=source, text=text, title=title, date=normalise_date(date)))


def _is_title_line(lines: list[str], markdown: bool) -> bool:
    first = lines[0].strip()
    if markdown:
        return bool(re.match(r"#\s+\S", first))
    followed_by_break = len(lines) > 1 and (not lines[1].strip() or _DATE_MARKER.match(lines[1]) is not None)
    return len(first) <= _LONGEST_TITLE and followed_by_break and len(lines) > 2


def _with_prose_metadata(article: Article) -> Article:
    """Fill place, outlet and title from the text where the source did not give them."""
    dateline = find_dateline(article.text)
    return replace(
        article,
        title=article.title or derive_title(article.text),
        place=article.place or dateline.place,
        outlet=article.outlet or dateline.outlet,
    )


def _files_under(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        # Sorting in place also fixes the order os.walk descends in, so runs are repeatable.
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def _load_file(path: Path, source: str, ids_within_file: bool = False) -> Iterator[LoadResult]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Skipped(source, f"unsupported file type {suffix or '(no extension)'}")
        return
    try:
        data = path.read_bytes()
    except OSError as error:
        yield Skipped(source, f"could not be read: {error.strerror or error}")
        return
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        yield Skipped(source, "binary file")
        return
    raw, legacy_encoding = _decode(data)
    if not raw.strip():
        yield Skipped(source, "empty file")
        return
    try:
        if suffix in _RECORD_PARSERS:
            yield from _RECORD_PARSERS[suffix](raw, source, ids_within_file)
        else:
            yield from _TEXT_PARSERS[suffix](raw, source)
    except Exception as error:  # one malformed file must not abort an ingest of thousands
        yield Skipped(source, f"could not be parsed ({type(error).__name__}: {error})")
        return
    if legacy_encoding:
        yield Notice(source, "not valid UTF-8; read as Windows-1252")


def _decode(data: bytes) -> tuple[str, bool]:
    """The text, and whether it had to fall back from UTF-8 to Windows-1252 (the usual legacy newsroom encoding)."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), True


def _text_file(raw: str, source: str) -> Iterator[LoadResult]:
    article = parse_text_article(raw, source)
    yield article if article.text else Skipped(source, "no article text after the title")


_DROPPED_HTML = ["script", "style", "noscript", "nav", "header", "footer", "aside"]
_HTML_BLOCKS = ["p", "h1", "h2", "h3", "h4", "h5", "h6", "li"]


def _html_file(raw: str, source: str) -> Iterator[LoadResult]:
    soup = BeautifulSoup(raw, "html.parser")
    title = _meta(soup, property="og:title") or _tag_text(soup.find("h1")) or _tag_text(soup.find("title"))
    time_tag = soup.find("time", attrs={"datetime": True})
    raw_date = (
        _meta(soup, property="article:published_time")
        or _meta(soup, name="date")
        or (time_tag["datetime"] if time_tag else "")
    )
    outlet = _meta(soup, property="og:site_name")
    for tag in soup(_DROPPED_HTML):
        tag.decompose()
    container = soup.find("article") or soup.body or soup
    # Innermost blocks only, so <li><p>..</p></li> is not read twice.
    blocks = [_tag_text(tag) for tag in container.find_all(_HTML_BLOCKS) if not tag.find(_HTML_BLOCKS)]
    blocks = [block for block in blocks if block]
    if blocks and blocks[0] == title:  # the headline is already the title; keep the body's first line the dateline
        blocks.pop(0)
    text = "\n\n".join(blocks) if blocks else tidy_paragraphs(container.get_text())
    if not text:
        yield Skipped(source, "no article text in the HTML")
        return
    date = normalise_date(raw_date)
    yield _with_prose_metadata(Article(source=source, text=text, title=title, date=date, outlet=outlet))
    if raw_date and not date:
        yield Notice(source, f"publication date {raw_date!r} not understood; left empty")


def _meta(soup: BeautifulSoup, **attribute: str) -> str:
    tag = soup.find("meta", attrs=attribute)
    return " ".join(str(tag.get("content", "")).split()) if tag else ""


def _tag_text(tag) -> str:
    return " ".join(tag.get_text().split()) if tag else ""


# JSON's "\ud800" escapes decode to lone surrogates, which no encoder, tokenizer or database takes.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _records(read_records: Callable) -> Callable[[str, str, bool], Iterator[LoadResult]]:
    """Adapt a record reader from `records.py` to the loader's result types."""

    def load(raw: str, source: str, ids_within_file: bool) -> Iterator[LoadResult]:
        for result in read_records(raw, source, ids_within_file=ids_within_file):
            if isinstance(result, Article):
                article = _without_surrogates(result)
                yield _with_prose_metadata(article)
                if article is not result:
                    yield Notice(article.source, "invalid characters (lone surrogate escapes) replaced with U+FFFD")
            elif result.skipped:
                yield Skipped(_LONE_SURROGATE.sub("\ufffd", result.source), result.message)
            else:
                yield Notice(_LONE_SURROGATE.sub("\ufffd", result.source), result.message)

    return load


def _without_surrogates(article: Article) -> Article:
    fields = {
        name: _LONE_SURROGATE.sub("\ufffd", value)
        for name, value in vars(article).items()
        if _LONE_SURROGATE.search(value)
    }
    return replace(article, **fields) if fields else article


_TEXT_PARSERS: dict[str, Callable[[str, str], Iterator[LoadResult]]] = {
    ".txt": _text_file,
    ".md": _text_file,
    ".html": _html_file,
    ".htm": _html_file,
}


def _sgml_records(raw: str, source: str, *, ids_within_file: bool):
    return iter_sgml_records(raw, source)  # its sources are "<file>#<NEWID>" always


_RECORD_PARSERS: dict[str, Callable[[str, str, bool], Iterator[LoadResult]]] = {
    ".json": _records(iter_json_records),
    ".jsonl": _records(iter_jsonl_records),
    ".csv": _records(iter_csv_records),
    ".sgm": _records(_sgml_records),
}
