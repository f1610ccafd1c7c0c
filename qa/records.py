"""Articles from structured files: JSON (a list, one object, or {"articles": [...]}), JSON Lines, CSV.

Each record becomes an `Article`; field names are matched case-insensitively
against the lists below, so exports from most scrapers and datasets load as they
are. A record's source is its id (or url), or "<file>#<number>" without one; with
`ids_within_file` (uploads) an id is "<file>#<id>", so it cannot name another file's
article. A record that cannot be used becomes a `RecordIssue` naming the record and the
reason, and the other records of the file still load. `loaders.py` turns issues
into the user-facing `Skipped` / `Notice`.

Left out: nested field paths ("meta.date"), Excel files, and guessing which
unnamed column holds the text.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Iterator

from qa.datelines import normalise_date, tidy_paragraphs
from qa.types import Article

# Accepted field names, in order of preference; the README lists the same names.
SOURCE_FIELDS = ("id", "url", "link", "source_id")
TITLE_FIELDS = ("title", "headline")
DATE_FIELDS = ("date", "published", "published_at", "publication_date", "pubdate")
TEXT_FIELDS = ("text", "body", "article", "content")
OUTLET_FIELDS = ("outlet", "publisher", "source_name", "site")
PLACE_FIELDS = ("place", "dateline", "location")
LIST_FIELDS = ("articles", "items", "records")  # where a JSON object may keep its list of records

_NO_TEXT = f"no text field (expected one of {', '.join(TEXT_FIELDS)})"


@dataclass(frozen=True)
class RecordIssue:
    """A record that was skipped (`skipped=True`) or loaded with a caveat."""

    source: str
    message: str
    skipped: bool = True


RecordResult = Article | RecordIssue


def iter_json_records(raw: str, file_source: str, *, ids_within_file: bool = False) -> Iterator[RecordResult]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        yield RecordIssue(file_source, f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}")
        return
    if isinstance(data, dict):
        lists = [value for key, value in data.items() if str(key).lower() in LIST_FIELDS and isinstance(value, list)]
        data = lists[0] if lists else [data]
    if not isinstance(data, list):
        yield RecordIssue(file_source, 'expected an article object, a list of them, or {"articles": [...]}')
        return
    if not data:
        yield RecordIssue(file_source, "no records in the file")
    for number, record in enumerate(data, start=1):
        yield from _record_article(record, f"{file_source}#{number}", _id_prefix(file_source, ids_within_file))


def iter_jsonl_records(raw: str, file_source: str, *, ids_within_file: bool = False) -> Iterator[RecordResult]:
    found_any = False
    for line_number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        found_any = True
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield RecordIssue(f"{file_source}:{line_number}", f"invalid JSON: {error.msg} (column {error.colno})")
            continue
        yield from _record_article(record, f"{file_source}#{line_number}", _id_prefix(file_source, ids_within_file))
    if not found_any:
        yield RecordIssue(file_source, "no records in the file")


def iter_csv_records(raw: str, file_source: str, *, ids_within_file: bool = False) -> Iterator[RecordResult]:
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    try:
        header = [str(name).strip().lower() for name in reader.fieldnames or []]
        if not any(name in header for name in TEXT_FIELDS):
            # One message for the file, not one per row: the header is what needs fixing.
            yield RecordIssue(file_source, f"no text column (expected one of {', '.join(TEXT_FIELDS)})")
            return
        found_any = False
        for number, row in enumerate(reader, start=1):
            found_any = True
            row.pop(None, None)  # cells beyond the header have no name to match
            yield from _record_article(row, f"{file_source}#{number}", _id_prefix(file_source, ids_within_file))
        if not found_any:
            yield RecordIssue(file_source, "no rows under the header")
    except csv.Error as error:
        yield RecordIssue(file_source, f"invalid CSV at line {reader.line_num}: {error}")


def _id_prefix(file_source: str, ids_within_file: bool) -> str:
    """What goes before a record's own id in its source: nothing, or "<file source>#" when ids count within the file."""
    return f"{file_source}#" if ids_within_file else ""


def _record_article(record: Any, fallback_source: str, id_prefix: str = "") -> Iterator[RecordResult]:
    if not isinstance(record, dict):
        yield RecordIssue(fallback_source, f"not an article object (found {type(record).__name__})")
        return
    fields = {str(key).strip().lower(): value for key, value in record.items()}
    given = _first(fields, SOURCE_FIELDS)
    source = id_prefix + given if given else fallback_source
    if not any(name in fields for name in TEXT_FIELDS):
        yield RecordIssue(source, _NO_TEXT)
        return
    text = tidy_paragraphs(_first(fields, TEXT_FIELDS))
    if not text:
        yield RecordIssue(source, "empty text")
        return
    raw_date = _first(fields, DATE_FIELDS)
    date = normalise_date(raw_date)
    yield Article(
        source=source,
        text=text,
        title=" ".join(_first(fields, TITLE_FIELDS).split()),
        date=date,
        place=_first(fields, PLACE_FIELDS),
        outlet=_first(fields, OUTLET_FIELDS),
    )
    if raw_date and not date:
        yield RecordIssue(source, f"date {raw_date!r} not understood; left empty", skipped=False)


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> str:
    """The first non-empty value among `names`, as text ("" when none)."""
    for name in names:
        value = fields.get(name)
        if isinstance(value, list):  # text given as a list of paragraphs
            value = "\n\n".join(str(item) for item in value if isinstance(item, (str, int, float)))
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""
