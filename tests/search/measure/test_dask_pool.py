"""Measurements and accuracy as separate Dask resources: a real cluster on loopback whose workers
declare them (one 'accuracy' worker, two 'measure' workers), and one whose workers declare none."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import pytest

from fmas_hw.costmodel.online_model import STATE_SUFFIX
from fmas_hw.search import SearchConfig, run
from fmas_hw.search.backends import ACCURACY, MEASURE, worker_resources
from fmas_hw.search.measure.measurer import (
    MeasuredRun,
    measure_task,
    worker_measurer,
    worker_port,
)
from fmas_hw.space import get_space
from fmas_hw.store import Store
from fmas_hw.targets import BoardTarget, SimulatedTarget

from ..fakes import FAKE


def _config(tmp_path: Path, **overrides) -> SearchConfig:
    values = dict(population=6, generations=2, evaluator=FAKE, target="simulated", objectives=("latency",),
                  store=str(tmp_path / "s.sqlite"), input_size=64)
    values.update(overrides)
    return SearchConfig(**values)


def _worker_ids(address: str) -> dict[str, str]:
    """``host:pid`` (what tasks record) of every worker of the cluster, by the resource it declares."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        pids = client.run(os.getpid)
        declared = worker_resources(client)
    host = socket.gethostname()
    return {f"{host}:{pids[a]}": ",".join(sorted(declared[a])) or "none" for a in pids}


@pytest.fixture(scope="module")
def resource_cluster():
    """A loopback cluster: one worker declaring 'accuracy', two declaring 'measure' (processes)."""
    import distributed  # a pinned dependency: missing must fail, not skip

    def worker(resource: str) -> dict:
        return {"cls": distributed.Nanny, "options": {"nthreads": 1, "resources": {resource: 1}}}

    scheduler = {"cls": distributed.Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": None}}
    workers = {"gpu": worker(ACCURACY), "sim-a": worker(MEASURE), "sim-b": worker(MEASURE)}
    with distributed.SpecCluster(scheduler=scheduler, workers=workers) as cluster:
        with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
            client.wait_for_workers(3, timeout=60)
        yield cluster.scheduler_address


def test_measurements_run_on_the_measure_workers_and_accuracy_on_the_accuracy_worker(resource_cluster, tmp_path,
                                                                                   ahead_reports):
    roles = _worker_ids(resource_cluster)
    result = run(_config(tmp_path, scheduler=resource_cluster))
    with Store.open(result.store_path, writable=False) as store:
        rows = store.evaluations("ok")
    assert rows and all(r.cycles_source == "simulated" for r in rows)
    assert {roles.get(r.worker, "elsewhere") for r in rows} == {ACCURACY}
    measured_on = {r.latency.provenance["worker"] for r in rows}
    assert {roles.get(w, "elsewhere") for w in measured_on} == {MEASURE}
    assert len(measured_on) == 2  # both slots took work: the first run on each builds its measurer
    # The run logs lie where they were measured, and the search's one online model learnt from all.
    assert all(Path(r.latency.provenance["log_path"]).is_file() for r in rows)
    learned = json.loads(Path(str(result.store_path) + STATE_SUFFIX).read_text())
    assert learned["observations"] == len(rows) + ahead_reports[-1].wasted and learned["cache"]


def test_measure_front_measures_on_the_measure_workers_too(resource_cluster, tmp_path):
    from fmas_hw.search.measure.front import is_settled

    roles = _worker_ids(resource_cluster)
    result = run(_config(tmp_path, scheduler=resource_cluster, measure="front", generations=3))
    with Store.open(result.store_path, writable=False) as store:
        rows = store.evaluations("ok")
    measured = [r for r in rows if is_settled(r)]
    assert measured and all(r.cycles_source == "simulated" for r in measured)
    assert {roles.get(r.latency.provenance["worker"], "elsewhere") for r in measured} == {MEASURE}
    assert {roles.get(r.worker, "elsewhere") for r in rows} == {ACCURACY}


def test_a_cluster_without_resources_keeps_measurements_in_the_search_process(tmp_path, caplog):
    import distributed

    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0") as cluster:
        roles = _worker_ids(cluster.scheduler_address)
        with caplog.at_level(logging.INFO, logger="fmas_hw.search"):
            result = run(_config(tmp_path, scheduler=cluster.scheduler_address, measure_workers=2))
    with Store.open(result.store_path, writable=False) as store:
        rows = store.evaluations("ok")
    assert rows and {roles.get(r.worker, "elsewhere") for r in rows} == {"none"}  # accuracy still on the cluster
    here = f"{socket.gethostname()}:{os.getpid()}"
    assert {r.latency.provenance["worker"] for r in rows} == {here}
    said = [r.getMessage() for r in caplog.records if f"no worker declares {MEASURE!r}" in r.getMessage()]
    assert len(said) == 1 and "2 local measurement worker(s)" in said[0]
    assert f'--resources "{MEASURE}=1"' in said[0]


def test_measure_workers_without_an_accuracy_worker_say_where_accuracy_may_run(tmp_path, caplog):
    import distributed

    from fmas_hw.search.backends import DaskBackend
    from fmas_hw.search.executors.threads import ThreadExecutor
    from fmas_hw.search.measure.measure_all import measurement_source

    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=":0", resources={MEASURE: 1}) as cluster:
        with caplog.at_level(logging.INFO, logger="fmas_hw.search"):
            backend = DaskBackend(_config(tmp_path), cluster.scheduler_address)
            try:
                assert backend.slots(MEASURE) == 1 and backend.slots(ACCURACY) == 0
                # --port names boards of the search host: their measurements stay here
                boards = SearchConfig(target="board", objectives=("latency",), ports=("/dev/ttyUSB0",),
                                      store=str(tmp_path / "b.sqlite"))
                source = measurement_source(boards, BoardTarget(), backend)
                assert isinstance(source.executor, ThreadExecutor)
                source.close()
            finally:
                backend.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum(f"no worker declares {ACCURACY!r}" in m for m in messages) == 1
    assert any("--port names boards of this host (/dev/ttyUSB0)" in m for m in messages)


def test_a_failed_run_on_a_measure_worker_reaches_the_search_as_that_candidates_error(tmp_path):
    import distributed

    from fmas_hw.search.backends import DaskBackend
    from fmas_hw.search.measure.dask_pool import dask_measurements

    blocker = tmp_path / "a-file"
    blocker.write_text("")  # the projects cannot be written under a file
    config = _config(tmp_path, store=str(blocker / "s.sqlite")).resolved()
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=":0", resources={MEASURE: 1}) as cluster:
        backend = DaskBackend(config, cluster.scheduler_address)
        source = dask_measurements(backend.client, config, SimulatedTarget(), backend.slots(MEASURE))
        try:
            error = source.submit(get_space("mobilenetv2").supernet()).exception(timeout=60)
        finally:
            source.close()
            backend.close()
    assert isinstance(error, OSError) and "a-file" in str(error)


def test_a_measurement_made_ahead_on_the_cluster_is_the_one_the_search_then_takes(resource_cluster, tmp_path):
    from distributed import Client

    from fmas_hw.search.measure.dask_pool import dask_measurements

    config = _config(tmp_path, scheduler=resource_cluster).resolved()
    roles = _worker_ids(resource_cluster)
    arch = get_space("mobilenetv2").supernet()
    with Client(resource_cluster, set_as_default=False) as client:
        source = dask_measurements(client, config, SimulatedTarget(), slots=2)
        try:
            ahead = source.submit(arch, ahead=True)
            assert source.submit(arch, ahead=True) is ahead and source.submit(arch) is ahead
            run_ = ahead.result(60)
        finally:
            source.close()
    assert run_.measurement.source == "simulated" and roles.get(run_.worker) == MEASURE
    assert source.ahead.counts() == {"made": 1, "used": 1, "cancelled": 0, "wasted": 0}


def test_a_measure_task_returns_the_run_its_worker_and_what_the_estimate_learns(tmp_path):
    config = _config(tmp_path).resolved()
    arch = get_space("mobilenetv2").supernet()
    data = measure_task(config.to_dict(), SimulatedTarget(), arch.to_dict())
    run_ = MeasuredRun.from_dict(json.loads(json.dumps(data)))  # plain data, all the way
    assert run_.measurement.source == "simulated" and run_.measurement.estimated
    assert run_.worker == f"{socket.gethostname()}:{os.getpid()}" and run_.seconds > 0
    assert run_.unlearnable is None and len(run_.records) == len(run_.measurement.per_layer)
    assert sum(r.cycles for r in run_.records) == run_.measurement.total_cycles
    assert all(r.features.extra.get("in_shape") for r in run_.records)  # the cache keys on the geometry
    assert MeasuredRun.from_dict(run_.to_dict()) == run_


def test_a_worker_keeps_one_measurer_per_search(tmp_path):
    first = _config(tmp_path).resolved()
    target = SimulatedTarget()
    assert worker_measurer(first, target) is worker_measurer(first, target)
    other_store = first.merge({"store": str(tmp_path / "other.sqlite")})
    assert worker_measurer(other_store, target) is not worker_measurer(first, target)  # same digest, other projects


def test_a_measurement_worker_takes_its_board_port_from_its_environment(monkeypatch):
    monkeypatch.setenv("FMAS_BOARD_PORT", "/dev/ttyUSB3")
    assert worker_port(BoardTarget()) == "/dev/ttyUSB3"
    assert worker_port(SimulatedTarget()) is None
    monkeypatch.delenv("FMAS_BOARD_PORT")
    assert worker_port(BoardTarget()) is None
