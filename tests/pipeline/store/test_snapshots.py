"""Snapshots: commits are whole or absent, readers see one run, broken tables are refused by name."""
import json
import os
import shutil
import threading
import time

import pyarrow.parquet as pq
import pytest

from pipeline.store import Store, StoreBusyError, StoreChangedError, StoreError, snapshots, to_table


def rows(n):
    return [{"run_id": f"r{i}", "origin": f"f{i}", "reason": "x", "rejected_at": None} for i in range(n)]


def commit(root, **tables):
    with Store(root).writer(timeout_s=5) as writer:
        return writer.commit({name: to_table(name, r) for name, r in tables.items()}, kind="test")


def test_each_commit_is_a_snapshot_that_plain_parquet_readers_open(tmp_path):
    commit(tmp_path, rejects=rows(3), events=[])
    assert pq.read_table(tmp_path / "current" / "rejects.parquet").num_rows == 3  # a plain read
    second = commit(tmp_path, rejects=rows(5))
    assert second.id == 2 and os.readlink(tmp_path / "current") == "snapshots/000002"
    assert pq.read_table(tmp_path / "current" / "rejects.parquet").num_rows == 5
    # a table the run did not write is carried over: the same file, linked
    assert os.path.samefile(tmp_path / "snapshots/000001/events.parquet", tmp_path / "snapshots/000002/events.parquet")
    manifest = json.loads((tmp_path / "current" / "manifest.json").read_text())
    assert manifest["parent"] == 1 and manifest["tables"]["rejects"]["rows"] == 5
    assert Store(tmp_path).current().read("storylines").num_rows == 0  # never written: empty, typed


def test_a_reader_keeps_reading_the_snapshot_it_opened(tmp_path):
    commit(tmp_path, rejects=rows(2), events=[])
    seen = Store(tmp_path).current()
    commit(tmp_path, rejects=rows(7), events=[])
    assert seen.read("rejects").num_rows == 2 and Store(tmp_path).current().read("rejects").num_rows == 7


def test_a_commit_that_dies_before_the_swap_leaves_the_old_state_and_no_litter(tmp_path, monkeypatch):
    commit(tmp_path, rejects=rows(2))
    real_replace = os.replace

    def die_at_the_swap(src, dst):
        if os.path.basename(dst) == snapshots.CURRENT:
            raise OSError("killed")
        return real_replace(src, dst)

    monkeypatch.setattr(snapshots.os, "replace", die_at_the_swap)
    with pytest.raises(OSError):
        commit(tmp_path, rejects=rows(5))
    monkeypatch.undo()
    assert Store(tmp_path).current().read("rejects").num_rows == 2
    assert (tmp_path / "snapshots" / "000002").exists()  # written, never made current
    third = commit(tmp_path, rejects=rows(4))  # the next writer clears it away and takes its number
    assert third.id == 2 and third.read("rejects").num_rows == 4
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["000001", "000002"]


def test_a_missing_or_broken_table_is_refused_by_name_never_read_as_empty(tmp_path):
    commit(tmp_path, rejects=rows(2), events=[])
    (tmp_path / "current" / "rejects.parquet").unlink()
    with pytest.raises(StoreError, match="rejects.parquet.*missing"):
        Store(tmp_path).current().read("rejects")
    (tmp_path / "current" / "events.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(StoreError, match="events.parquet.*unreadable"):
        Store(tmp_path).current().read("events")
    os.unlink(tmp_path / "current")
    with pytest.raises(StoreError, match="missing but 1 snapshots exist"):
        Store(tmp_path).current()


def test_rollback_commits_an_earlier_snapshot_again(tmp_path):
    commit(tmp_path, rejects=rows(1))
    commit(tmp_path, rejects=rows(2))
    commit(tmp_path, rejects=rows(3))
    with Store(tmp_path).writer() as writer:
        back = writer.rollback()
    assert back.id == 4 and back.manifest["rolled_back_to"] == 2 and back.read("rejects").num_rows == 2
    with Store(tmp_path).writer() as writer:
        assert writer.rollback(to=3).read("rejects").num_rows == 3  # a rollback is undone the same way
    with Store(tmp_path).writer() as writer, pytest.raises(StoreError, match="not kept"):
        writer.rollback(to=99)


def test_only_the_last_snapshots_are_kept(tmp_path):
    for n in range(5):
        with Store(tmp_path, keep_snapshots=3).writer() as writer:
            writer.commit({"rejects": to_table("rejects", rows(n))})
    assert Store(tmp_path).committed_ids() == [3, 4, 5]
    assert not [p for p in (tmp_path / "snapshots").iterdir() if p.name.startswith(".")]


def test_one_writer_at_a_time_and_a_commit_checks_nobody_wrote_meanwhile(tmp_path):
    commit(tmp_path, rejects=rows(1))
    holding, release = threading.Event(), threading.Event()

    def hold():
        with Store(tmp_path).writer():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    began = time.monotonic()
    with pytest.raises(StoreBusyError, match="refused"):
        with Store(tmp_path).writer(timeout_s=0.5):
            pass
    assert time.monotonic() - began >= 0.5
    release.set()
    holder.join()
    # a writer that somehow bypassed the lock (another host on a file system without locks) is caught at commit
    with Store(tmp_path).writer() as writer:
        sneaky = Store(tmp_path)._publish({}, {"rejects": writer.base.file("rejects")}, writer.base, {})
        assert sneaky.id == 2
        with pytest.raises(StoreChangedError, match="changed from snapshot 1 to 2"):
            writer.commit({"rejects": to_table("rejects", rows(9))})


def test_a_store_moved_elsewhere_reads_and_commits_as_before(tmp_path):
    commit(tmp_path / "here", rejects=rows(2))
    shutil.move(tmp_path / "here", tmp_path / "there")  # symlinks and manifests are relative
    assert commit(tmp_path / "there", rejects=rows(3)).id == 2
    assert Store(tmp_path / "there").current().read("rejects").num_rows == 3


def test_a_store_copied_without_its_links_still_reads_and_commits(tmp_path):
    commit(tmp_path / "here", rejects=rows(2))
    shutil.copytree(tmp_path / "here", tmp_path / "copy")  # links followed: `current` becomes a folder
    assert not (tmp_path / "copy" / "current").is_symlink()
    assert Store(tmp_path / "copy").current().read("rejects").num_rows == 2
    assert commit(tmp_path / "copy", rejects=rows(3)).id == 2
    assert (tmp_path / "copy" / "current").is_symlink() and Store(tmp_path / "copy").current().read("rejects").num_rows == 3


def test_a_store_in_the_earlier_layout_is_converted_by_the_next_writer(tmp_path):
    legacy = tmp_path / "rejects"
    legacy.mkdir()
    pq.write_table(to_table("rejects", rows(2)), legacy / "rejects.parquet")
    index = tmp_path / "_minhash_index"
    index.mkdir()
    pq.write_table(to_table("_minhash_index", []), index / "minhash_index.parquet")
    with pytest.raises(StoreError, match="earlier storyflow"):
        Store(tmp_path).current()
    with Store(tmp_path).writer() as writer:
        assert writer.base.id == 1 and writer.base.read("rejects").num_rows == 2
        assert "_minhash_index" in writer.base.tables
    assert not legacy.exists() and not index.exists()
