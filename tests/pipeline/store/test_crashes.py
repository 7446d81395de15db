"""Kill -9 a real run at many moments: the next run starts at once and ends whole, and a reader
polling the store meanwhile never sees a mix of two runs."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.store import Store, StoreError
from tests.conftest import ROOT, SEEDS
from tests.support import synth

pytestmark = pytest.mark.slow

RUN = """
import sys
from pathlib import Path
from pipeline.config import Settings
from pipeline.run import run_ingest
print("started", flush=True)
result = run_ingest([sys.argv[1]], Settings(data_dir=Path(sys.argv[2])))
print("committed", result.snapshot.id, flush=True)
"""


def inbox_of(tmp: Path, name: str, n: int, seed: int) -> Path:
    """`n` made-up stories, one JSON line each."""
    inbox = tmp / name
    inbox.mkdir()
    seeds = [p.read_text() for p in sorted(SEEDS.glob("*.txt"))]
    records = synth.word_salad_stories(seeds, n, random.Random(seed))
    for r in records:
        r["id"] = f"{name}-{r['id']}"
    (inbox / "stories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return inbox


def start_run(inbox: Path, data: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN, str(inbox), str(data)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def consistent(data: Path) -> bool | None:
    """Whether the snapshot current now is one whole run (None: nothing committed yet)."""
    try:
        snapshot = Store(data).current()
        if snapshot.id is None:
            return None
        articles = snapshot.read("articles").select(["event_id"]).to_pylist()
        events = {r["event_id"] for r in snapshot.read("events").select(["event_id"]).to_pylist()}
        runs = snapshot.read("runs").num_rows
    except StoreError:
        return False
    return all(a["event_id"] in events for a in articles) and runs == snapshot.id


class Reader(threading.Thread):
    """Reads the store over and over, as the dashboard does, recording any mix it sees."""

    def __init__(self, data: Path):
        super().__init__(daemon=True)
        self.data, self.stop, self.reads, self.mixed = data, threading.Event(), 0, 0

    def run(self):
        while not self.stop.is_set():
            if consistent(self.data) is False:
                self.mixed += 1
            self.reads += 1


def staging_appeared(data: Path) -> bool:
    folder = data / "snapshots"
    return folder.is_dir() and any(p.name.startswith(".") for p in folder.iterdir())


def test_a_run_killed_at_any_moment_leaves_the_store_whole_and_the_next_run_finishes_it(tmp_path):
    data = tmp_path / "data"
    first = start_run(inbox_of(tmp_path, "first", 40, 1), data)
    assert first.wait(timeout=600) == 0, first.stdout.read()
    base = Store(data).current()
    stored = base.read("articles").num_rows

    second_inbox = inbox_of(tmp_path, "second", 300, 2)
    began = time.monotonic()  # a clean run of the second inbox, to spread the kill moments over
    clean = start_run(second_inbox, tmp_path / "clean")
    assert clean.wait(timeout=600) == 0, clean.stdout.read()
    clean_articles = Store(tmp_path / "clean").current().read("articles").num_rows
    duration = time.monotonic() - began

    reader = Reader(data)
    reader.start()
    rng = random.Random(25)
    moments = sorted(rng.uniform(0.1, 1.0) * duration for _ in range(5))
    outcomes = []
    for moment in [*moments, "staging"]:
        run = start_run(second_inbox, data)
        began = time.monotonic()
        if moment == "staging":  # the commit itself: files being written or renamed into place
            while not staging_appeared(data) and run.poll() is None:
                time.sleep(0.005)
        else:
            while time.monotonic() - began < moment and run.poll() is None:
                time.sleep(0.05)
        finished = run.poll() == 0
        if not finished:
            kill_group(run)
        outcomes.append((moment, finished))
        assert consistent(data) is True
        if not finished:
            assert Store(data).current().read("articles").num_rows == stored  # the old state, whole
    reader.stop.set()
    reader.join(timeout=30)

    began = time.monotonic()
    last = start_run(second_inbox, data)
    assert last.wait(timeout=600) == 0, last.stdout.read()
    assert time.monotonic() - began < duration + 60  # no lock left behind to wait out
    final = Store(data).current()
    assert final.read("articles").num_rows == stored + clean_articles  # every story, once
    assert consistent(data) is True
    assert reader.reads > 100 and reader.mixed == 0, (reader.reads, reader.mixed)
    assert not [p for p in (data / "snapshots").iterdir() if p.name.startswith(".")]
    print(json.dumps({"kills": outcomes, "reads": reader.reads}, default=str))
