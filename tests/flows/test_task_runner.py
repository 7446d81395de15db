"""Which task runner a run's settings ask for."""
from prefect_dask import DaskTaskRunner

from flows.ingest import with_dask
from flows.stages import task_runner
from pipeline.config import DaskConfig, Settings


def test_no_cluster_keeps_the_flows_own_runner():
    assert task_runner(DaskConfig()) is None


def test_a_scheduler_address_or_local_workers_give_a_dask_runner():
    remote = task_runner(DaskConfig(address="tcp://10.0.0.5:8786"))
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://10.0.0.5:8786"
    local = task_runner(DaskConfig(local_workers=2))
    assert isinstance(local, DaskTaskRunner) and local.cluster_kwargs["n_workers"] == 2


def test_the_flow_parameter_overrides_the_setting_only_when_given():
    settings = Settings().with_overrides({"dask": {"address": "tcp://a:1"}})
    assert with_dask(settings, "").dask.address == "tcp://a:1"
    assert with_dask(settings, "tcp://b:2").dask.address == "tcp://b:2"
