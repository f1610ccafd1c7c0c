"""The Timeline tab in Debian's chromium: build a timeline, check its plot, follow a point and a [n] to its source.

The page is served in this process (`build_app` and `launch`, as `qa serve` does) over an
index of the sample articles and two weekly reports, the later revising the earlier.
"""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import ARTICLES, free_port
from test_timeline import WEEK_ONE, WEEK_TWO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def timeline_page(tmp_path_factory):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    from qa import ingest
    from qa.settings import Settings
    from qa.ui import build_app, launch

    home = tmp_path_factory.mktemp("timeline-page")
    shutil.copytree(ARTICLES, home / "articles")
    (home / "articles" / "week-one.txt").write_text(WEEK_ONE, encoding="utf-8")
    (home / "articles" / "week-two.txt").write_text(WEEK_TWO, encoding="utf-8")
    settings = Settings(index_dir=home / "index", llm="extractive", port=free_port())
    ingest([home / "articles"], settings=settings, progress=False)
    app = build_app(settings)
    launch(app, settings, block=False)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{settings.port}/")
            page.get_by_role("tab", name="Timeline").click()
            yield page
            browser.close()
    finally:
        app.close()


def test_timeline_tab_plots_the_figures_and_links_points_and_markers_to_sources(timeline_page):
    page = timeline_page
    page.locator("#timeline-topic textarea").fill("Ruritania M-2 money supply")
    page.locator("#build-timeline").click()
    page.wait_for_selector("#timeline .tl-entry")
    assert page.locator("#timeline .tl-entry").count() == 2
    assert page.locator("#timeline .tl-date").all_inner_texts() == ["2024-03-07", "2024-03-14"]
    # Three figures: each week's level, and the second report's revision of the first week.
    assert page.locator("#timeline svg.tl-plot a.tl-point").count() == 3
    assert page.locator("#timeline svg .tl-earlier").count() == 1
    conflict = page.locator("#timeline .tl-conflict")
    assert "Reports differ for the week ended 2024-03-04" in conflict.inner_text()
    assert "revision" in conflict.inner_text() and conflict.locator('a[href="#tl-1"]').count() == 1

    page.locator('#timeline svg a.tl-point[data-entry="2"]').first.click()
    card = page.locator("#timeline #tl-2")
    page.wait_for_function("document.querySelector('#timeline #tl-2').classList.contains('active')")
    assert "[2]" in card.locator(".src-title").inner_text()
    assert card.locator("mark").inner_text().startswith("Ruritania's M-2 money supply fell 100 mln dlrs")

    page.locator('#timeline .tl-entry a.cite[href="#tl-1"]').click()
    page.wait_for_function("document.querySelector('#timeline #tl-1').classList.contains('active')")
    assert page.locator("#timeline .src-card.active").count() == 1


def test_a_topic_no_article_states_says_so(timeline_page):
    page = timeline_page
    page.locator("#timeline-topic textarea").fill("Zanzibar clove harvest")
    page.locator("#build-timeline").click()
    page.wait_for_selector("#timeline .tl-empty")
    assert "No dated article states" in page.locator("#timeline .tl-empty").inner_text()
