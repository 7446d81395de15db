"""A run that fails halfway leaves the store as it was, frees the write slot, and the next run picks up."""
import shutil

import pyarrow.parquet as pq
import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


def test_failed_run_changes_nothing_and_the_next_run_picks_up(prefect_harness, tmp_path, monkeypatch):
    from flows.ingest import ingest_flow

    monkeypatch.setenv("STORYFLOW_STORE__LOCK_TIMEOUT_S", "60")  # a lock the failed run kept fails the last run

    data, inbox = tmp_path / "data", tmp_path / "inbox"
    inbox.mkdir()
    for seed in sorted(SEEDS.glob("00[01]*.txt")):
        shutil.copy(seed, inbox)
    ingest_flow(inputs=str(inbox), data_dir=str(data))
    before = {name: pq.read_table(data / "current" / f"{name}.parquet") for name in ("articles", "events", "runs")}

    for seed in sorted(SEEDS.glob("00[234]*.txt")):
        shutil.copy(seed, inbox)
    # a model that cannot load: the run dies after reading and deduplicating, before writing
    state = ingest_flow(
        inputs=str(inbox), data_dir=str(data), overrides={"embedding__model": str(tmp_path / "no-such-model")},
        return_state=True,
    )
    assert state.is_failed()
    assert {name: pq.read_table(data / "current" / f"{name}.parquet") for name in before} == before

    ingest_flow(inputs=str(inbox), data_dir=str(data))
    runs = pq.read_table(data / "current" / "runs.parquet").to_pylist()
    assert [r["n_new_articles"] for r in runs] == [2, 3]
    assert pq.read_table(data / "current" / "articles.parquet").num_rows == 5


def test_a_run_that_cannot_get_the_store_is_refused_and_says_so(prefect_harness, tmp_path, monkeypatch):
    from flows.ingest import ingest_flow
    from pipeline.store import Store, StoreBusyError

    monkeypatch.setenv("STORYFLOW_STORE__LOCK_TIMEOUT_S", "3")
    with Store(tmp_path / "data").writer():  # another writer holds the store
        state = ingest_flow(inputs=str(SEEDS), data_dir=str(tmp_path / "data"), return_state=True)
        other = ingest_flow(inputs=str(SEEDS), data_dir=str(tmp_path / "other"), return_state=True)
    assert other.is_completed()  # another store has its own lock: no wait
    assert state.is_failed()
    with pytest.raises(StoreBusyError, match="refused: another run held .* nothing was written"):
        state.result()
    assert not (tmp_path / "data" / "current").exists()
