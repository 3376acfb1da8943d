"""Parallel evaluation gives the same search: local worker processes and a real Dask cluster
(on loopback), each worker building its evaluator once."""

from __future__ import annotations

from collections import Counter

import pytest

from fmas_hw.search import run

from .fakes import read_log

SLOW = "tests.search.fakes:build_slow_evaluator"


@pytest.fixture
def quick_sleeps(monkeypatch):
    """Short sleeps: enough for work to spread over both workers, cheap for the suite."""
    monkeypatch.setenv("FMAS_FAKE_ACC_S", "0.05")
    monkeypatch.setenv("FMAS_FAKE_LAT_S", "0.02")


def _check_one_build_per_worker(log) -> None:
    lines = read_log(log)
    builds = Counter(words[-1] for words in lines if words[0] == "build")
    users = {words[-1] for words in lines if words[0] == "accuracy"}
    assert builds and set(builds.values()) == {1}, builds
    assert users <= set(builds) and len(users) >= 1


def test_two_local_workers_same_front(make_config, fake_log, quick_sleeps):
    serial = run(make_config("serial"))
    fake_log.unlink(missing_ok=True)
    parallel = run(make_config("parallel", workers=2, evaluator=SLOW))
    assert parallel.front == serial.front and parallel.hypervolume == serial.hypervolume
    assert parallel.evaluations == serial.evaluations
    _check_one_build_per_worker(fake_log)


def test_dask_local_cluster_same_front(make_config, fake_log, quick_sleeps):
    import distributed  # a pinned dependency: missing must fail, not skip
    serial = run(make_config("serial"))
    fake_log.unlink(missing_ok=True)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        clustered = run(make_config("dask", scheduler=cluster.scheduler_address, evaluator=SLOW))
    assert clustered.front == serial.front and clustered.hypervolume == serial.hypervolume
    _check_one_build_per_worker(fake_log)


def test_unreachable_scheduler_is_a_config_error(make_config):
    from fmas_hw.errors import ConfigError
    from fmas_hw.search.backends import DaskBackend

    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        DaskBackend(make_config(), "tcp://127.0.0.1:9", connect_timeout="1s")


def test_evaluator_set_up_error_reaches_the_search_from_a_worker(make_config):
    from fmas_hw.errors import WeightsError

    with pytest.raises(WeightsError, match="weights not found"):
        run(make_config(workers=2, evaluator="tests.search.fakes:build_broken_evaluator"))
