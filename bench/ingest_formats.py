"""Reading speed per wire format, and how fast hostile inputs are refused. Prints figures.

    .venv/bin/python -m bench.ingest_formats [copies]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from pipeline.ingest import ingest
from tests.conftest import WIRE
from tests.support.wire import BILLION_LAUGHS


def median_seconds(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(copies: int = 200) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for sample in sorted(WIRE.iterdir()):
            folder = Path(tmp) / sample.stem
            folder.mkdir()
            data = sample.read_bytes()
            for i in range(copies):  # distinct guids, same structure (years 1800-1999: inside the times a store holds)
                (folder / f"{i}{sample.suffix}").write_bytes(data.replace(b"2024", str(1800 + i % 200).encode(), 1))
            seconds = median_seconds(lambda: ingest(folder))
            n = len(ingest(folder).stories)
            print(f"{sample.name:28s} {n:5d} stories  {n / seconds:8.0f} stories/s (median of 3)")

        huge = Path(tmp) / "huge.xml"
        with open(huge, "wb") as fh:
            fh.truncate(200 * 1024 * 1024)
        laughs = Path(tmp) / "laughs.xml"
        laughs.write_text(BILLION_LAUGHS)
        for path in (huge, laughs):
            tracemalloc.start()
            seconds = median_seconds(lambda: ingest(path))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"refuse {path.name:21s} {seconds * 1000:8.2f} ms (median of 3), peak Python memory {peak / 1e6:.2f} MB: "
                  f"{ingest(path).rejects[0].reason[:60]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
