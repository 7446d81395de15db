"""The command line for real: the flows on a temporary Prefect server with the real model, against real stores.

One store goes through a first run (on a terminal: live bars), a re-run (on a pipe: plain lines, "nothing
new"), a run whose every input is rejected (exit 3), a run that fails (exit 1), a recluster with a setting
changed by --set, and a rollback; a second store gets a backfill of one month.
"""
from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return {**out, "TERM": "xterm-256color", "COLUMNS": "120"}


def on_a_pipe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env(), capture_output=True,
                          text=True, timeout=600)


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as stdin, stdout and stderr; its exit code and all it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env(), stdin=slave, stdout=slave,
                            stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        if select.select([master], [], [], 1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the command exited and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), seen.decode(errors="replace")


def runs(data: Path) -> list[dict]:
    return pq.read_table(data / "current" / "runs.parquet").to_pylist()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("cli") / "data"


def test_a_first_run_on_a_terminal_shows_bars_and_reports_this_runs_events(store):
    code, text = on_a_terminal("run", str(SEEDS), "--data", str(store))
    plain = ANSI.sub("", text)
    assert code == 0, plain[-3000:]
    assert "━" in text and ANSI.search(text)  # live bars, drawn in place
    assert "✓ embed      reading stories with the language model: done in" in plain
    assert "storyflow ingest " in plain and ": 5 new stories, 3 events created" in plain
    headlines = [e["headline"] for e in pq.read_table(store / "current" / "events.parquet").to_pylist()]
    assert all(h in plain for h in headlines)  # every event of the run, its headline in full
    assert "Store after the run: 5 stories, 3 events, 1 storyline" in plain
    (run,) = runs(store)
    assert run["kind"] == "ingest" and run["flow_run_id"] and run["flow_run_url"] is None  # its server is gone


def test_a_rerun_on_a_pipe_logs_plain_lines_and_says_nothing_is_new(store):
    done = on_a_pipe("run", str(SEEDS), "--data", str(store))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0].endswith(": nothing new: 6 inputs already ingested")  # 5 stories, 1 manifest
    assert "skipped         6 inputs already ingested by earlier runs" in done.stdout
    assert not ANSI.search(done.stdout + done.stderr) and "\r" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(re.match(r"\d\d:\d\d:\d\d \w+: ", line) for line in lines), lines
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d commit: committing a new snapshot: done in [\d.]+ s", line) for line in lines)
    assert runs(store)[-1]["n_inputs_seen"] == 6


def test_a_run_whose_every_input_is_rejected_exits_3(store, tmp_path):
    inbox = tmp_path / "bad"
    inbox.mkdir()
    (inbox / "empty.txt").write_text("")
    (inbox / "broken.jsonl").write_text('{"id": "x", "body": \n')
    done = on_a_pipe("run", str(inbox), "--data", str(store))
    assert done.returncode == 3, done.stderr[-3000:]
    assert "nothing stored: every input was rejected (2 rejects)" in done.stdout
    assert "empty.txt: empty file" in done.stdout
    assert runs(store)[-1]["n_rejects"] == 2


def test_a_run_that_fails_exits_1_in_one_line_and_writes_nothing(store, tmp_path):
    inbox = tmp_path / "later"
    inbox.mkdir()
    (inbox / "one.txt").write_text("A later story about a harbour strike, told in a few more words than that.")
    before = len(runs(store))
    done = on_a_pipe("run", str(inbox), "--data", str(store), "--set", f"embedding__model={tmp_path / 'no-model'}")
    assert done.returncode == 1
    failure = [line for line in done.stderr.splitlines() if line.startswith("storyflow run: failed")]
    assert failure and "nothing was written" in failure[0] and "no-model" in failure[0]
    assert "Traceback" not in done.stderr  # one line, not three tracebacks
    assert len(runs(store)) == before


def test_recluster_with_a_stricter_setting_reports_the_split(store):
    done = on_a_pipe("recluster", "--data", str(store), "--set", "events__distance=0.05", "--from", "2017-01-01")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0].endswith(": 1 event split, 0 merged, 2 created; 2 stories moved")
    assert "Stories moved (2)" in done.stdout
    run = runs(store)[-1]
    assert (run["kind"], run["n_events_split"], run["n_stories_moved"], run["n_events"]) == ("recluster", 1, 2, 5)


def test_rollback_is_recorded_and_history_lists_it(store):
    done = on_a_pipe("rollback", "--data", str(store))
    assert done.returncode == 0, done.stderr
    last = runs(store)[-1]
    assert last["kind"] == "rollback" and last["n_events"] == 3  # the events before the recluster
    history = on_a_pipe("history", "--data", str(store))
    assert history.returncode == 0
    current = [line for line in history.stdout.splitlines() if line.startswith("*") and "rollback" in line]
    assert current and f"(a copy of snapshot {last['rolled_back_to']})" in current[0]


def test_backfill_takes_only_the_days_asked_for(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SEEDS, tmp_path / "archive")
    done = on_a_pipe("backfill", str(tmp_path / "archive"), "--from", "2017-04-01", "--to", "2017-04-30", "--data", str(data))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "embed: 3 of 3 stories (100%)" in done.stderr
    assert "3 new stories, 2 outside the dates" in done.stdout.splitlines()[0]
    articles = pq.read_table(data / "current" / "articles.parquet").to_pylist()
    assert sorted(a["source_id"][:3] for a in articles) == ["000", "001", "002"]
    (run,) = runs(data)
    assert run["kind"] == "backfill" and run["n_outside_window"] == 2
