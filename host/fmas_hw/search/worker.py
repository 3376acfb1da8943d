"""What runs on a worker: score one candidate, never raising for a candidate's own failure.

:func:`run_task` is a plain module-level function of plain arguments, so the same code runs
in-process, in a spawned local worker process and on a Dask worker. Each worker process builds
its evaluator once (loading the supernet and the validation subset is the expensive part) and
keeps it, keyed by the search-config digest, for every later candidate. What the worker does
about a candidate's cycles comes with each task (:class:`WorkerOrders`), as the search's
measurement strategy (:mod:`.measure`) decided it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError
from ..model.device import set_gpu_slot
from ..space import Arch, arch_from_dict
from ..store import Evaluation, Status
from ..targets.base import Target
from .config import SearchConfig
from .constraints import precheck
from .evaluation import CandidateEvaluator, evaluate_candidate, make_evaluator
from .threads import limit_threads

#: The evaluator of this process, keyed by config digest and latency target. One slot only: an
#: evaluator holds a supernet and a data subset, so a notebook running several searches keeps
#: just the latest.
_EVALUATORS: dict[tuple[str, str], CandidateEvaluator] = {}


@dataclass(frozen=True)
class WorkerOrders:
    """What an accuracy worker does about a candidate's GAP8 cycles.

    Sent with each task as it is (a target pickles: its settings, its cycle model).

    Attributes:
        latency_target: the target the worker scores the cycles with, next to the accuracy (one
            that needs no project); None: it does not (they are measured elsewhere, or not at all).
        measured: the candidate's cycles are measured, here or elsewhere, so its GAP8 memory fit
            is recorded with them.
    """

    latency_target: Target | None = None
    measured: bool = False
    #: What an evaluator built for these orders depends on: the latency target's identity (read
    #: once, where the orders are made, not per task: an identity may hash a file).
    key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", "" if self.latency_target is None else self.latency_target.identity())


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def get_evaluator(config: SearchConfig, orders: WorkerOrders) -> CandidateEvaluator:
    """This process's evaluator for ``config``, built on first use; it scores latency with the
    orders' target (none: it scores none)."""
    key = (config.digest, orders.key)
    if key not in _EVALUATORS:
        _EVALUATORS.clear()
        _EVALUATORS[key] = make_evaluator(config, orders.latency_target)
    return _EVALUATORS[key]


def start_worker(config_data: dict[str, Any], orders: WorkerOrders, threads: int | None,
                 parent: int | None = None, slots: Any = None) -> None:
    """Process-pool initializer: leave with the search, hold the process to its thread share and
    its GPU, then build the evaluator.

    The share and the GPU come first: TensorFlow fixes its thread pools and devices when the
    evaluator first runs it.

    Args:
        config_data: ``SearchConfig.to_dict()``.
        orders: the :class:`WorkerOrders` of the search's tasks.
        threads: this worker's threads (:func:`fmas_hw.search.threads.worker_share`); None leaves
            TensorFlow's own choice (every core).
        parent: pid of the search process (see :func:`exit_with_parent`); None: not watched.
        slots: a shared counter (``multiprocessing.Value``) numbering the pool's workers as they
            start, so that worker *i* takes GPU *i* (:func:`fmas_hw.model.device.set_gpu_slot`).
    """
    if parent is not None:
        exit_with_parent(parent)
    if threads is not None:
        limit_threads(threads)
    if slots is not None:
        with slots.get_lock():
            set_gpu_slot(slots.value)
            slots.value += 1
    warm_worker(config_data, orders)


#: Seconds between two looks at whether the search process is still there.
PARENT_POLL_S = 0.5


def exit_with_parent(parent: int, poll_s: float = PARENT_POLL_S) -> threading.Thread:
    """Exit this worker process once ``parent`` is gone (e.g. ``kill -9`` of the search).

    A killed search cannot shut its pool down, and an idle worker blocks reading its task queue
    for good, keeping the multiprocessing resource tracker alive too. A daemon thread compares
    the parent pid (a dead parent's children are re-parented) and ends the process at once; it
    runs beside the evaluator's TensorFlow work, which releases the GIL.
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)  # no cleanup to wait for: the search that would collect the result is gone

    watcher = threading.Thread(target=watch, name="fmas-parent-watch", daemon=True)
    watcher.start()
    return watcher


def warm_worker(config_data: dict[str, Any], orders: WorkerOrders) -> None:
    """Process-pool initializer: build the evaluator before the first task arrives.

    Errors are swallowed here on purpose: the first :func:`run_task` builds it again and its
    exception then reaches the search with a clear message instead of a broken pool.
    """
    try:
        get_evaluator(SearchConfig.from_dict(config_data), orders)
    except Exception:  # noqa: BLE001 - reported by run_task
        pass


def run_task(config_data: dict[str, Any], arch_data: dict[str, Any], reference: bool,
             orders: WorkerOrders) -> dict[str, Any]:
    """Score one candidate on this worker.

    Args:
        config_data: ``SearchConfig.to_dict()``.
        arch_data: ``Arch.to_dict()`` of the candidate.
        reference: the candidate is the supernet: always evaluate it fully (it normalises the
            objectives), even if a cheap constraint would reject it.
        orders: what to do about its cycles.

    Returns:
        ``Evaluation.to_dict()``.

    Raises:
        FmasError: the evaluator cannot be built (a set-up problem that stops the search).
    """
    config = SearchConfig.from_dict(config_data)
    evaluator = get_evaluator(config, orders)
    outcome = score(evaluator, config, arch_from_dict(config.backbone, arch_data), reference, orders)
    return replace(outcome, worker=worker_id()).to_dict()


def score(evaluator: CandidateEvaluator, config: SearchConfig, arch: Arch, reference: bool = False,
          orders: WorkerOrders | None = None) -> Evaluation:
    """Costs, cheap constraints, then accuracy and, as ``orders`` say (default: none), latency;
    a candidate's exception -> 'failed'.

    Raises:
        ConfigError: a constraint hook is missing (a set-up problem, not the candidate's).
    """
    orders = orders or WorkerOrders()
    costs: dict[str, int] | None = None
    try:
        costs = {k: int(v) for k, v in evaluator.costs(arch).items()}
        reason, fit = precheck(config, arch, costs, record_fit=orders.measured)
        if reason and not reference:
            return Evaluation(status=Status.REJECTED, reason=reason, fit=fit, flops=costs["flops"],
                              params=costs["params"])
        result = evaluate_candidate(evaluator, arch, orders.latency_target is not None, config.overlap,
                                    costs=costs)
        return replace(result, fit=fit)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - one candidate's failure must not stop the search
        known = costs or {}
        return Evaluation(status=Status.FAILED, reason=describe_failure(exc), flops=known.get("flops"),
                          params=known.get("params"))


def describe_failure(exc: BaseException) -> str:
    """``Type: message`` plus the innermost frame, enough to reproduce the failure by hand."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
