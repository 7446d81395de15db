"""The run sequence of a backfill: one committed run per window of days, resumed where it stopped."""
from __future__ import annotations

import json
from datetime import date

import pyarrow.parquet as pq
import pytest

from pipeline.config import Settings
from pipeline.run import run_backfill
from pipeline.store import Store
from tests.support.archive import dated_archive, dev_records

pytestmark = pytest.mark.slow

START, END = date(2021, 3, 1), date(2021, 3, 31)


def runs(data) -> list[dict]:
    return pq.read_table(data / "current" / "runs.parquet").to_pylist()


def test_a_backfill_commits_a_run_per_window_and_a_second_one_redoes_none(tmp_path):
    archive = dated_archive(tmp_path / "archive", dev_records(60), START, 3, 2)
    with (archive / "wire-0.jsonl").open("a") as wire:
        wire.write('{"id": "early", "body": "Before the dates.", "published_at": "2021-02-01T00:00:00Z"}\n{broken\n')
    settings = Settings(data_dir=tmp_path / "data").with_overrides({"ingest": {"backfill_window_days": 2}})

    first = run_backfill(str(archive), settings, START, END)
    assert first.windows == [(date(2021, 3, 1), date(2021, 3, 2)), (date(2021, 3, 3), date(2021, 3, 4))]
    assert [r.report.counts["new_articles"] for r in first.runs] == [40, 20] and first.skipped == []
    assert first.n_outside == 1 and first.n_undated == 0
    rows = runs(tmp_path / "data")
    assert [(r["kind"], r["published_from"], r["published_to"]) for r in rows] == [
        ("backfill", date(2021, 3, 1), date(2021, 3, 2)), ("backfill", date(2021, 3, 3), date(2021, 3, 4))]
    assert [r["n_rejects"] for r in rows] == [1, 0] and rows[0]["n_outside_window"] == 1  # the survey's, once
    snapshot = Store(tmp_path / "data").current().id

    again = run_backfill(str(archive), settings, START, END)
    assert again.runs == [] and again.skipped == first.windows
    assert Store(tmp_path / "data").current().id == snapshot  # nothing written
    assert "2 windows committed by an earlier backfill" in again.summary()
    articles = pq.read_table(tmp_path / "data" / "current" / "articles.parquet")
    assert articles.num_rows == 60 and "early" not in articles.column("source_id").to_pylist()
    reasons = [r["reason"] for r in pq.read_table(tmp_path / "data" / "current" / "rejects.parquet").to_pylist()]
    assert len(reasons) == 1 and reasons[0].startswith("malformed JSON"), json.dumps(reasons)
