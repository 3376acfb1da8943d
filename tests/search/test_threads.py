"""Each local worker gets its share of the cores: the arithmetic, the config key, the CLI option,
and a spawned pool worker that really runs TensorFlow with the share."""

from __future__ import annotations

import os

import pytest

from fmas_hw.cli.search import build_config, search
from fmas_hw.errors import ConfigError
from fmas_hw.search import SearchConfig
from fmas_hw.search import backends as backends_module
from fmas_hw.search.backends import InProcessBackend, ProcessPoolBackend, accuracy_backend
from fmas_hw.search.threads import THREAD_ENV, threads_per_worker, worker_share
from fmas_hw.search.worker import WorkerOrders


@pytest.mark.parametrize(("workers", "cores", "share"), [
    (1, 2, 2), (2, 2, 1), (3, 2, 1), (1, 8, 8), (2, 8, 4), (3, 8, 2),
], ids=lambda v: str(v))
def test_share_is_cores_over_workers_never_zero(workers, cores, share):
    assert threads_per_worker(workers, cores) == share


def test_share_defaults_to_this_process_cores():
    cores = len(os.sched_getaffinity(0))
    assert threads_per_worker(1) == cores and threads_per_worker(cores + 1) == 1


def test_share_refuses_no_workers():
    with pytest.raises(ConfigError, match="at least one worker"):
        threads_per_worker(0, 4)


def test_worker_share_given_automatic_or_left_to_tensorflow():
    assert worker_share(4, given=3) == 3 and worker_share(1, given=2) == 2
    assert worker_share(2) == threads_per_worker(2)
    assert worker_share(1) is None


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True], ids=repr)
def test_config_rejects_bad_thread_counts(value):
    with pytest.raises(ConfigError, match="threads_per_worker must be an integer >= 1"):
        SearchConfig(threads_per_worker=value)


def test_thread_share_leaves_the_digest_alone():
    auto = SearchConfig(workers=2)
    given = auto.merge({"threads_per_worker": 3})
    assert given.threads_per_worker == 3
    assert given.digest == auto.digest and "threads_per_worker" not in given.identity()
    assert SearchConfig.from_dict(given.to_dict()) == given


def test_cli_option_reaches_the_config():
    ctx = search.make_context("search", ["--workers", "2", "--threads-per-worker", "3"])
    options = {k: v for k, v in ctx.params.items() if k not in ("config_file", "resume", "progress", "as_json")}
    config = build_config(options, None, None)
    assert config.workers == 2 and config.threads_per_worker == 3


def test_cli_refuses_zero_threads():
    from click.testing import CliRunner

    result = CliRunner(mix_stderr=False).invoke(search, ["--threads-per-worker", "0"])
    assert result.exit_code == 2 and "--threads-per-worker" in result.stderr


@pytest.fixture
def limits(monkeypatch) -> list[int]:
    """The thread counts the backends ask the search process to be held to (not applied)."""
    calls: list[int] = []
    monkeypatch.setattr(backends_module, "limit_threads", lambda threads: calls.append(threads) or True)
    return calls


def test_one_in_process_worker_leaves_tensorflow_alone(make_config, limits):
    assert accuracy_backend(make_config(), WorkerOrders()).threads is None  # type: ignore[attr-defined]
    assert limits == []


def test_one_in_process_worker_takes_a_given_share(make_config, limits):
    backend = accuracy_backend(make_config(threads_per_worker=2), WorkerOrders())
    assert isinstance(backend, InProcessBackend) and backend.threads == 2 and limits == [2]


def test_resume_takes_the_share_afresh(make_config, limits):
    from fmas_hw.search import run, stored_config

    first = make_config("shared", generations=2, threads_per_worker=3)
    run(first)
    assert stored_config(first.store).threads_per_worker is None  # fitted to the host it ran on
    resumed = run(first.merge({"generations": 3, "threads_per_worker": 1}), resume=first.store)
    assert resumed.evaluations > 0 and limits == [3, 1]


def test_pool_shares_the_cores_by_default(make_config):
    backend = ProcessPoolBackend(make_config(workers=2), WorkerOrders(), 2)  # no task yet: no process started
    try:
        assert backend.threads == threads_per_worker(2)
    finally:
        backend.close()


def report_threads() -> dict[str, object]:
    """Runs in a pool worker: the TensorFlow pools and environment it runs with."""
    import tensorflow as tf

    from fmas_hw.search import worker

    return {"intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
            "env": {name: os.environ.get(name) for name in THREAD_ENV},
            "warm": bool(worker._EVALUATORS), "pid": os.getpid()}


def change_share_after_start(threads: int) -> tuple[bool, bool, int]:
    """Runs in a pool worker: start TensorFlow, then ask for another share and for the same."""
    import tensorflow as tf

    from fmas_hw.search.threads import limit_threads

    tf.constant(1.0) + 1.0  # starts TensorFlow's context: its pools are now fixed
    other, same = limit_threads(threads + 1), limit_threads(threads)
    return other, same, tf.config.threading.get_intra_op_parallelism_threads()


def test_spawned_pool_worker_runs_with_its_share(make_config):
    backend = ProcessPoolBackend(make_config(workers=2, threads_per_worker=3), WorkerOrders(), 1)
    try:
        pool = backend.executor  # the backend's own processes, started with their initializer
        seen = pool.submit(report_threads, ()).result(timeout=300)
        assert seen["pid"] != os.getpid() and seen["warm"]  # the share came first, then the evaluator
        assert (seen["intra"], seen["inter"]) == (3, 3)
        assert seen["env"] == dict.fromkeys(THREAD_ENV, "3")
        # Once TensorFlow runs, its pools stay: another share is refused (False), the same is kept.
        assert pool.submit(change_share_after_start, (3,)).result(timeout=300) == (False, True, 3)
    finally:
        backend.close()
