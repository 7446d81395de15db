"""The dashboard's views in a real browser: paging, search, the URL, live refresh, safe rendering, phone width.

A synthetic store of a few hundred events (bench/dashboard.py, committed as a run commits it,
search index included) plus hand-made events: one to search for, one with hostile text.
`python -m dashboard` is served on 127.0.0.1 and driven with headless Chromium.
"""
from __future__ import annotations

import http.server
import os
import random
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, quote, urlsplit

import pyarrow as pa
import pytest

from bench.dashboard import synthetic_store
from pipeline import search
from pipeline.store import Store as Snapshots
from tests.support.browser import CHROMEDRIVER, CHROMIUM, headless_chromium, serving, text_of, texts_of_all, until, wait_for

pytestmark = pytest.mark.slow

SEARCH_BOX = 'input[aria-label="Search headlines, names and story text"]'


class PixelServer:
    """A local web server that records every request: a browser fetching from it was made to."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the standard library's name)
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def add_events(data, events: list[dict], articles: list[dict]) -> None:
    """Commit the store's tables plus `events` and their `articles`, with a new search index."""
    store = Snapshots(data)
    with store.writer() as writer:
        tables = {name: writer.base.read(name) for name in ("articles", "events")}
        now = datetime.now(timezone.utc)
        tables["articles"] = pa.concat_tables([tables["articles"], pa.Table.from_pylist(
            [{"ingested_at": now, "is_canonical": True, **a} for a in articles], schema=tables["articles"].schema)])
        tables["events"] = pa.concat_tables([tables["events"], pa.Table.from_pylist(
            [{"first_seen": now, "last_seen": now, "status": "active", **e} for e in events], schema=tables["events"].schema)])
        writer.derive(search.FILE, search.build_for_run, tables)
        writer.commit(tables, run_id=f"test-{time.time_ns()}", kind="ingest")


@pytest.fixture(scope="module")
def pixel():
    server = PixelServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, pixel):
    data = tmp_path_factory.mktemp("views-data")
    synthetic_store(data, 1500, random.Random(3))
    add_events(data, [
        {"event_id": "e_quake", "headline": "Earthquake Levels Villages on Iranian Island", "size": 1,
         "keywords": ["Qeshm"], "places": ["Qeshm"]},
        {"event_id": "e_hostile", "headline": f"![p]({pixel.url}/headline.png) Markdown [click]({pixel.url}/link) *x*",
         "size": 1, "keywords": [f"![k]({pixel.url}/keyword.png)"]},
    ], [
        {"article_id": "a_quake", "source_id": "quake", "event_id": "e_quake", "title": "",
         "text": "A strong tremor hit Qeshm on Sunday.", "source": "IRNA"},
        {"article_id": "a_hostile", "source_id": "hostile", "event_id": "e_hostile",
         "title": f"![p]({pixel.url}/title.png) <img src='{pixel.url}/img.png'>",
         "text": f"Text with ![i]({pixel.url}/text.png) and [a link](javascript:alert(1)).",
         "source": f"[outlet]({pixel.url}/outlet)", "url": "javascript:alert(1)"},
    ])
    return data


@pytest.fixture(scope="module")
def dashboard(store_dir, tmp_path_factory):
    with serving(store_dir, tmp_path_factory.mktemp("views-log") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("headless Chromium is missing: apt-get install -y chromium chromium-driver")
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def count_text(driver, expected: str = "") -> str:
    return text_of(driver, "[data-testid=list-count]", expected, timeout=60)


def url_params(driver) -> dict:
    return parse_qs(urlsplit(driver.current_url).query)


def search_for(driver, text: str) -> None:
    """Type a search and wait until the app has taken it (it lands in the URL), so what follows reads the new list."""
    from selenium.webdriver.common.keys import Keys

    box = wait_for(driver, SEARCH_BOX)
    box.send_keys(Keys.CONTROL, "a")  # select and overwrite: clear() bypasses the app's own state
    box.send_keys(Keys.DELETE, text + "\n")
    until(driver, lambda d: url_params(d).get("q") == [text], f"the search {text!r} never reached the URL")


def test_the_page_resets_when_the_search_changes_and_clamps_past_the_end(dashboard, browser):
    browser.get(dashboard + "?page=3")
    assert "showing 201–300" in count_text(browser, "showing 201")
    search_for(browser, "summit flood")
    text = count_text(browser, "showing 1–")  # not "showing 201–200", the dead end
    assert "events" in text and url_params(browser).get("q") == ["summit flood"]
    assert "page" not in url_params(browser)
    browser.get(dashboard + "?page=999")  # an old link past the end: the last page, not an empty one
    text = count_text(browser, "showing")
    total = int(text.split(" events")[0].replace(",", ""))
    assert f"{total:,}" in text.split("–")[1] and browser.find_elements("css selector", "table[data-testid=event-list] tbody tr")


def test_multi_word_search_in_any_order_over_headlines_names_and_text(dashboard, browser):
    browser.get(dashboard)
    search_for(browser, "iran earthquake")  # "iran" starts "Iranian"; the words in the other order
    count_text(browser, "1 events")
    (row,) = texts_of_all(browser, "table[data-testid=event-list] tbody tr", 1)  # the list under the count
    assert "Earthquake Levels Villages on Iranian Island" in row
    search_for(browser, "tremor qeshm sunday")  # story text only
    count_text(browser, "1 events")
    assert "Iranian Island" in text_of(browser, "table[data-testid=event-list]")


def test_filters_search_page_and_event_round_trip_through_the_url(dashboard, browser):
    browser.get(dashboard)
    search_for(browser, "qeshm")
    count_text(browser, "1 events")
    shared = browser.current_url
    assert url_params(browser)["q"] == ["qeshm"]
    wait_for(browser, "table[data-testid=event-list] a", "Earthquake").click()
    wait_for(browser, "[data-testid=event-headline]", "Earthquake Levels Villages")
    assert url_params(browser)["event"] == ["e_quake"] and url_params(browser)["q"] == ["qeshm"]
    browser.back()  # the list as it was: the search kept
    count_text(browser, "1 events")
    assert wait_for(browser, SEARCH_BOX).get_attribute("value") == "qeshm"
    browser.get("about:blank")
    browser.get(shared)  # a shared link opens the same view
    count_text(browser, "1 events")
    assert wait_for(browser, SEARCH_BOX).get_attribute("value") == "qeshm"
    browser.get(dashboard + "?tab=health")
    wait_for(browser, "table[data-testid=runs]")


def test_markdown_and_html_in_stories_render_as_text(dashboard, browser, pixel):
    browser.get(dashboard + "?q=markdown")
    count_text(browser, "1 events")
    browser.get(dashboard + "?event=e_hostile")
    headline = wait_for(browser, "[data-testid=event-headline]", "Markdown")
    assert headline.text.startswith("![p](")  # shown as typed
    story = wait_for(browser, "[data-testid=story]")
    assert "<img src=" in story.text and "![i](" in story.text
    assert not browser.find_elements("css selector", f'img[src^="{pixel.url}"], a[href^="{pixel.url}"], a[href^="javascript"]')
    time.sleep(1)
    assert pixel.hits == [], pixel.hits  # no browser fetched anything from it


def test_a_url_parameter_cannot_inject_a_link(dashboard, browser, pixel):
    event = f"x [re-login](https://evil.example) ![t]({pixel.url}/t.png)"
    browser.get(dashboard + "?event=" + quote(event))
    alert = wait_for(browser, "[data-testid=notice]", "No event")
    assert "[re-login](https://evil.example)" in alert.text
    found = browser.find_elements("css selector", "a[href*=\"evil.example\"]")
    assert not found, [f.get_attribute("outerHTML") for f in found]
    assert not browser.find_elements("css selector", f'img[src^="{pixel.url}"]')
    time.sleep(1)
    assert pixel.hits == [], pixel.hits


def test_at_phone_width_nothing_runs_off_the_screen(dashboard, tmp_path):
    with headless_chromium(tmp_path / "phone", window="390,844") as phone:
        phone.get(dashboard)
        wait_for(phone, "table[data-testid=event-list]")
        width, inner = phone.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner + 1, (width, inner)
        phone.get(dashboard + "?event=e_quake")
        wait_for(phone, "[data-testid=story]")
        width, inner = phone.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner + 1, (width, inner)


def test_a_missing_data_folder_is_named(tmp_path, browser):
    missing = tmp_path / "no-such-folder"
    with serving(missing, tmp_path / "server.log") as url:
        browser.get(url)
        alert = wait_for(browser, "[data-testid=notice]", "does not exist")
        assert str(missing.resolve()) in alert.text


def test_a_new_run_shows_a_banner_and_refresh_shows_its_events(dashboard, browser, store_dir):
    browser.get(dashboard)
    before = int(count_text(browser).split(" events")[0].replace(",", ""))
    add_events(store_dir, [{"event_id": "e_late", "headline": "Late breaking storm", "size": 1}],
               [{"article_id": "a_late", "source_id": "late", "event_id": "e_late", "title": "Late breaking storm",
                 "text": "A storm.", "source": "AP"}])
    banner = wait_for(browser, "[data-testid=new-events]", "1 new event", timeout=60)
    assert "since this page was loaded" in banner.text
    wait_for(browser, "button", "Refresh").click()
    count_text(browser, f"{before + 1:,} events")
