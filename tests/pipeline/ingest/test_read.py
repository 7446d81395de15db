import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

import pipeline.ingest.read as ingest_module
from pipeline.config import IngestConfig
from pipeline.ingest import ingest
from pipeline.ingest.inbox import Inbox
from tests.conftest import SEED_IDS, SEEDS


def test_seeds_are_read_with_their_manifest(seed_stories):
    assert [s.source_id for s in seed_stories] == SEED_IDS
    by_id = {s.source_id[:3]: s for s in seed_stories}
    assert by_id["003"].source == "Reuters"
    assert by_id["003"].published_at == datetime(2017, 3, 28, tzinfo=timezone.utc)
    assert by_id["004"].title.startswith("Attorney General Sessions Slams Chicago")
    assert by_id["000"].title == ""
    assert all(s.body.strip() for s in seed_stories)


def test_jsonl_records_keep_their_fields(tmp_path):
    path = tmp_path / "wire.jsonl"
    path.write_text(json.dumps({
        "id": 7, "title": "T", "body": "Body text.", "source": "AP", "url": "http://x/1",
        "published_at": "2020-01-02T03:04:05+02:00", "extra": "ignored",
    }) + "\n")
    result = ingest(path)
    assert not result.rejects
    (story,) = result.stories
    assert (story.source_id, story.title, story.source, story.url) == ("7", "T", "AP", "http://x/1")
    assert story.published_at == datetime(2020, 1, 2, 1, 4, 5, tzinfo=timezone.utc)


def test_bad_inputs_are_rejected_with_reasons_and_the_rest_is_kept(tmp_path):
    (tmp_path / "good.txt").write_text("A perfectly fine story about a council vote.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "latin1.txt").write_bytes("The caf\xe9 on the square reopened, its owner said.".encode("latin-1"))
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    lines = [
        json.dumps({"id": "ok", "body": "Fine story from a feed."}),
        '{"id": "broken", "body": "unterminated',
        json.dumps({"body": "no id here"}),
        json.dumps({"id": "nobody"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "badtime", "body": "x", "published_at": "yesterday"}),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n")

    result = ingest(tmp_path)
    assert sorted(s.source_id for s in result.stories) == ["good", "latin1", "ok"]
    assert next(s for s in result.stories if s.source_id == "latin1").body.startswith("The caf\xe9 on")
    reasons = {r.origin.split("/")[-1]: r.reason for r in result.rejects}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"].startswith("binary file")
    assert "latin1.txt" not in reasons  # no declaration, so the encoding was detected
    assert "unsupported file type" in reasons["notes.docx"]
    assert reasons["feed.jsonl:2"].startswith("malformed JSON")
    assert reasons["feed.jsonl:3"] == "missing 'id'"
    assert reasons["feed.jsonl:4"] == "missing or empty 'body'"
    assert "expected an object" in reasons["feed.jsonl:5"]
    assert "not an ISO-8601 time" in reasons["feed.jsonl:6"]
    assert all(r.rejected_at.tzinfo for r in result.rejects)


def test_oversized_file_is_rejected_unread(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 1000)
    result = ingest(tmp_path, IngestConfig(max_input_bytes=100))
    assert not result.stories
    assert "file too large" in result.rejects[0].reason


def test_missing_input_is_a_reject_not_a_crash(tmp_path):
    result = ingest(tmp_path / "nowhere")
    assert result.rejects[0].reason == "input does not exist"


def test_seed_directory_is_the_default_example():
    assert SEEDS.is_dir() and len(SEED_IDS) == 5


def three_files(folder):
    """A good file, the issue's file (good line A, a line nested 50,000 deep, good line B), a good file."""
    folder.mkdir()
    (folder / "1-first.txt").write_text("The first story, about the ferry timetable.")
    (folder / "2-middle.jsonl").write_text("\n".join([
        json.dumps({"id": "line-a", "body": "Line A: the council approved the budget."}),
        "[" * 50_000 + "]" * 50_000,
        json.dumps({"id": "line-b", "body": "Line B: the bridge reopens on Monday."}),
    ]) + "\n")
    (folder / "3-last.txt").write_text("The last story, about the library hours.")
    return ["1-first", "line-a", "line-b", "3-last"]


def test_a_second_call_with_the_same_inbox_reads_everything_again(tmp_path):
    """Prefect retries a task with the very objects it was given: ingest must not change its inbox."""
    expected = three_files(tmp_path / "inbox")
    inbox = Inbox()
    first = ingest(tmp_path / "inbox", inbox=inbox)
    assert sorted(s.source_id for s in first.stories) == sorted(expected)
    assert [r.reason for r in first.rejects] == ["malformed JSON: nested too deeply"]
    assert inbox.seen == set()
    second = ingest(tmp_path / "inbox", inbox=inbox)
    assert sorted(s.source_id for s in second.stories) == sorted(expected)
    assert second.n_seen == 0 and len(second.inbox_rows) == len(first.inbox_rows) == 3


def test_a_retry_after_a_call_that_failed_midway_reads_what_the_failed_attempt_saw(tmp_path, monkeypatch):
    expected = three_files(tmp_path / "inbox")
    (tmp_path / "inbox" / "2-middle.jsonl").write_text("\n".join(  # readable by any version: only the retry is tested
        json.dumps({"id": sid, "body": f"Story {sid}."}) for sid in ("line-a", "line-b")) + "\n")
    inbox = Inbox()
    real_read_file, calls = ingest_module.read_file, []

    def interrupted_on_the_third_file(path, *args, **kwargs):  # the file system, failing under the reader
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_read_file(path, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "read_file", interrupted_on_the_third_file)
    with pytest.raises(KeyboardInterrupt):
        ingest(tmp_path / "inbox", inbox=inbox)
    monkeypatch.setattr(ingest_module, "read_file", real_read_file)
    retry = ingest(tmp_path / "inbox", inbox=inbox)
    assert sorted(s.source_id for s in retry.stories) == sorted(expected)
    assert retry.n_seen == 0


def test_only_regular_files_are_read_and_a_fifo_named_as_the_input_does_not_hang(tmp_path):
    fifo = tmp_path / "wire.jsonl"
    os.mkfifo(fifo)
    outcome = {}
    reader = threading.Thread(target=lambda: outcome.update(result=ingest([fifo, "/dev/null", "ftp://wire.example/x.xml"])),
                              daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "ingest blocked opening a FIFO"
    reasons = [r.reason for r in outcome["result"].rejects]
    assert reasons == ["a FIFO (named pipe), not a regular file: not read",
                       "a character device, not a regular file: not read",
                       "unsupported URL scheme: only http and https URLs are fetched"]


def test_symlinks_are_followed_only_inside_the_inbox_unless_the_caller_names_them(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "story.txt").write_text("A story kept outside the inbox.")
    inbox = tmp_path / "real-inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "sub" / "kept.txt").write_text("A story inside the inbox, reached through a link too.")
    (inbox / "link-inside.txt").symlink_to(Path("sub") / "kept.txt")
    (inbox / "link-outside.txt").symlink_to(outside / "story.txt")
    (tmp_path / "inbox-link").symlink_to(inbox)  # the inbox itself may be a link: its target is the root

    result = ingest(tmp_path / "inbox-link")
    assert [s.source_id for s in result.stories] == ["link-inside"]  # its target is logged, so read once
    assert result.n_seen == 1
    assert [(Path(r.origin).name, r.reason) for r in result.rejects] == [
        ("link-outside.txt", "symlink leads outside the inbox: not followed")]
    named = ingest(inbox / "link-outside.txt")  # a file the caller names is read wherever it lies
    assert [s.body for s in named.stories] == ["A story kept outside the inbox."]


def test_reading_one_input_stops_at_its_deadline_and_the_rest_is_read_next_run(tmp_path):
    lines = [json.dumps({"id": f"s{i}", "body": f"Story number {i} about the harbour."}) for i in range(50_000)]
    (tmp_path / "big.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "small.txt").write_text("A small story read after the big file.")
    cut = ingest(tmp_path, IngestConfig(input_deadline_s=0.2))
    assert 0 < len(cut.stories) < 50_001 and "small" in {s.source_id for s in cut.stories}
    (reject,) = cut.rejects
    assert "big.jsonl:" in reject.origin and "stopped at the deadline of 0.2 s" in reject.reason
    assert [Path(r["location"]).name for r in cut.inbox_rows] == ["small.txt"]  # the big file is read again next run
    whole = ingest(tmp_path)
    assert len(whole.stories) == 50_001 and not whole.rejects


def test_an_undecodable_file_name_is_read_and_named_in_valid_unicode(tmp_path):
    name = os.fsdecode(b"caf\xe9.txt")
    (tmp_path / name).write_text("A story whose file name is Latin-1.")
    result = ingest(tmp_path)
    (story,) = result.stories
    assert story.source_id == "caf\\xe9" and story.origin.endswith("/caf\\xe9.txt")
    (row,) = result.inbox_rows
    row["location"].encode("utf-8")
