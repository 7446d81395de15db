"""A run whose parallel stages go to a real Dask cluster (a scheduler and two worker processes on
127.0.0.1) writes the same tables as a run in one process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DEV = ROOT.parent / "shared" / "data" / "ecbplus-dev.jsonl"
if not DEV.exists():
    DEV = Path("/work/shared/data/ecbplus-dev.jsonl")
TABLES = ("articles", "duplicates", "events", "storylines")
CLOCK_COLUMNS = {"ingested_at", "run_id", "first_seen", "last_seen"}  # when the run was, not what it found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (one thread each), stopped by pid."""
    from distributed import Client

    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", address.rsplit(":", 1)[1], "--no-dashboard"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        procs += [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
                                    "--nthreads", "1", "--no-dashboard", "--name", f"w{i}"], env=env, cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            yield address, client
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def table(data: Path, name: str):
    t = pq.read_table(data / "current" / f"{name}.parquet")
    t = t.drop_columns([c for c in t.column_names if c in CLOCK_COLUMNS])
    return t.sort_by([(t.column_names[0], "ascending")])


def models_loaded() -> int:
    from pipeline.events.embed import load_model

    return load_model.cache_info().misses


def test_ingest_on_a_dask_cluster_writes_the_tables_of_one_process(prefect_harness, cluster, tmp_path, monkeypatch):
    from flows.ingest import ingest_flow
    from pipeline.config import Settings
    from pipeline.run import run_ingest

    address, client = cluster
    source = tmp_path / "dev.jsonl"
    source.write_text("".join(DEV.read_text().splitlines(keepends=True)[:120]))
    monkeypatch.setenv("STORYFLOW_DASK__BATCH_STORIES", "32")  # several tasks per stage, for both workers

    ingest_flow(inputs=str(source), data_dir=str(tmp_path / "dask"), dask_address=address)
    run_ingest([str(source)], Settings(data_dir=tmp_path / "one"))

    for name in TABLES:
        on_dask, in_one = table(tmp_path / "dask", name), table(tmp_path / "one", name)
        assert on_dask.num_rows > 0 and on_dask.equals(in_one), name
    # the embedding ran on the workers, each loading the model at most once
    loaded = client.run(models_loaded)
    assert sum(loaded.values()) >= 1 and max(loaded.values()) == 1, loaded
