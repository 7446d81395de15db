"""A backfill whose parallel stages (reading, normalizing, sketching, embedding) go to a real Dask cluster
(a scheduler and two worker processes on 127.0.0.1) writes the same tables as a backfill in one process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date

import pytest

from tests.conftest import ROOT
from tests.support.archive import dated_archive, load, stored_table

pytestmark = pytest.mark.slow

TABLES = ("articles", "duplicates", "events", "storylines")


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


def models_loaded() -> int:
    from pipeline.events.embed import load_model

    return load_model.cache_info().misses


def test_a_backfill_on_a_dask_cluster_writes_the_tables_of_one_process(prefect_harness, cluster, tmp_path, monkeypatch):
    from flows.backfill import backfill_flow
    from pipeline.config import Settings
    from pipeline.run import run_backfill

    address, client = cluster
    archive = dated_archive(tmp_path / "archive", load(), date(2021, 3, 1), 3, 4)
    monkeypatch.setenv("STORYFLOW_DASK__BATCH_STORIES", "64")  # several tasks per stage, for both workers

    backfill_flow(source=str(archive), start=date(2021, 3, 1), end=date(2021, 3, 31), data_dir=str(tmp_path / "dask"),
                  dask_address=address)
    one = run_backfill(str(archive), Settings(data_dir=tmp_path / "one"), date(2021, 3, 1), date(2021, 3, 31))
    assert len(one.runs) == 3  # a window a day

    for name in TABLES:
        on_dask, in_one = stored_table(tmp_path / "dask", name), stored_table(tmp_path / "one", name)
        assert on_dask.num_rows > 0 and on_dask.equals(in_one), name
    # the embedding ran on the workers, each loading the model at most once
    loaded = client.run(models_loaded)
    assert sum(loaded.values()) >= 1 and max(loaded.values()) == 1, loaded
