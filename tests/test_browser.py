"""The chat page as people use it: `qa serve` in a subprocess, driven by Debian's chromium through Playwright.

One server per module over a temporary index of the sample articles (the local LLM
answers); the uploads the tests make go into that index, never into the repository.
Grouped citations get a second page served in this process, whose answers are real
`Answer`s citing two passages in one sentence, since the pipeline rarely writes one.
The page's helpers that need no browser (uploads, highlighting, logins) are tested
directly at the end; its handlers are tested in test_ui_handlers.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from conftest import ARTICLES, KAZINFORM, TREND, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
QA = [sys.executable, "-m", "qa.cli"]
ANSWER_TIMEOUT_MS = 240_000  # the local LLM takes seconds, but the machine may be busy with other tests
RARE_EARTHS = "What did Kazakhstan offer the EU on rare earths?"
GROUPED_ANSWER = "Kazakhstan offered Europe more rare earth metals and cooperation in producing them [1, 2]."
HOSTILE_ARTICLE = """Tallinn opens a new ferry terminal

date 2024-03-05
The Port of Tallinn opened a new ferry terminal on Tuesday. <script>window.__pwned = 1</script>
The ferry terminal handles 9,000 passengers a day ![chart](http://127.0.0.1:17899/track-md-image.png) in **summer**.
<img src=x onerror="window.__pwned = 2"> ${window.__pwned = 3}
Officials said the ferry terminal cost 40 million euros.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`qa serve` on a free loopback port over its own index of the sample articles; stopped afterwards."""
    home = tmp_path_factory.mktemp("served")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_MODEL_DIR"}
    env.update(QA_INDEX_DIR=str(home / "index"), QA_LLM="local", HF_HUB_OFFLINE="1")
    ingested = subprocess.run(
        QA + ["ingest", str(ARTICLES), "--quiet"], cwd=home, env=env, capture_output=True, text=True, timeout=600
    )
    assert ingested.returncode == 0, ingested.stderr
    port = free_port()
    log_path = home / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            QA + ["serve", "--port", str(port)], cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 300
        while True:
            if process.poll() is not None:
                pytest.fail(f"qa serve exited: {log_path.read_text()}")
            if time.time() > deadline:
                pytest.fail(f"qa serve did not start: {log_path.read_text()}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(1)
        yield {"url": url, "index": home / "index", "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def grouped_server(tmp_path_factory):
    """The page served in this process over its own index of the sample articles; every question gets a real
    `Answer` built from the passages retrieved for it, whose one sentence cites two of them as [1, 2]."""
    from qa import ingest
    from qa.api import get_pipeline
    from qa.settings import Settings
    from qa.types import Answer, Citation, Route
    from qa.ui import build_app, launch

    home = tmp_path_factory.mktemp("grouped")
    shutil.copytree(ARTICLES, home / "articles")
    settings = Settings(index_dir=home / "index", llm="extractive", port=free_port())
    ingest([home / "articles"], settings=settings, progress=False)

    def grouped_stream(question, *, k, settings, history=None, **filters):
        passages = get_pipeline(settings).retrieve(question, k=8)
        kazinform = next(p for p in passages if p.source.endswith(KAZINFORM) and "rare earth" in p.text)
        trend = next(p for p in passages if p.source.endswith(TREND) and "rare earth" in p.text)
        text = GROUPED_ANSWER
        yield text
        citations = [Citation.from_passage(1, kazinform), Citation.from_passage(2, trend)]
        yield Answer(question, text, abstained=False, citations=citations, passages=passages, llm=settings.llm,
                     route=Route.QUOTED, reason="built by the test: one sentence citing two passages")

    app = build_app(settings, stream=grouped_stream)
    launch(app, settings, block=False)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)  # a loaded 2-core machine can take a while to render and upload
    page.goto(server["url"])
    page.wait_for_selector("#question textarea")
    # Gradio loads each component's code on its own, so the chat can appear after the question box;
    # the tests that watch it need it in the page first.
    page.wait_for_selector("#chat", state="attached")
    yield page
    context.close()


def ask(page, question: str) -> None:
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")


def upload(page, *paths: Path) -> str:
    """Add files through the Corpus tab; returns the ingest summary shown."""
    page.get_by_role("tab", name="Corpus").click()
    files = [str(p) for p in paths]
    page.set_input_files("#upload input[type=file]", files)
    for path in paths:
        try:
            page.wait_for_selector(f"#upload :text('{path.name}')", timeout=60_000)
        except PlaywrightTimeoutError:
            # Seen once on a loaded machine: the file list never rendered; choosing the files again did.
            page.set_input_files("#upload input[type=file]", files)
            page.wait_for_selector(f"#upload :text('{path.name}')")
    page.click("#add-articles")
    summary = page.locator("#ingest-summary textarea")
    page.wait_for_function(
        "el => el.value.includes('added') || el.value.includes('⚠️')", arg=summary.element_handle(),
        timeout=ANSWER_TIMEOUT_MS,
    )
    return summary.input_value()


def article_count(page) -> int:
    page.wait_for_selector("#corpus-count strong")
    return int(page.locator("#corpus-count strong").first.inner_text())


def test_answer_streams_and_its_citation_opens_the_highlighted_passage(page, tmp_path):
    page.evaluate("""() => {
        window.__lengths = new Set();
        new MutationObserver(() => {
            const bots = document.querySelectorAll('#chat [data-testid="bot"]');
            if (bots.length) window.__lengths.add(bots[bots.length - 1].innerText.length);
        }).observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
    }""")
    ask(page, RARE_EARTHS)
    page.wait_for_selector("#sources .src-card", timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate("window.__lengths.size") >= 3, "the answer arrived in one piece instead of streaming"
    answer = page.locator('#chat [data-testid="bot"]').last
    assert "rare earth" in answer.inner_text().lower()
    answer.locator('a[href^="#src-"]').first.click()
    card = page.locator("#sources .src-card.active")
    card.wait_for()
    assert card.locator(".src-path").inner_text().endswith(KAZINFORM)
    assert "rare earth" in card.locator("mark").inner_text().lower()
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)


# Every text the bubble of answer `turn` shows, in order, whitespace-normalised; the "checking" state is noted,
# not recorded.
RECORD_STATES = """(turn) => {
    window.__states = [];
    window.__checking = false;
    if (window.__observer) window.__observer.disconnect();
    window.__observer = new MutationObserver(() => {
        const bubble = document.querySelectorAll('#chat [data-testid="bot"]')[turn];
        if (!bubble) return;
        if (bubble.querySelector('.qa-checking')) { window.__checking = true; return; }
        const text = bubble.textContent.replace(/\\s+/g, ' ').trim();
        if (text && window.__states[window.__states.length - 1] !== text) window.__states.push(text);
    });
    window.__observer.observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
}"""


def test_streamed_answer_only_grows_into_the_final_answer(page):
    # The follow-up is the one that once streamed a trade figure the articles do not hold, then withdrew it.
    for turn, question in enumerate([RARE_EARTHS, "and what was the trade turnover in 2023?"]):
        page.evaluate(RECORD_STATES, turn)
        ask(page, question)
        page.wait_for_selector(f'#sources .src-turn[data-turn="{turn}"]', timeout=ANSWER_TIMEOUT_MS)
        answer = page.locator('#chat [data-testid="bot"]').nth(turn)
        final = " ".join(answer.text_content().split())
        states = page.evaluate("window.__states")
        assert page.evaluate("window.__checking"), "no 'Checking the sources' state before the first verified text"
        assert states and states[-1] == final, states
        withdrawn = [state for state in states if not final.startswith(state)]
        assert not withdrawn, f"shown, then withdrawn: {withdrawn} (final: {final!r})"
    assert "rare earth" in page.locator('#chat [data-testid="bot"]').first.text_content().lower()


def test_grouped_citation_links_each_number_to_its_own_highlighted_source(browser, grouped_server, tmp_path):
    clipboard = ["clipboard-read", "clipboard-write"]
    context = browser.new_context(viewport={"width": 1400, "height": 900}, permissions=clipboard)
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(grouped_server)
        page.wait_for_selector("#question textarea")
        ask(page, RARE_EARTHS)
        page.wait_for_selector("#sources .src-card", timeout=ANSWER_TIMEOUT_MS)
        answer = page.locator('#chat [data-testid="bot"]').last
        assert " ".join(answer.inner_text().split()) == GROUPED_ANSWER
        links = answer.locator("a.cite")
        assert [links.nth(i).inner_text() for i in range(links.count())] == ["1", "2"]
        for number, source in ((2, TREND), (1, KAZINFORM)):
            links.nth(number - 1).click()
            card = page.locator("#sources .src-card.active")
            card.wait_for()
            assert card.count() == 1 and card.get_attribute("id") == f"src-0-{number}"
            assert card.locator(".src-path").inner_text().endswith(source)
            assert card.is_visible() and "rare earth" in card.locator("mark").inner_text().lower()
        # Copied and read aloud as shown, without the escapes and link markup the message carries.
        assert answer.get_attribute("aria-label") == f"bot's message: {GROUPED_ANSWER}"
        page.locator('#chat .bot button[aria-label="Copy message"]').last.click()
        assert page.evaluate("navigator.clipboard.readText()") == GROUPED_ANSWER
        page.screenshot(path=str(tmp_path / "grouped.png"), full_page=True)
    finally:
        context.close()


def test_blank_question_is_a_message_in_the_chat(page):
    ask(page, "   ")
    message = page.locator('#chat [data-testid="bot"]').last
    message.wait_for()
    assert "Please type a question" in message.inner_text()
    assert "Traceback" not in page.content()


def test_uploaded_article_is_ingested_and_counted(page, server, tmp_path):
    before = article_count(page)
    article = tmp_path / "Harbour news!.txt"
    article.write_text(
        "Harbour reopens\n\ndate 2024-02-01\nThe old harbour of Tartu reopened to boats on Monday after repairs.\n"
    )
    summary = upload(page, article)
    assert "1 added" in summary, summary
    page.wait_for_function(f"() => parseInt(document.querySelector('#corpus-count strong').innerText) === {before + 1}")
    assert page.locator("#articles").get_by_text("Harbour_news.txt").count() == 1
    assert (server["index"] / "uploads" / "Harbour_news.txt").is_file()
    page.screenshot(path=str(tmp_path / "corpus.png"), full_page=True)


def test_markup_in_an_article_is_shown_as_text_and_never_run(page, tmp_path):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    article = tmp_path / "ferry.txt"
    article.write_text(HOSTILE_ARTICLE)
    assert "1 added" in upload(page, article)
    page.get_by_role("tab", name="Ask").click()
    page.click("#options")
    page.locator("#llm-mode").get_by_label("extractive").check()
    ask(page, "How many passengers does the new Tallinn ferry terminal handle?")
    page.wait_for_selector("#sources .src-card", timeout=ANSWER_TIMEOUT_MS)
    for folded in page.locator("#sources .src-turn.current details summary").all():
        folded.click()  # the article may be among the retrieved passages that were not cited
    sources = page.locator("#sources").inner_text()
    assert "<script>window.__pwned = 1</script>" in sources
    assert '<img src=x onerror="window.__pwned = 2">' in sources
    assert "${window.__pwned = 3}" in sources
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#sources img, #chat img[src='x'], #sources script").count() == 0
    # The quoted sentence holds a markdown image: the chat shows it as text and never fetches it.
    answer = page.locator('#chat [data-testid="bot"]').last
    assert "![chart](http://127.0.0.1:17899/track-md-image.png) in **summer**" in answer.inner_text()
    assert answer.locator("img, strong").count() == 0
    assert not [url for url in requested if "track-md-image" in url]


def test_answer_endpoint_for_gradio_client(server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server["url"], verbose=False)
    assert set(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == {"/answer"}
    result = client.predict(RARE_EARTHS, 4, api_name="/answer")
    assert "rare earth" in result["text"].lower() and not result["abstained"]
    assert result["citations"][0]["source"].endswith(KAZINFORM) and len(result["passages"]) == 4
    with pytest.raises(AppError, match="Please type a question"):
        client.predict("  ", 4, api_name="/answer")


# ---- Without a browser ---------------------------------------------------------------------------

def test_zip_uploads_stay_in_the_uploads_folder(tmp_path):
    from qa.uploads import save_uploads

    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("news/one story.txt", "One\n\nA story.")
        zipped.writestr("../escape.txt", "x")
        zipped.writestr("/etc/absolute.txt", "x")
        zipped.writestr("run.sh", "x")
        link = zipfile.ZipInfo("news/link.txt")
        link.external_attr = (0o120777 << 16)
        zipped.writestr(link, "/etc/passwd")
    uploads = tmp_path / "index" / "uploads"
    saved, notes = save_uploads([str(archive)], uploads)
    assert saved == [uploads / "batch"]
    saved_files = sorted(p.relative_to(uploads).as_posix() for p in uploads.rglob("*") if p.is_file())
    assert saved_files == ["batch/news/one_story.txt"]
    assert len(notes) == 4 and any("symbolic link" in n for n in notes) and sum("unsafe path" in n for n in notes) == 2
    assert not (tmp_path / "index" / "escape.txt").exists()


def test_uploads_are_bounded_even_when_zipped(tmp_path, monkeypatch):
    from qa import uploads

    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("big.txt", "a" * 100_000)  # compresses to a few hundred bytes
    assert bomb.stat().st_size < 1000
    with pytest.raises(uploads.UploadError, match="larger than|more than"):
        uploads.save_uploads([str(bomb)], tmp_path / "uploads")
    assert not list((tmp_path / "uploads").rglob("*.txt"))
    big = tmp_path / "big.txt"
    big.write_text("b" * 2000)
    with pytest.raises(uploads.UploadError):
        uploads.save_uploads([str(big)], tmp_path / "uploads")


def test_highlight_falls_back_to_the_sentences_sharing_most_words():
    from qa.answer_view import source_card, support_spans
    from qa.types import Citation

    text = "Ministers met in Samarkand. Kazakhstan will supply rare earth metals to Europe. Trade grew by a third."
    cited = Citation(1, "a.txt", "T", "2022-11-18", text, 0.7)
    spans = support_spans(cited, "Kazakhstan offered rare earth metals [1]. Ministers met [1]. Trade grew [2].")
    highlighted = [text[s:e] for s, e in spans]
    assert highlighted == ["Ministers met in Samarkand.", "Kazakhstan will supply rare earth metals to Europe."]
    exact = Citation(1, "a.txt", "T", "", text, 0.7, span=(0, 9))
    assert support_spans(exact, "anything [1].") == [(0, 9)]
    assert "<mark>Ministers</mark> met" in source_card(exact, spans=[(0, 9)])


def test_login_setting_takes_a_pair_or_a_file(tmp_path):
    from qa.errors import QAError
    from qa.ui import read_auth

    assert read_auth("") is None
    assert read_auth("ana:s3cret:x") == [("ana", "s3cret:x")]
    logins = tmp_path / "logins"
    logins.write_text("# newsroom\nana:one\nben:two\n")
    assert read_auth(f"@{logins}") == [("ana", "one"), ("ben", "two")]
    with pytest.raises(QAError, match="user:password"):
        read_auth("nopassword")
    with pytest.raises(QAError, match="cannot read"):
        read_auth(f"@{tmp_path / 'missing'}")


def test_search_options_offer_k_llm_dates_and_articles(isolated_index):
    from qa import ui
    from qa.settings import Settings

    app = ui.build_app(Settings(index_dir=isolated_index))
    labels = {getattr(block, "label", None) for block in app.blocks.values()}
    assert {"From date", "To date", "Only these articles", "Passages to retrieve (k)"} <= labels
