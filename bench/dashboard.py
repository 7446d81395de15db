"""Event-list speed of the dashboard with 100,000 synthetic articles in the store.

Writes a synthetic output (articles, duplicates, events with storyline columns, storylines,
runs, rejects) in a temporary folder, then measures, as medians of several runs:
  query    `Store.event_list` alone (default view and with each filter),
  script   a rerun of the Streamlit app script in one session (queries + page built), via AppTest,
  browser  (with --browser) in headless Chromium: a cold page load until the event list is
           drawn, against an empty store's load as the baseline; and a re-sort of the open list.
Target: the event list renders in under 2 s.

    .venv/bin/python -m bench.dashboard [--articles 100000] [--repeats 7] [--browser]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from dashboard.queries import Store
from pipeline import search
from pipeline.store import Store as SnapshotStore
from pipeline.store.schema import SCHEMAS

# STORYFLOW_BENCH_APP: another app script (an earlier version's, for a same-run baseline)
APP = Path(os.environ.get("STORYFLOW_BENCH_APP") or Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
SOURCES = [f"Source {i:02d}" for i in range(40)]
PLACES = ["Paris", "Lagos", "Lima", "Osaka", "Perth", "Quito"]
WORDS = ("election flood strike court budget vaccine merger summit wildfire tariff protest verdict "
         "earthquake senate rally outage recall drought ceasefire launch").split()


def synthetic_store(folder: Path, n_articles: int, rng: random.Random, timings: dict | None = None) -> dict[str, int]:
    """A store shaped like a busy month: events of 1-20 stories, a fifth of stories copies."""
    timings = {} if timings is None else timings
    now = datetime.now(timezone.utc)
    articles, duplicates, events, storylines = [], [], [], []
    n_events = 0
    while len(articles) < n_articles:
        event_id = f"e_{n_events:06d}"
        storyline_id = f"s_{n_events // 5:05d}"
        start = now - timedelta(hours=rng.uniform(0, 24 * 30))
        size = min(n_articles - len(articles), 1 + int(rng.paretovariate(1.5)) % 20)
        topic = rng.sample(WORDS, 3)
        canonical = None
        members = []
        for k in range(size):
            article_id = f"a_{len(articles):07d}"
            published = start + timedelta(minutes=rng.uniform(0, 600))
            is_copy = canonical is not None and rng.random() < 0.2
            articles.append({
                "article_id": article_id, "source_id": article_id, "title": f"{' '.join(topic).title()} update {k}",
                "text": " ".join(rng.choices(WORDS, k=80)), "source": rng.choice(SOURCES), "url": "",
                "published_at": published, "ingested_at": now, "content_hash": article_id,
                "dup_group_id": canonical or article_id, "is_canonical": not is_copy, "canonical_reason": "",
                "event_id": event_id, "storyline_id": storyline_id,
            })
            members.append(articles[-1])
            if is_copy:
                duplicates.append({"article_id": article_id, "duplicate_of": canonical, "similarity": 0.9,
                                   "method": "minhash", "jaccard": 0.8, "containment": 0.95,
                                   "char_containment": 0.9, "rule": "jaccard"})
            canonical = canonical or article_id
        seen = [m["published_at"] for m in members]
        events.append({
            "event_id": event_id, "headline": f"{' '.join(topic).title()}: what we know", "size": size,
            "n_sources": len({m["source"] for m in members}), "first_seen": min(seen), "last_seen": max(seen),
            "representative_article_id": members[0]["article_id"], "storyline_id": storyline_id,
            "keywords": topic, "sources": sorted({m["source"] for m in members}),
            "status": "merged" if rng.random() < 0.02 else "active", "merged_into": None,
            "people": [f"Person {rng.randrange(500)}"], "organisations": [], "places": [rng.choice(PLACES)],
        })
        n_events += 1
    by_storyline: dict[str, list[dict]] = {}
    for e in events:
        by_storyline.setdefault(e["storyline_id"], []).append(e)
    for storyline_id, group in sorted(by_storyline.items()):
        storylines.append({"storyline_id": storyline_id, "headline": group[0]["headline"], "n_events": len(group),
                           "size": sum(e["size"] for e in group), "first_seen": min(e["first_seen"] for e in group),
                           "last_seen": max(e["last_seen"] for e in group), "keywords": group[0]["keywords"]})
    runs = [{"run_id": f"run-{i}", "started_at": now - timedelta(hours=i), "finished_at": now - timedelta(hours=i) + timedelta(minutes=3),
             "inputs": "feed", "n_new_articles": n_articles // 30, "n_rejects": 1, "n_events": n_events,
             "n_articles_total": n_articles} for i in range(30)]
    rejects = [{"run_id": f"run-{i}", "origin": f"feed/{i}.jsonl:3", "reason": "malformed JSON: line 1",
                "rejected_at": now - timedelta(hours=i)} for i in range(30)]
    tables = {name: pa.Table.from_pylist(rows, schema=SCHEMAS[name]) for name, rows in (
        ("articles", articles), ("duplicates", duplicates), ("events", events), ("storylines", storylines),
        ("runs", runs), ("rejects", rejects))}
    with SnapshotStore(folder).writer() as writer:  # committed as a run commits: tables and search index
        t0 = time.perf_counter()
        writer.derive(search.FILE, search.build_for_run, tables)
        timings["search index"] = time.perf_counter() - t0
        writer.commit(tables, run_id="synthetic", kind="ingest")
    return {"articles": len(articles), "duplicates": len(duplicates), "events": len(events), "storylines": len(storylines)}


def median_seconds(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm caches (file pages, imports) so the figures are steady-state
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def bench_queries(data: Path, repeats: int) -> None:
    def query(**filters):
        store = Store(data)  # the app opens the store on every script run: count it
        try:
            return store.event_list(**filters).total
        finally:
            store.close()

    cases = {
        "all, newest": {},
        "all, biggest": {"sort": "biggest"},
        "last 24 h": {"time_range": "last 24 h"},
        "2 sources": {"sources": SOURCES[:2]},
        "search 'flood'": {"search": "flood"},
        "search 2 words": {"search": "flood summit", "sort": "best match"},
        "outlet + person": {"sources": SOURCES[:1], "entities": {"person": ["Person 7"]}},
        "page 50": {"offset": 4900},
    }
    for label, filters in cases.items():
        try:
            query(**filters)
        except (TypeError, KeyError) as exc:  # an earlier dashboard without this filter
            print(f"  query    {label:<16} not supported by this dashboard ({exc!r})")
            continue
        med, worst = median_seconds(lambda: query(**filters), repeats)
        print(f"  query    {label:<16} {med * 1000:8.1f} ms median  (max {worst * 1000:.1f})  matches {query(**filters):,}")


def bench_index_update(data: Path, timings: dict) -> None:
    """A run's search stage on this store: 200 new stories, 100 gone, from the last snapshot's index."""
    snapshot = SnapshotStore(data).current()
    articles = snapshot.read("articles")
    fresh = articles.slice(0, 200).to_pylist()
    for i, row in enumerate(fresh):
        row["article_id"] = f"new_{i:05d}"
    later = pa.concat_tables([articles.slice(100), pa.Table.from_pylist(fresh, schema=articles.schema)])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        done = search.build_file(Path(tmp) / search.FILE, snapshot.derived(search.FILE), later, snapshot.read("events"))
        print(f"  index    incremental update {time.perf_counter() - t0:8.2f} s  ({done.added} added, {done.removed} removed; "
              f"full build {timings['search index']:.1f} s, "
              f"{snapshot.derived(search.FILE).stat().st_size / 1e6:.0f} MB)")


def bench_script(data: Path, repeats: int) -> None:
    """Reruns of the app script in one session, as a server does on every interaction."""
    from streamlit.testing.v1 import AppTest

    os.environ["STORYFLOW_DATA_DIR"] = str(data)
    app = AppTest.from_file(str(APP), default_timeout=60)

    def run():
        app.run()
        assert not app.exception, app.exception
        assert "event-list" in "".join(h.proto.body for h in app.get("html"))

    med, worst = median_seconds(run, repeats)
    print(f"  script   whole events page rerun {med * 1000:8.1f} ms median  (max {worst * 1000:.1f})")


def bench_browser(stores: dict[str, Path], repeats: int) -> None:
    """Cold page loads (the store under test, and an empty one as the baseline) and re-sorts."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.browser import headless_chromium, serving, wait_for

    def first_link(driver) -> str:
        return wait_for(driver, "table[data-testid=event-list] tbody a", timeout=120).get_attribute("href")

    for label, data in stores.items():
        with tempfile.TemporaryDirectory() as tmp, serving(data, Path(tmp) / "server.log") as url, \
                headless_chromium(Path(tmp) / "profile") as driver:
            def load():
                driver.get("about:blank")
                driver.get(url)
                wait_for(driver, "[data-testid=stHtml], [data-testid=stAlert]", timeout=120)
                wait_for(driver, "[data-testid=stMain]", timeout=120)

            med, worst = median_seconds(load, repeats)
            print(f"  browser  cold load, {label:<12}  {med * 1000:8.1f} ms median  (max {worst * 1000:.1f})")
            if label == "empty":
                continue
            order = iter(["biggest", "newest"] * (repeats + 1))

            def resort():
                before = first_link(driver)
                wait_for(driver, "label", next(order)).click()
                WebDriverWait(driver, 120, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
                    lambda d: first_link(d) != before)

            med, worst = median_seconds(resort, repeats)
            print(f"  browser  re-sort, list redrawn   {med * 1000:8.1f} ms median  (max {worst * 1000:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--browser", action="store_true", help="also time a page load in headless Chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storyflow-bench-") as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        counts = synthetic_store(data, args.articles, random.Random(1), timings)
        print(f"synthetic store: {', '.join(f'{v:,} {k}' for k, v in counts.items())} "
              f"({time.perf_counter() - t0:.1f} s to write, of which {timings['search index']:.1f} s the search index)")
        bench_index_update(data, timings)
        print(f"medians of {args.repeats} runs after one warm-up; target: event list under 2 s")
        bench_queries(data, args.repeats)
        bench_script(data, args.repeats)
        if args.browser:
            empty = Path(tmp) / "empty"
            empty.mkdir()
            bench_browser({"empty": empty, "synthetic": data}, args.repeats)


if __name__ == "__main__":
    main()
