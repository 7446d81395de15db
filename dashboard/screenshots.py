"""Screenshots of the dashboard for the README: the event list, an event and run health.

    python -m dashboard.screenshots --data STORE [--out docs/screenshots]

Serves the dashboard over STORE (the dev set or the seeds, ingested by `storyflow run`) and
saves PNGs at a desktop width with headless Chromium (the test kit's browser driver).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.store import Store


def main() -> None:
    from tests.support.browser import headless_chromium, serving, wait_for

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    events = pq.read_table(Store(args.data).current().file("events")).to_pylist()
    biggest = max((e for e in events if e["status"] == "active"), key=lambda e: (e["size"], e["event_id"]))
    with tempfile.TemporaryDirectory() as tmp, serving(args.data, Path(tmp) / "server.log") as url, \
            headless_chromium(Path(tmp) / "profile", window="1400,1000") as driver:
        shots = {
            "event-list.png": (url, "table[data-testid=event-list]"),
            "event.png": (f"{url}?event={biggest['event_id']}", "[data-testid=story]"),
            "run-health.png": (f"{url}?tab=health", "table[data-testid=runs]"),
        }
        for name, (page, ready) in shots.items():
            driver.get(page)
            wait_for(driver, ready, timeout=120)
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(str(args.out / name))
            print(args.out / name)


if __name__ == "__main__":
    main()
