import json
from datetime import datetime, timezone

from pipeline.config import IngestConfig
from pipeline.ingest import ingest
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
