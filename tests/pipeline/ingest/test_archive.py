"""An archive read part by part: the parts, what a survey of one finds, and reading one again."""
from __future__ import annotations

import json
from datetime import date

from pipeline.config import IngestConfig
from pipeline.ingest.archive import archive_parts, read_part, survey_part
from tests.support.archive import dated_archive, dev_records


def test_a_folders_text_stories_and_their_manifest_are_one_part_and_every_other_file_its_own(tmp_path):
    (tmp_path / "a.txt").write_text("One story.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("Another story.")
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"id": "a", "published_at": "2020-01-02"}) + "\n")
    (tmp_path / "feed.jsonl").write_text(json.dumps({"id": "c", "body": "Third."}) + "\n")
    (tmp_path / ".hidden.jsonl").write_text("")
    parts, unlisted = archive_parts(str(tmp_path))
    assert unlisted == []
    assert [sorted(p.rsplit("/", 1)[1] for p in part.paths) for part in parts] == [
        ["a.txt", "b.txt", "manifest.jsonl"], ["feed.jsonl"]]
    texts = read_part(parts[0], IngestConfig())
    dates = {s.source_id: s.published_at for s in texts.stories}
    assert dates["a"].date() == date(2020, 1, 2) and dates["b"] is None  # the manifest applied within the part


def test_a_survey_counts_stories_by_day_and_undated_ones_and_keeps_the_rejects(tmp_path):
    archive = dated_archive(tmp_path / "archive", dev_records(12), date(2021, 3, 1), 3, 2)
    with (archive / "wire-0.jsonl").open("a") as f:
        f.write(json.dumps({"id": "undated", "body": "A story with no date at all, for the survey."}) + "\n")
        f.write("{not json\n")
    parts, _ = archive_parts(str(archive))
    first = survey_part(parts[0], IngestConfig())
    assert first.days == {date(2021, 3, 1): 2, date(2021, 3, 2): 2, date(2021, 3, 3): 2}
    assert first.n_undated == 1 and not first.has_notices
    assert [r.reason.split(":")[0] for r in first.rejects] == ["malformed JSON"]
    assert first.touches(date(2021, 3, 3), date(2021, 3, 9)) and not first.touches(date(2021, 3, 4), date(2021, 3, 9))


def test_a_file_named_alone_is_one_part(tmp_path):
    archive = dated_archive(tmp_path / "archive", dev_records(4), date(2021, 3, 1), 2, 1)
    parts, _ = archive_parts(str(archive / "wire-0.jsonl"))
    assert len(parts) == 1 and parts[0].inside is None
    assert len(read_part(parts[0], IngestConfig()).stories) == 4
