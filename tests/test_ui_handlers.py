"""What the chat page's events do, called directly: no server, no browser (those are in test_browser.py).

The handlers run over a real index of the sample articles with the extractive LLM, so
each test sees the messages, sources and summaries a user of the page would see.
"""

from __future__ import annotations

import logging
import re
import zipfile

import pytest

from conftest import KAZINFORM
from qa.ui import CHECKING, GENERIC_ERROR, PageHandlers, chat_text, history_as_text, link_citations, plain_text

RARE_EARTHS = "What did Kazakhstan offer the EU on rare earths?"
NO_FILTERS = (None, None, None)


@pytest.fixture
def handlers(sample_index):
    settings, _, _ = sample_index
    return PageHandlers(settings.replace(llm="extractive"))


def bubbles(states: list[tuple]) -> list[str]:
    """The assistant's last message at each step of a reply."""
    return [history[-1]["content"] for history, _, _ in states]


def test_reply_checks_then_streams_verified_text_then_links_it(handlers):
    box, history, pending = handlers.ask(RARE_EARTHS, [])
    assert box == "" and pending == RARE_EARTHS and history == [{"role": "user", "content": chat_text(RARE_EARTHS)}]
    states = list(handlers.reply(pending, history, [], 4, "extractive", *NO_FILTERS))
    shown = bubbles(states)
    assert shown[0] == CHECKING
    _, answers, sources = states[-1]
    [answer] = answers
    assert "rare earth" in answer.text.lower() and answer.citations[0].source.endswith(KAZINFORM)
    assert shown[-1] == link_citations(answer.text, 0) and 'href="#src-0-1"' in shown[-1]
    assert plain_text(shown[-1]) == answer.text
    # Nothing shown is withdrawn: every text before the linked answer is the start of it.
    texts = [plain_text(s) for s in shown[1:]]
    assert texts and all(answer.text.startswith(text) for text in texts)
    assert 'id="src-0-1"' in sources and "<mark>" in sources
    # The next question's history is the conversation as it reads, without escapes and links.
    assert history_as_text(states[-1][0]) == [
        {"role": "user", "content": RARE_EARTHS}, {"role": "assistant", "content": answer.text}
    ]


def test_follow_up_is_answered_with_the_conversation_and_gets_its_own_sources(handlers):
    _, history, pending = handlers.ask(RARE_EARTHS, [])
    history, answers, _ = list(handlers.reply(pending, history, [], 4, "extractive", *NO_FILTERS))[-1]
    _, history, pending = handlers.ask("Who headed the EU delegation?", history)
    history, answers, sources = list(handlers.reply(pending, history, answers, 4, "extractive", *NO_FILTERS))[-1]
    assert len(answers) == 2 and "Borrell" in answers[1].text
    assert 'href="#src-1-1"' in history[-1]["content"]
    assert 'class="src-turn current" data-turn="1"' in sources and 'data-turn="0"' in sources


def test_a_qa_error_is_a_message_in_the_chat(handlers):
    _, history, pending = handlers.ask("   ", [])
    assert history == []  # a blank question is not shown as a user message
    states = list(handlers.reply(pending, history, [], 4, "extractive", *NO_FILTERS))
    assert bubbles(states)[0] == CHECKING
    assert bubbles(states)[-1].startswith("⚠️ Please type a question")
    assert states[-1][1] == []  # no answer recorded


def test_an_unexpected_error_is_a_short_message_and_logged_in_full(sample_index, caplog):
    def failing_stream(question, **options):
        yield "Kazakhstan is ready"
        raise RuntimeError("the disk caught fire")

    settings, _, _ = sample_index
    _, history, pending = PageHandlers(settings).ask(RARE_EARTHS, [])
    with caplog.at_level(logging.ERROR, logger="qa.ui"):
        states = list(PageHandlers(settings, stream=failing_stream).reply(pending, history, [], 4, "local"))
    assert bubbles(states)[-1] == f"⚠️ {GENERIC_ERROR}"
    assert "the disk caught fire" not in bubbles(states)[-1]
    assert "the disk caught fire" in caplog.text and "Traceback" in caplog.text


def test_article_markup_and_markdown_are_escaped_for_the_chat():
    from markdown_it import MarkdownIt

    text = (
        "Trade grew ![chart](http://127.0.0.1:17899/track-md-image.png) by **a third** and `code` _here_ "
        "<img src=x onerror=alert(1)> see [site](http://example.com) or http://example.com/x [1, 2].\n"
        "# Not a heading\n1. not a list\n> not a quote [3]."
    )
    rendered = MarkdownIt("commonmark", {"linkify": False}).render(link_citations(text, 0))
    for tag in ("<img", "<strong", "<em", "<code", "<h1", "<ol", "<blockquote"):
        assert tag not in rendered
    assert re.findall(r'href="([^"]*)"', rendered) == ["#src-0-1", "#src-0-2", "#src-0-3"]  # the only links are ours
    assert '[<a class="cite" href="#src-0-1">1</a>, <a class="cite" href="#src-0-2">2</a>]' in rendered
    assert plain_text(link_citations(text, 0)) == text


def test_add_articles_reports_bad_files_and_ingests_good_ones(tmp_path, isolated_index):
    from qa.settings import Settings

    handlers = PageHandlers(Settings(index_dir=isolated_index, llm="extractive"))
    message, summary, rows, choices = handlers.add_articles(None)
    assert message == "Choose article files or a .zip first."
    assert summary.startswith("**0** articles") and rows == [] and choices["choices"] == []
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip at all")
    message, *_ = handlers.add_articles([str(broken)])
    assert message == "⚠️ broken.zip is not a readable zip file."
    program = tmp_path / "run.exe"
    program.write_bytes(b"MZ\x90\x00")
    message, *_ = handlers.add_articles([str(program)])
    assert message.startswith("Nothing to ingest.") and "skipped run.exe: not an article file" in message
    article = tmp_path / "harbour.txt"
    article.write_text("Harbour reopens\n\ndate 2024-02-01\nThe old harbour of Tartu reopened to boats on Monday.\n")
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escape.txt", "x")
    message, summary, rows, choices = handlers.add_articles([str(article), str(archive)])
    assert "1 added" in message and "skipped ../escape.txt: unsafe path in the zip" in message
    assert summary.startswith("**1** articles") and rows == [["uploads/harbour.txt", 1]]  # own namespace
    assert choices["choices"] == ["uploads/harbour.txt"]


def test_answer_api_returns_the_answer_or_an_error_the_client_receives(handlers):
    from gradio import Error

    result = handlers.answer_api("Who headed the EU delegation?", 4)
    assert "Borrell" in result["text"] and result["citations"][0]["source"].endswith(KAZINFORM)
    assert result["route"] == "quoted" and len(result["passages"]) == 4
    with pytest.raises(Error, match="Please type a question"):
        handlers.answer_api("  ", 4)
