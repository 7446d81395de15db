import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline import store


def rows(n):
    return [{"run_id": f"r{i}", "origin": f"f{i}", "reason": "x", "rejected_at": None} for i in range(n)]


def test_commit_then_plain_parquet_read(tmp_path):
    store.commit(tmp_path, {"rejects": store.to_table("rejects", rows(3))})
    table = pq.read_table(tmp_path / "rejects")  # a plain read of the folder
    assert table.num_rows == 3
    assert store.read_table(tmp_path, "events").num_rows == 0  # never written: empty, typed


def test_a_commit_that_dies_before_its_journal_leaves_the_old_state(tmp_path, monkeypatch):
    store.commit(tmp_path, {"rejects": store.to_table("rejects", rows(2)), "events": store.to_table("events", [])})

    def die(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(store.os, "replace", die)
    with pytest.raises(OSError):
        store.commit(tmp_path, {"rejects": store.to_table("rejects", rows(5))})
    monkeypatch.undo()
    assert pq.read_table(tmp_path / "rejects").num_rows == 2
    store.commit(tmp_path, {"rejects": store.to_table("rejects", rows(4))})
    assert store.read_table(tmp_path, "rejects").num_rows == 4


def test_a_commit_that_dies_mid_rename_is_finished_on_next_open(tmp_path, monkeypatch):
    store.commit(tmp_path, {"rejects": store.to_table("rejects", rows(1)), "events": store.to_table("events", [])})
    real_replace = os.replace
    calls = []

    def die_after_journal(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the journal is in place; die renaming the first table
            raise OSError("killed")
        return real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", die_after_journal)
    with pytest.raises(OSError):
        store.commit(tmp_path, {"rejects": store.to_table("rejects", rows(6)), "events": store.to_table("events", [])})
    monkeypatch.undo()
    assert (tmp_path / store.JOURNAL).exists()
    assert json.loads((tmp_path / store.JOURNAL).read_text())
    assert store.read_table(tmp_path, "rejects").num_rows == 6  # recovery rolled forward
    assert not (tmp_path / store.JOURNAL).exists()
