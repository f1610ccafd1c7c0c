"""Reuters-21578 SGML files (`reut2-NNN.sgm`): one `Article` per <REUTERS> story.

Each story gives its title (<TITLE>, upper case on the wire, title-cased here for
reading), date (<DATE>, e.g. "26-FEB-1987 15:01:01.79"), dateline place (<DATELINE>
"SALVADOR, Feb 26 -") and body (<BODY>, without the closing "Reuter" sign-off).
Sources are `<file source>#<NEWID>`, so every story has a stable id. A story that
is a headline only keeps its headline as its text, so nothing on the wire is lost.
Left out: the TOPICS/PLACES/PEOPLE category tags and the Lewis/CGI split labels.
"""

from __future__ import annotations

import html
import re
from typing import Iterator

from qa.datelines import normalise_date
from qa.records import RecordIssue, RecordResult
from qa.types import Article

_STORY = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.DOTALL)
_NEWID = re.compile(r'NEWID="(\d+)"')
_SIGN_OFF = re.compile(r"\s*\bReuters?\b\s*$")
_PARAGRAPH_START = re.compile(r"\n(?:&\\t|\t| {2,})")  # wire paragraphs begin with a tab (written "&\t" in some copies)
OUTLET = "Reuters"


def _field(story: str, tag: str) -> str:
    match = re.search(rf"<{tag}(?:\s[^>]*)?>(.*?)</{tag}>", story, re.DOTALL)
    return html.unescape(match.group(1)) if match else ""


def _clean_body(body: str) -> str:
    body = re.sub(r"[\x00-\x08\x0b-\x1f]", "", _PARAGRAPH_START.sub("\n\n", body))
    body = _SIGN_OFF.sub("", body.strip())
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body)]
    return "\n\n".join(p for p in paragraphs if p)


def _place(dateline: str) -> str:
    head = dateline.strip().split(",")[0].strip(" -")
    return head.title() if head and not any(ch.isdigit() for ch in head) else ""


def iter_sgml_records(raw: str, file_source: str) -> Iterator[RecordResult]:
    """Every story of a Reuters-21578 file, in file order."""
    found_any = False
    for number, match in enumerate(_STORY.finditer(raw), start=1):
        found_any = True
        attributes, story = match.groups()
        newid = _NEWID.search(attributes)
        source = f"{file_source}#{newid.group(1) if newid else number}"
        title = " ".join(re.sub(r"[\x00-\x1f]", " ", _field(story, "TITLE")).split()).title()
        text = _clean_body(_field(story, "BODY")) or title
        if not text:  # TYPE="UNPROC" stories (tables, briefs) carry their lines straight in <TEXT>
            lines = [
                " ".join(line.split())
                for line in re.sub(r"<[^>]+>|[\x00-\x08\x0b-\x1f]", "", _field(story, "TEXT")).splitlines()
            ]
            lines = [line for line in lines if line]
            title, text = (lines[0].title(), "\n".join(lines)) if lines else ("", "")
        if not text:
            yield RecordIssue(source, "story has neither a title nor a body")
            continue
        raw_date = " ".join(_field(story, "DATE").split())
        date = normalise_date(raw_date)
        yield Article(
            source=source, text=text, title=title, date=date, place=_place(_field(story, "DATELINE")), outlet=OUTLET
        )
        if raw_date and not date:
            yield RecordIssue(source, f"date {raw_date!r} not understood; left empty", skipped=False)
    if not found_any:
        yield RecordIssue(file_source, "no <REUTERS> stories in the file")
