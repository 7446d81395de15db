"""The command line before any work: wrong arguments, inputs and stores refused in one line with exit code 2
before Prefect is even imported; --help and --version; the progress display on a pipe and on a terminal;
the per-run settings as --set and the run form take them. (Runs for real: test_cli_runs.py.)"""
from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from flows.cli import main
from flows.form import RunSettings, form_schema, parse_sets
from flows.progress import RunDisplay
from pipeline.store import Store, to_table
from tests.conftest import ROOT, SEEDS

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli(*args: str, prefect_home, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_HOME": str(prefect_home)}
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def committed_store(root):
    """A store with one committed snapshot (no model, no Prefect: the store's own writer)."""
    with Store(root).writer() as writer:
        writer.commit({"runs": to_table("runs", [{"run_id": "r1", "kind": "ingest"}])}, run_id="r1", kind="ingest")
    return root


CASES = {
    "missing input": (lambda t: ["run", str(t / "no-such-inbox"), "--data", str(t / "d")], "input not found: "),
    "--data is a file": (lambda t: ["run", str(SEEDS), "--data", str(SEEDS / "manifest.jsonl")], "is a file, not a store folder"),
    "a table of the store is gone": (
        lambda t: (committed_store(t / "s"), (t / "s" / "current" / "runs.parquet").unlink(),
                   ["run", str(SEEDS), "--data", str(t / "s")])[-1],
        "runs.parquet (table 'runs' of snapshot 1) is missing"),
    "current points nowhere": (
        lambda t: ((t / "s").mkdir(), os.symlink("snapshots/000009", t / "s" / "current"),
                   ["run", str(SEEDS), "--data", str(t / "s")])[-1],
        "snapshot 9 is missing"),
    "unknown setting": (lambda t: ["run", str(SEEDS), "--data", str(t / "d"), "--set", "events__nearness=1"], "no such setting"),
    "setting not a number": (lambda t: ["run", str(SEEDS), "--data", str(t / "d"), "--set", "events__distance=far"],
                             "--set events__distance=far: Input should be a valid number"),
    "setting out of bounds": (lambda t: ["run", str(SEEDS), "--data", str(t / "d"), "--set", "events.embedding_weight=2"],
                              "less than or equal to 1"),
    "backfill days reversed": (lambda t: ["backfill", str(SEEDS), "--from", "2017-05-01", "--to", "2017-04-01",
                                          "--data", str(t / "d")], "--from 2017-05-01 is after --to 2017-04-01"),
    "backfill of a feed": (lambda t: ["backfill", "https://example.org/feed.xml", "--from", "2017-04-01", "--to",
                                      "2017-04-30", "--data", str(t / "d")], "not a URL: https://example.org/feed.xml"),
    "recluster of no store": (lambda t: ["recluster", "--data", str(t / "d")], "no such folder"),
    "recluster with both ranges": (lambda t: ["recluster", "--last-days", "3", "--from", "2017-01-01", "--data", str(t / "d")],
                                   "--last-days replaces --from and --to"),
    "recluster time not ISO": (lambda t: ["recluster", "--from", "last tuesday", "--data", str(t / "d")], "not an ISO day or time"),
    "history of a file": (lambda t: ["history", "--data", str(SEEDS / "manifest.jsonl")], "is a file"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_mistake_is_one_line_and_exit_2_before_any_work(case, tmp_path, monkeypatch, capsys):
    import flows.server

    def no_server():
        raise AssertionError("the temporary Prefect server was started")

    monkeypatch.setattr(flows.server, "temporary_server", no_server)
    make_args, message = CASES[case]
    args = make_args(tmp_path)
    assert main(args) == 2
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"storyflow {args[0]}: error: ") and message in line, line
    assert out == ""
    assert not (tmp_path / "d").exists()  # no store made


@pytest.mark.parametrize("case", ["missing input", "--data is a file"])
def test_the_command_refuses_in_about_a_second_without_importing_prefect(case, tmp_path):
    make_args, message = CASES[case]
    began = time.monotonic()
    done = cli(*make_args(tmp_path), prefect_home=tmp_path / "prefect-home")
    elapsed = time.monotonic() - began
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "prefect-home").exists()  # Prefect was never imported (it creates its home at once)
    assert elapsed < 10, elapsed  # about half a second on an idle machine; generous for a shared one


def test_a_wrong_option_is_argparse_usage_and_exit_2(capsys):
    for args, message in ((["backfill", str(SEEDS), "--from", "2017-04-01"], "the following arguments are required: --to"),
                          (["run", str(SEEDS), "--show-events", "some"], "a number or 'all'")):
        with pytest.raises(SystemExit) as exit:
            main(args)
        assert exit.value.code == 2 and message in capsys.readouterr().err


def test_version_and_the_help_of_every_command(capsys):
    def page(*args: str) -> str:
        with pytest.raises(SystemExit) as exit:
            main(list(args))
        assert exit.value.code == 0
        return capsys.readouterr().out

    assert re.fullmatch(r"storyflow \S+ \(Python 3\.\S+, Prefect 3\.\S+\)\n", page("--version"))
    top = page("--help")
    assert "exit codes:" in top and "ingest a directory or .jsonl file" not in top
    for command in ("run", "backfill", "recluster", "history", "rollback"):
        assert re.search(rf"^    {command}\b", top, re.M), command
        text = page(command, "--help")
        assert "--data DIR" in text
        if command in ("run", "backfill", "recluster"):
            assert "exit codes:" in text and "3  everything read was rejected" in text
            assert all(key in text for key in RunSettings.model_fields)  # every setting --set takes


# --- the progress display -------------------------------------------------------------------------

def play(display: RunDisplay, pause: float = 0.0) -> None:
    """A run's stages as the flow reports them: a short stage, then embedding in three batches."""
    with display:
        display.stage_started("load")
        display.stage_finished("load", 0.04, False)
        display.stage_started("embed")
        for done in (32, 64, 96, 100):
            time.sleep(pause)
            display.progress("embed", done, 100)
        display.stage_finished("embed", 12.5, False)
        display.stage_started("commit")
        display.stage_finished("commit", 0.3, True)


def test_off_a_terminal_progress_is_plain_lines_at_most_one_per_interval():
    out = io.StringIO()
    play(RunDisplay(out, every_s=60))
    lines = out.getvalue().splitlines()
    assert not ANSI.search(out.getvalue()) and "\r" not in out.getvalue()
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines)
    assert [line[9:] for line in lines] == [
        "load: reading the store: done in 0.0 s",
        "embed: reading stories with the language model …",
        "embed: 32 of 100 stories (32%), 0:00 elapsed, about 0:00 left",  # the first batch, then nothing for 60 s ...
        "embed: 100 of 100 stories (100%), 0:00 elapsed",  # ... but the last
        "embed: reading stories with the language model: done in 12.5 s",
        "commit: committing a new snapshot: failed after 0.3 s",
    ]


def test_on_a_terminal_progress_is_a_live_bar(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "120")  # a pty's own size is 0 x 0
    monkeypatch.delenv("NO_COLOR", raising=False)
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w")
    display = RunDisplay(stream)
    assert display.live  # a TTY, found by itself
    play(display, pause=0.3)  # long enough for the display to redraw between batches
    stream.close()
    seen = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    text = seen.decode()
    assert "━" in text and ANSI.search(text)  # a drawn bar, redrawn in place
    assert "64 of 100 stories" in text
    plain = ANSI.sub("", text)
    assert "✓ embed      reading stories with the language model: done in 12.5 s (100 of 100 stories)" in plain
    assert "✗ commit     committing a new snapshot: failed after 0.3 s" in plain


# --- settings for one run --------------------------------------------------------------------------

def test_set_pairs_become_validated_run_settings():
    settings = parse_sets(["events__distance=0.6", "dedup.jaccard=0.7", "embedding__model=/models/x", "events__distance=0.65"])
    assert settings.by_section() == {"dedup": {"jaccard": 0.7}, "embedding": {"model": "/models/x"},
                                     "events": {"distance": 0.65}}  # the last of a repeated key holds
    assert parse_sets([]) is None
    for bad, message in (("events__distance", "expected SECTION__FIELD=VALUE"), ("store__keep_snapshots=3", "no such setting"),
                         ("events__time_scale_days=0", "greater than 0")):
        with pytest.raises(ValueError, match=message):
            parse_sets([bad])


def test_the_form_schema_leaves_empty_boxes_out_and_types_the_settings():
    properties = {
        "inputs": {"type": "string", "default": "seeds"},
        "source": {"type": "string"},
        "published_from": {"type": "string", "format": "date", "default": None},
        "overrides": {"$ref": "#/definitions/RunSettings", "default": None},
    }
    fixed = form_schema(properties, required=["source"])
    assert fixed == {
        "inputs": {"type": "string", "default": "seeds"},
        "source": {"type": "string"},
        "published_from": {"type": "string", "format": "date"},
        "overrides": {"$ref": "#/definitions/RunSettings", "type": "object"},
    }
    assert properties["published_from"]["default"] is None  # the schema given is left as it was
    words = RunSettings.model_json_schema()
    assert words["title"] == "Settings for this run"
    assert all(p["description"].endswith(".") and "Default:" in p["description"] for p in words["properties"].values())


def test_the_event_clusterer_is_a_choice_in_the_form_and_on_the_command_line():
    box = RunSettings.model_json_schema()["properties"]["events__clusterer"]
    assert box["enum"] == ["average", "hdbscan"] and "default" not in box
    assert parse_sets(["events__clusterer=hdbscan"]).by_section() == {"events": {"clusterer": "hdbscan"}}
    with pytest.raises(ValueError, match="events__clusterer=kmeans"):
        parse_sets(["events__clusterer=kmeans"])
