"""Derived files (a search index) committed with a snapshot: listed, never carried stale, kept by a rollback."""
from __future__ import annotations

import pyarrow as pa

from pipeline.store import Store
from pipeline.store.schema import to_table


def runs(run_id):
    return {"runs": to_table("runs", [{"run_id": run_id}])}


def write(path, earlier, text):
    path.write_text(text + (f" after {earlier.read_text()}" if earlier else ""))
    return text


def test_a_derived_file_is_committed_listed_and_built_from_the_last_one(tmp_path):
    store = Store(tmp_path)
    with store.writer() as writer:
        assert writer.derive("index.txt", write, "one") == "one"
        first = writer.commit(runs("r1"))
    assert first.derived("index.txt").read_text() == "one"
    assert first.manifest["derived"]["index.txt"]["bytes"] == 3
    with store.writer() as writer:  # a commit that derives nothing carries no stale file over
        second = writer.commit(runs("r2"))
    assert second.derived("index.txt") is None
    with store.writer() as writer:
        writer.derive("index.txt", write, "three")
        third = writer.commit(runs("r3"))
    assert third.derived("index.txt").read_text() == "three"  # built afresh: the last snapshot had none
    with store.writer() as writer:
        restored = writer.rollback(to=first.id)
    assert restored.derived("index.txt").read_text() == "one"  # exactly the first snapshot, index included
    assert pa.Table.equals(restored.read("runs"), first.read("runs"))
    assert not [p for p in (tmp_path / "snapshots").iterdir() if p.name.startswith(".")]  # no staging left


def test_derived_names_cannot_shadow_tables_or_leave_the_folder(tmp_path):
    with Store(tmp_path).writer() as writer:
        for name in ("../x", "articles.parquet", "manifest.json", ".hidden", ""):
            try:
                writer.derive(name, write, "x")
            except ValueError:
                continue
            raise AssertionError(name)
