"""The command line under faults: killed mid-run, two at once from two Prefect homes, a table deleted."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.conftest import ROOT, SEEDS
from tests.support import synth

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def processes_marked(mark: str) -> list[int]:
    """Pids of live processes whose environment carries `mark` (children inherit it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def inbox_of(tmp: Path, name: str, n: int) -> Path:
    inbox = tmp / name
    inbox.mkdir()
    seeds = [p.read_text() for p in sorted(SEEDS.glob("*.txt"))]
    records = synth.word_salad_stories(seeds, n, random.Random(name))
    (inbox / "stories.jsonl").write_text("".join(json.dumps({**r, "id": f"{name}-{r['id']}"}) + "\n" for r in records))
    return inbox


def test_a_killed_command_leaves_no_server_behind_and_the_next_one_runs_at_once(tmp_path):
    data, mark = tmp_path / "data", f"STORYFLOW_TEST_MARK={uuid.uuid4().hex}"
    key, value = mark.split("=")
    run = cli("run", str(inbox_of(tmp_path, "wire", 150)), "--data", str(data), env={key: value})
    deadline = time.monotonic() + 300
    while len(processes_marked(mark)) < 2:  # the command and its Prefect server are up
        assert run.poll() is None and time.monotonic() < deadline, run.stdout.read()
        time.sleep(0.2)
    time.sleep(8)  # into the run: the store is held
    os.kill(run.pid, signal.SIGKILL)  # the command only, as an operator's kill -9 does
    run.wait(timeout=30)
    deadline = time.monotonic() + 10
    while processes_marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_marked(mark) == []  # the temporary server died with it

    began = time.monotonic()
    again = cli("run", str(SEEDS), "--data", str(data), env={"STORYFLOW_STORE__LOCK_TIMEOUT_S": "5"})
    out, _ = again.communicate(timeout=600)
    assert again.returncode == 0, out[-3000:]
    assert "store busy" not in out and time.monotonic() - began < 300


def test_two_commands_with_their_own_prefect_homes_lose_nothing(tmp_path):
    data = tmp_path / "data"
    inboxes = [inbox_of(tmp_path, name, 60) for name in ("north", "south")]
    runs = [cli("run", str(inbox), "--data", str(data), env={"PREFECT_HOME": str(tmp_path / f"prefect-{n}")})
            for n, inbox in enumerate(inboxes)]
    for run in runs:
        out, _ = run.communicate(timeout=900)
        assert run.returncode == 0, out[-3000:]
    snapshot = Store(data).current()
    ids = {row["source_id"] for row in snapshot.read("articles").to_pylist()}
    assert {i for i in ids if i.startswith("north-")} and {i for i in ids if i.startswith("south-")}
    assert len(ids) == 120  # every story of both inboxes
    assert snapshot.read("runs").num_rows == 2 and snapshot.id == 2


def test_a_deleted_table_is_refused_by_name_and_nothing_is_written(tmp_path):
    data = tmp_path / "data"
    first = cli("run", str(SEEDS), "--data", str(data))
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out[-3000:]
    (data / "current" / "articles.parquet").unlink()
    inbox = tmp_path / "later"
    inbox.mkdir()
    (inbox / "one.txt").write_text("A later story about something else entirely, told in a few words.")
    again = cli("run", str(inbox), "--data", str(data))
    out, _ = again.communicate(timeout=600)
    assert again.returncode != 0
    assert "articles.parquet" in out and "missing" in out
    assert Store(data).committed_ids() == [1]  # nothing written: the loss is visible, not made permanent


def test_a_backfill_killed_between_windows_resumes_and_ends_with_the_tables_of_one_uninterrupted(tmp_path):
    from tests.support.archive import dated_archive, dev_records, stored_table

    archive = dated_archive(tmp_path / "archive", dev_records(90), date(2021, 3, 1), 3, 2)
    days = ("--from", "2021-03-01", "--to", "2021-03-31")
    whole = cli("backfill", str(archive), *days, "--data", str(tmp_path / "whole"))
    out, _ = whole.communicate(timeout=900)
    assert whole.returncode == 0, out[-3000:]
    assert "windows: 3 of 3 windows (100%)" in out and "3 of 3 windows committed now" in out

    data = tmp_path / "data"
    killed = cli("backfill", str(archive), *days, "--data", str(data))
    deadline = time.monotonic() + 600
    while not (data / "current").exists():  # the first window is committed
        assert killed.poll() is None and time.monotonic() < deadline, killed.stdout.read()
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    done_before = [r["published_from"] for r in Store(data).current().read("runs").to_pylist()]
    assert 1 <= len(done_before) < 3, done_before

    resumed = cli("backfill", str(archive), *days, "--data", str(data))
    out, _ = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, out[-3000:]
    assert f"window{'s' if len(done_before) > 1 else ''} committed by an earlier backfill" in out
    assert [r["published_from"] for r in Store(data).current().read("runs").to_pylist()] == [
        date(2021, 3, 1), date(2021, 3, 2), date(2021, 3, 3)]  # each window once
    for name in ("articles", "duplicates", "events", "storylines"):
        assert stored_table(data, name).equals(stored_table(tmp_path / "whole", name)), name
