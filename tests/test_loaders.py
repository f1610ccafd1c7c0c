"""Loading articles from real files: what a user ingesting a folder would see."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.loaders import Notice, Skipped, iter_articles, normalise_date, parse_text_article
from qa.types import Article

SEED_ARTICLES = Path(__file__).resolve().parent.parent / "articles"
BBC_LATIN1_FILE = Path("/work/shared/corpus/bbc/sport/199.txt")


def load(*paths) -> tuple[list[Article], list[Skipped], list[Notice]]:
    results = list(iter_articles(paths))
    return (
        [r for r in results if isinstance(r, Article)],
        [r for r in results if isinstance(r, Skipped)],
        [r for r in results if isinstance(r, Notice)],
    )


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_seed_articles_give_date_place_outlet_and_folder_relative_sources(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(SEED_ARTICLES, folder)
    articles, skipped, notices = load(folder)
    assert skipped == [] and notices == []
    kazinform, trend = articles
    assert kazinform.source == "articles/000_7a094f6f779c30f4.txt"
    assert (kazinform.date, kazinform.place, kazinform.outlet) == ("2022-11-18", "Samarkand", "Kazinform")
    assert (trend.date, trend.place, trend.outlet) == ("2024-02-15", "Astana", "Trend")
    assert kazinform.text.startswith("SAMARKAND. KAZINFORM – The Kazakh delegation")
    assert "date 2022" not in kazinform.text
    assert kazinform.title.startswith("The Kazakh delegation headed by Deputy Prime Minister")
    assert kazinform.title.endswith("…") and len(kazinform.title) <= 91
    assert "\n\n" in trend.text and "$40.2 billion" in trend.text


def test_a_single_file_argument_is_named_by_its_file_name(tmp_path):
    shutil.copytree(SEED_ARTICLES, tmp_path / "articles")
    articles, _, _ = load(tmp_path / "articles" / "000_7a094f6f779c30f4.txt")
    assert [a.source for a in articles] == ["000_7a094f6f779c30f4.txt"]


def test_bbc_style_file_gives_its_title_line(tmp_path):
    write(
        tmp_path / "bbc" / "business" / "001.txt",
        "Ad sales boost Time Warner profit\n\n"
        "Quarterly profits at US media giant TimeWarner jumped 76%.\n\nMore text here.\n",
    )
    (article,), skipped, _ = load(tmp_path / "bbc")
    assert article.source == "bbc/business/001.txt"
    assert article.title == "Ad sales boost Time Warner profit"
    assert article.text == "Quarterly profits at US media giant TimeWarner jumped 76%.\n\nMore text here."


def test_title_followed_by_a_date_line_and_markdown_heading(tmp_path):
    write(tmp_path / "a.txt", "Rates held\nDate: 2024-03-01\n\nThe bank   kept rates steady.\n")
    write(tmp_path / "b.md", "# Budget approved\n\ndate 2024-03-02\n\nParliament approved the budget.\n")
    (txt, md), _, _ = load(tmp_path / "a.txt", tmp_path / "b.md")
    assert (txt.title, txt.date, txt.text) == ("Rates held", "2024-03-01", "The bank kept rates steady.")
    assert (md.title, md.date, md.text) == ("Budget approved", "2024-03-02", "Parliament approved the budget.")


def test_reuters_dateline_gives_place_and_outlet():
    article = parse_text_article("WASHINGTON, March 3 (Reuters) - The Fed held rates. Officials said more.", "r.txt")
    assert (article.place, article.outlet) == ("Washington", "Reuters")
    assert article.title == "The Fed held rates."


def test_plain_text_without_dateline_invents_no_place_or_outlet():
    article = parse_text_article("Prices rose in March. Analysts expected it.", "p.txt")
    assert (article.place, article.outlet, article.date) == ("", "", "")
    assert article.title == "Prices rose in March."


def test_html_drops_scripts_and_navigation_and_reads_metadata(tmp_path):
    write(
        tmp_path / "page.html",
        """<html><head><title>Site | Story</title>
        <meta property="og:title" content="Trade grows">
        <meta property="og:site_name" content="Trend">
        <meta property="article:published_time" content="2024-02-15T10:00:00Z">
        <script>var tracking = "do not index";</script></head>
        <body><nav>Home | World</nav><article><h1>Trade grows</h1>
        <p>ASTANA, Kazakhstan, February 15. Trade rose to <b>$40.2 billion</b>.</p>
        <ul><li>Exports up</li><li>Imports up</li></ul></article>
        <footer>Copyright</footer></body></html>""",
    )
    (article,), skipped, _ = load(tmp_path / "page.html")
    assert (article.title, article.date, article.outlet, article.place) == (
        "Trade grows",
        "2024-02-15",
        "Trend",
        "Astana",
    )
    assert article.text == "ASTANA, Kazakhstan, February 15. Trade rose to $40.2 billion.\n\nExports up\n\nImports up"
    assert "tracking" not in article.text and "Home" not in article.text and "Copyright" not in article.text


def test_json_list_and_articles_object(tmp_path):
    records = [
        {"ID": "kz-1", "Headline": "One", "published": "Feb 15, 2024", "body": "First text.", "publisher": "Trend"},
        {"url": "https://example.com/2", "title": "Two", "date": "15 February 2024", "text": "Second text."},
        {"title": "No text here"},
    ]
    write(tmp_path / "list.json", json.dumps(records))
    write(tmp_path / "wrapped.json", json.dumps({"articles": [{"text": "Third text.", "date": "someday"}]}))
    articles, skipped, notices = load(tmp_path / "list.json", tmp_path / "wrapped.json")
    assert [a.source for a in articles] == ["kz-1", "https://example.com/2", "wrapped.json#1"]
    assert (articles[0].title, articles[0].date, articles[0].outlet) == ("One", "2024-02-15", "Trend")
    assert articles[1].date == "2024-02-15"
    assert skipped == [Skipped("list.json#3", "no text field (expected one of text, body, article, content)")]
    assert notices == [Notice("wrapped.json#1", "date 'someday' not understood; left empty")]


def test_jsonl_bad_line_is_skipped_and_the_others_still_load(tmp_path):
    lines = ['{"id": "a", "text": "Alpha."}', "", '{"id": "b", "text": ', '{"id": "c", "text": "Gamma."}']
    write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    articles, skipped, _ = load(tmp_path / "feed.jsonl")
    assert [a.source for a in articles] == ["a", "c"]
    assert len(skipped) == 1 and skipped[0].source == "feed.jsonl:3"
    assert skipped[0].reason.startswith("invalid JSON")


def test_csv_rows_load_and_a_csv_without_text_column_is_one_skip(tmp_path):
    write(
        tmp_path / "news.csv",
        'id,Title,date,text\nx1,Oil,2024/02/15,"Oil rose.\n\nThen fell."\nx2,Gas,26-FEB-1987,Gas fell.\n',
    )
    write(tmp_path / "bad.csv", "id,title\n1,a\n2,b\n3,c\n")
    articles, skipped, _ = load(tmp_path / "news.csv", tmp_path / "bad.csv")
    assert [(a.source, a.title, a.date) for a in articles] == [("x1", "Oil", "2024-02-15"), ("x2", "Gas", "1987-02-26")]
    assert articles[0].text == "Oil rose.\n\nThen fell."
    assert skipped == [Skipped("bad.csv", "no text column (expected one of text, body, article, content)")]


def test_non_utf8_file_loads_with_a_notice(tmp_path):
    write(tmp_path / "cafe.txt", b"Caf\xe9 prices rose.\n")
    results = list(iter_articles([tmp_path / "cafe.txt"]))
    assert isinstance(results[0], Article) and results[0].text == "Café prices rose."
    assert results[1] == Notice("cafe.txt", "not valid UTF-8; read as Windows-1252")


def test_real_bbc_file_in_windows_1252_loads_with_a_notice():
    if not BBC_LATIN1_FILE.exists():
        pytest.skip(f"{BBC_LATIN1_FILE} is not available")
    articles, skipped, notices = load(BBC_LATIN1_FILE)
    assert skipped == [] and articles[0].title == "Chelsea sack Mutu"
    assert "£15.8m" in articles[0].text
    assert notices == [Notice("199.txt", "not valid UTF-8; read as Windows-1252")]


def test_unreadable_inputs_are_skipped_with_reasons_and_good_files_still_load(tmp_path):
    folder = tmp_path / "in"
    write(folder / "empty.txt", "  \n\n")
    write(folder / "blob.txt", b"\x00\x01\x02binary")
    write(folder / "report.pdf", b"%PDF-1.4")
    write(folder / "good.txt", "Markets rallied on Friday.")
    write(folder / ".hidden.txt", "Should be ignored.")
    write(folder / ".git" / "notes.txt", "Should be ignored too.")
    articles, skipped, _ = load(folder, tmp_path / "missing")
    assert [a.source for a in articles] == ["in/good.txt"]
    assert skipped == [
        Skipped("in/blob.txt", "binary file"),
        Skipped("in/empty.txt", "empty file"),
        Skipped("in/report.pdf", "unsupported file type .pdf"),
        Skipped(str(tmp_path / "missing"), "no such file or folder"),
    ]


def test_iter_articles_is_lazy_and_accepts_a_single_path(tmp_path):
    write(tmp_path / "a.txt", "Alpha happened.")
    results = iter_articles(tmp_path / "a.txt")
    assert not isinstance(results, list)
    assert next(results).source == "a.txt"


@pytest.mark.parametrize(
    "written, expected",
    [
        ("2024-02-15", "2024-02-15"),
        ("2024-02-15T10:00:00Z", "2024-02-15"),
        ("15 February 2024", "2024-02-15"),
        ("Feb 15, 2024", "2024-02-15"),
        ("2024/02/15", "2024-02-15"),
        ("26-FEB-1987 15:01:01.79", "1987-02-26"),
        ("Thu, 15 Feb 2024 10:00:00 GMT", "2024-02-15"),
        ("2024-02-31", ""),
        ("last week", ""),
    ],
)
def test_normalise_date(written, expected):
    assert normalise_date(written) == expected
