"""Two pools, one pipeline: accuracy on the accuracy backend, latency on N measurement workers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from fmas_hw.costmodel.online_model import STATE_SUFFIX
from fmas_hw.errors import ConfigError
from fmas_hw.search import SearchConfig, run
from fmas_hw.search.executors.threads import ThreadExecutor
from fmas_hw.search.measure.measurer import Measurer
from fmas_hw.search.measure.pool import local_measurements
from fmas_hw.search.measure.strategy import ALL, INLINE, MeasurementPlan, plan_measurement
from fmas_hw.search.worker import WorkerOrders, worker_id
from fmas_hw.store import Store
from fmas_hw.targets import BoardTarget, EstimateTarget, GvsocTarget

from ...target_double import DoubleTarget
from ..fakes import FAKE


@pytest.fixture
def slowrun() -> DoubleTarget:
    """Runs of 0.15 s whose logs are named but not written (nothing to learn from)."""
    return DoubleTarget("slowrun", seconds=0.15, keeps_log=True)


def _config(tmp_path, **overrides) -> SearchConfig:
    values = dict(population=6, generations=2, evaluator=FAKE, target="slowrun", objectives=("latency",),
                  store=str(tmp_path / "s.sqlite"), input_size=64)
    values.update(overrides)
    return SearchConfig(**values)


def test_measurements_run_on_their_own_workers_and_reach_the_store(slowrun, tmp_path):
    config = _config(tmp_path, measure_workers=3)
    assert plan_measurement(config, slowrun).mode == ALL
    result = run(config, target=slowrun)
    with Store.open(result.store_path, writable=False) as store:
        rows = store.evaluations("ok")
    assert rows and all(r.cycles_source == "slowrun" and r.cycles > 1_000_000 for r in rows)
    assert all(r.latency.provenance["label"] == "estimated (slowrun)" for r in rows)
    assert all(r.latency.provenance["log_path"].endswith("run.log") for r in rows)
    assert {r.latency.provenance["worker"] for r in rows} == {worker_id()}  # threads of this process
    # every run is a stored row or a measurement made ahead for a guess the GA then did not ask
    assert slowrun.calls == len(rows) + result.measured_ahead.get("wasted", 0)
    assert slowrun.peak == 3  # three at once, never more


def test_one_measurement_worker_measures_one_candidate_at_a_time(slowrun, tmp_path):
    run(_config(tmp_path, generations=1), target=slowrun)
    assert slowrun.peak == 1 and slowrun.calls >= 6


def test_a_failed_measurement_fails_that_candidate_only(slowrun, tmp_path):
    slowrun.fail_every = 3
    result = run(_config(tmp_path, measure_workers=2), target=slowrun)
    with Store.open(result.store_path, writable=False) as store:
        failed = store.evaluations("failed")
        ok = store.evaluations("ok")
    assert failed and ok
    assert all("measurement failed" in r.reason and "simulated run failure" in r.reason for r in failed)
    assert all(r.error is not None and r.cycles is None for r in failed)  # the accuracy is kept


def test_a_cheap_target_keeps_latency_next_to_the_accuracy(tmp_path):
    config = SearchConfig(population=6, generations=1, evaluator=FAKE, objectives=("latency",),
                          store=str(tmp_path / "e.sqlite"), input_size=64)
    target = EstimateTarget()
    assert plan_measurement(config, target) == MeasurementPlan(INLINE, WorkerOrders(target, measured=True))


def test_board_ports_give_one_worker_each(tmp_path):
    ports = ("/dev/ttyUSB0", "/dev/ttyUSB1")
    config = SearchConfig(target="board", objectives=("latency",), ports=ports, measure_workers=5,
                          store=str(tmp_path / "b.sqlite"))
    pool = local_measurements(config, BoardTarget())
    try:
        assert pool.workers == 2 and isinstance(pool.executor, ThreadExecutor)
    finally:
        pool.close()
    measurer = Measurer(config, BoardTarget(), config.ports)
    assert sorted(t.settings.port for t in measurer.targets) == list(ports)  # type: ignore[attr-defined]


def test_ports_are_for_a_target_that_runs_on_a_device():
    with pytest.raises(ConfigError, match="ports name the devices"):
        plan_measurement(SearchConfig(target="gvsoc", ports=("/dev/ttyUSB0",)), GvsocTarget())
    with pytest.raises(ConfigError, match="measure_workers must be an integer >= 1"):
        SearchConfig(measure_workers=0)


def test_measurement_settings_may_change_when_resuming(slowrun, tmp_path):
    config = _config(tmp_path, generations=1)
    run(config, target=slowrun)
    run(config.merge({"generations": 2, "measure_workers": 2}), resume=config.store, target=slowrun)
    assert slowrun.peak <= 2


def test_a_search_on_the_simulated_target_runs_the_whole_measurement_path(tmp_path, ahead_reports):
    config = _config(tmp_path, target="simulated", measure_workers=2, generations=2)
    result = run(config)
    with Store.open(result.store_path, writable=False) as store:
        rows = store.evaluations("ok")
    assert rows and all(r.cycles_source == "simulated" for r in rows)
    assert all(r.latency.provenance["label"] == "estimated (simulated)" for r in rows)
    logs = [Path(r.latency.provenance["log_path"]) for r in rows]
    assert all(log.is_file() and log.name.startswith("simulated-") for log in logs)
    learned = json.loads(Path(str(result.store_path) + STATE_SUFFIX).read_text())
    # every run is learnt, those measured ahead for candidates never asked for too
    assert learned["observations"] == len(rows) + ahead_reports[-1].wasted
    assert learned["version"] >= 1 and learned["cache"]


def test_the_pool_starts_the_longest_estimated_measurement_first(tmp_path):
    from fmas_hw.gap8.candidate_file import CandidateSpec
    from fmas_hw.space import get_space

    gated = DoubleTarget("gated", cycles=lambda spec: 1, gate=threading.Event())
    space, rng = get_space("mobilenetv2"), np.random.default_rng(0)
    archs = list({a.key: a for a in (space.decode(space.random_genome(rng)) for _ in range(6))}.values())
    pool = local_measurements(_config(tmp_path, target="gated"), gated)
    try:
        futures = [pool.submit(archs[0])]
        assert gated.started.wait(10)  # the only worker is busy: the others queue
        futures += [pool.submit(arch) for arch in archs[1:]]
        gated.gate.set()
        for future in futures:
            future.result(10)
    finally:
        pool.close()
    first, *queued = gated.measured
    assert first == archs[0].key
    estimate = EstimateTarget()
    cycles = {a.key: estimate.measure_candidate(CandidateSpec(a)).total_cycles for a in archs}
    assert [cycles[k] for k in queued] == sorted((cycles[a.key] for a in archs[1:]), reverse=True)
