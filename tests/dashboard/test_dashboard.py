"""The dashboard in a real browser over real output: the flow on the seeds plus a few wire copies.

Starts `python -m dashboard` on 127.0.0.1 and drives headless Chromium through chromedriver.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import SEEDS
from tests.support import synth
from tests.support.browser import CHROMEDRIVER, CHROMIUM, headless_chromium, serving, texts_of_all, wait_for

pytestmark = pytest.mark.slow

TITLED_SEED = "004"  # the seed with a title: its copies fold under it


def seed_text(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text()


@pytest.fixture(scope="module")
def newsroom_data(tmp_path_factory, prefect_harness):
    """Output of the real flow over the seeds, three copies of seed 004, one of 003, and an empty file."""
    from flows.ingest import ingest_flow

    inbox = tmp_path_factory.mktemp("inbox")
    shutil.copytree(SEEDS, inbox, dirs_exist_ok=True)
    rng = random.Random(7)
    sessions = seed_text(TITLED_SEED)
    copies = [
        {"id": "copy-ap", "source": "AP", "published_at": "2017-08-16T09:00:00Z", "body": sessions},
        {"id": "copy-yahoo", "source": "Yahoo News", "published_at": "2017-08-16T15:00:00Z", "body": synth.trim(sessions, rng, 0.3)},
        {"id": "copy-msn", "source": "MSN", "published_at": "2017-08-17T08:00:00Z",
         "body": synth.rewrap(sessions, rng, 0.5, headline="Sessions takes aim at Chicago")},
        {"id": "copy-reuters", "source": "Reuters Wire", "published_at": "2017-03-29T10:00:00Z", "body": seed_text("003"),
         "embargoed": "2099-01-01T00:00:00Z"},
    ]
    (inbox / "copies.jsonl").write_text("".join(json.dumps(c) + "\n" for c in copies))
    (inbox / "empty.txt").write_text("")
    data = tmp_path_factory.mktemp("data")
    ingest_flow(inputs=str(inbox), data_dir=str(data))
    duplicates = pq.read_table(data / "current" / "duplicates.parquet").to_pylist()
    assert len(duplicates) == 4, duplicates  # every copy folded: the page has something to fold
    return data


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under `folder` with its content hash and modification time."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def dashboard(newsroom_data, tmp_path_factory):
    """The dashboard server as a subprocess; yields (url, output snapshot taken before it started)."""
    before = snapshot(newsroom_data)
    with serving(newsroom_data, tmp_path_factory.mktemp("dashboard-log") / "server.log") as url:
        yield url, before


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("headless Chromium is missing: apt-get install -y chromium chromium-driver (.ci/run does this)")
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def test_event_list_shows_the_seed_events(dashboard, browser, newsroom_data):
    url, _ = dashboard
    events = pq.read_table(newsroom_data / "current" / "events.parquet").to_pylist()
    assert len(events) == 3
    browser.get(url)
    table = wait_for(browser, "table[data-testid=event-list]")
    rows = table.find_elements("css selector", "tbody tr")
    assert len(rows) == 3
    for event in events:
        link = table.find_element("css selector", f'a[href$="?event={event["event_id"]}"]')
        assert link.text == event["headline"]
    assert "Attorney General Sessions Slams Chicago" in rows[0].text  # newest first: August before April, March
    (embargo,) = table.find_elements("css selector", "[data-testid=embargo]")  # the event holding the embargoed copy
    assert embargo.text == "EMBARGOED until 2099-01-01 00:00 UTC"
    embargoed_event = next(a["event_id"] for a in pq.read_table(newsroom_data / "current" / "articles.parquet").to_pylist()
                           if a["source_id"] == "copy-reuters")
    row = next(r for r in rows if r.find_elements("css selector", f'a[href$="?event={embargoed_event}"]'))
    assert embargo.text in row.text
    assert "3 events" in browser.find_element("css selector", "body").text


def test_event_page_folds_copies_under_the_canonical_story(dashboard, browser, newsroom_data, tmp_path):
    url, _ = dashboard
    articles = pq.read_table(newsroom_data / "current" / "articles.parquet").to_pylist()
    seed = next(a for a in articles if a["source_id"].startswith(TITLED_SEED))
    browser.get(url)
    wait_for(browser, "table[data-testid=event-list]")
    browser.find_element("css selector", f'a[href$="?event={seed["event_id"]}"]').click()
    story = wait_for(browser, "[data-testid=story]", seed["title"])
    assert "NBC News" in story.text
    assert len(browser.find_elements("css selector", "[data-testid=story]")) == 1  # the copies are folded, not listed
    wait_for(browser, "summary", "+3 copies").click()
    copies = wait_for(browser, "table[data-testid=copies]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", copies)
    for source in ("AP", "Yahoo News", "MSN"):  # rows can still be drawing when the table appears
        copies = wait_for(browser, "table[data-testid=copies]", source, timeout=30)
    text = copies.text
    assert "word for word" in text  # the verbatim copy, in words
    scores = browser.find_element("css selector", "table[data-testid=copy-scores-table]")
    assert "exact" in scores.get_attribute("textContent") and "1.00" in scores.get_attribute("textContent")
    assert not scores.is_displayed()  # the scores wait behind their toggle
    # the timeline, or the list that stands in for it when the stories share one time
    assert browser.find_elements("css selector", "[data-testid=stVegaLiteChart], .vega-embed, table[data-testid=coverage-list]")
    shot = tmp_path / "event-page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_three_seed_event_lists_its_stories(dashboard, browser, newsroom_data):
    url, _ = dashboard
    articles = pq.read_table(newsroom_data / "current" / "articles.parquet").to_pylist()
    event_id = next(a["event_id"] for a in articles if a["source_id"].startswith("000"))
    expected = sorted(a["source_id"] for a in articles if a["event_id"] == event_id)
    assert len(expected) == 3
    browser.get(f"{url}?event={event_id}")
    shown = texts_of_all(browser, "[data-testid=story]", 3)
    assert sorted(p for p in expected if any(p in story for story in shown)) == expected


def test_run_health_shows_runs_and_rejects(dashboard, browser, newsroom_data):
    url, _ = dashboard
    (run,) = pq.read_table(newsroom_data / "current" / "runs.parquet").to_pylist()
    browser.get(url)
    wait_for(browser, "[data-testid=stButtonGroup] button", "Run health").click()
    runs = wait_for(browser, "table[data-testid=runs]")
    assert run["run_id"] in runs.text
    header = [th.text for th in runs.find_elements("css selector", "th")]
    header = header[header.index("Run"):]  # after the "This run" / "The store after it" group row
    (cells,) = [[td.text for td in tr.find_elements("css selector", "td")]
                for tr in runs.find_elements("css selector", "tbody tr")]
    shown = dict(zip(header, cells))
    assert (shown["New"], shown["Taken down"], shown["Rejected"], shown["Type"]) == (str(run["n_new_articles"]), "0", "1", "ingest")
    assert "This run" in runs.text and "The store after it" in runs.text
    rejects = wait_for(browser, "table[data-testid=rejects]")
    assert "empty.txt" in rejects.text and "empty file" in rejects.text


def test_the_dashboard_never_changes_the_output(dashboard, newsroom_data):
    _, before = dashboard
    assert snapshot(newsroom_data) == before
