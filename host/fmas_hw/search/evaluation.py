"""The narrow interface between the search and whatever scores a candidate.

The search never builds a model or talks to a device itself. It asks a
:class:`CandidateEvaluator` three questions about an architecture — its cheap costs (FLOPs,
parameters), its accuracy on the validation subset (the expensive forward passes) and its GAP8
latency (a measurement target) — and :func:`evaluate_candidate` runs the last two concurrently,
as the paper overlaps GPU evaluation and GAP8 runs.

:func:`make_evaluator` builds the search's evaluator: by default the
:class:`~fmas_hw.search.supernet_evaluator.SupernetEvaluator` (supernet + validation subset +
measurement target); a config whose ``evaluator`` names a factory ``"package.module:callable"``
outside this package (tests' deterministic fakes, a user's own scorer) gets what that factory
returns for the :class:`~fmas_hw.search.config.SearchConfig`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigError
from ..space import Arch
from ..store import Evaluation, Latency, Status
from ..targets.base import Target
from ..targets.measurement import Measurement

if TYPE_CHECKING:
    from .config import SearchConfig


@runtime_checkable
class CandidateEvaluator(Protocol):
    """What the search needs from an evaluator.

    An evaluator is built once per worker process and then called for many candidates, so it
    should hold the supernet, the cached validation subset and the target open between calls.
    Any exception it raises marks that one candidate as failed; the search goes on.
    """

    def costs(self, arch: Arch) -> dict[str, int]:
        """Cheap costs of ``arch``: ``{"flops": int, "params": int}``."""
        ...

    def accuracy(self, arch: Arch) -> tuple[float, float]:
        """Error (1 - mIoU) on the validation subset and the seconds it took."""
        ...

    def latency(self, arch: Arch) -> tuple[Measurement, float]:
        """GAP8 cycles of ``arch`` (with their source and provenance) and the seconds it took."""
        ...


def evaluate_candidate(
    evaluator: CandidateEvaluator, arch: Arch, need_latency: bool, overlap: bool = True,
    costs: dict[str, int] | None = None,
) -> Evaluation:
    """Score one candidate: costs, then accuracy and (if needed) latency.

    Args:
        evaluator: the evaluator.
        arch: the candidate.
        need_latency: measure GAP8 cycles too.
        overlap: run accuracy and latency in two threads at once (the evaluator's accuracy
            typically waits on the accelerator and its latency on a simulator or board, so the
            two overlap well); False runs them one after the other.
        costs: already computed ``evaluator.costs(arch)``, to avoid asking twice.

    Returns:
        The 'ok' :class:`~fmas_hw.store.Evaluation`.

    Raises:
        Exception: whatever the evaluator raises (the caller records the failure).
    """
    costs = costs if costs is not None else evaluator.costs(arch)
    measured: Measurement | None = None
    lat_s = 0.0
    if not need_latency:
        error, acc_s = evaluator.accuracy(arch)
    elif overlap:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fmas-eval") as pool:
            acc = pool.submit(evaluator.accuracy, arch)
            lat = pool.submit(evaluator.latency, arch)
            error, acc_s = acc.result()
            measured, lat_s = lat.result()
    else:
        error, acc_s = evaluator.accuracy(arch)
        measured, lat_s = evaluator.latency(arch)
    return Evaluation(
        status=Status.OK, error=float(error), flops=int(costs["flops"]), params=int(costs["params"]),
        latency=None if measured is None else Latency.of(measured),
        accuracy_seconds=float(acc_s), latency_seconds=float(lat_s),
    )


def resolve_factory(spec: str) -> Callable[..., Any]:
    """Import the callable named by ``"package.module:callable"`` (a plugin outside this package).

    Raises:
        ConfigError: malformed spec, a module of this package, module not importable or
            attribute missing.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"evaluator {spec!r} must be written 'package.module:callable'")
    if module_name.split(".")[0] == __name__.split(".")[0]:
        raise ConfigError(f"evaluator {spec!r}: the built-in evaluator needs no factory; leave "
                          "'evaluator' unset (a factory names a module outside fmas_hw)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"evaluator module {module_name!r} cannot be imported: {exc}") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"evaluator {spec!r}: {module_name} has no callable {attr!r}")
    return factory


def make_evaluator(config: SearchConfig, target: Target | None = None) -> CandidateEvaluator:
    """The evaluator of ``config``: the supernet evaluator (scoring latency on ``target``; None:
    it scores none), or ``factory(config)`` for a config that names a factory in
    ``config.evaluator``.

    Raises:
        ConfigError: the factory cannot be found or returns something without
            ``costs``/``accuracy``/``latency``.
        The errors of :func:`~fmas_hw.search.supernet_evaluator.build_supernet_evaluator`.
    """
    if config.evaluator is None:
        from .supernet_evaluator import build_supernet_evaluator  # TensorFlow: only when searching

        return build_supernet_evaluator(config, target)
    evaluator = resolve_factory(config.evaluator)(config)
    if not isinstance(evaluator, CandidateEvaluator):
        raise ConfigError(
            f"evaluator factory {config.evaluator!r} returned {type(evaluator).__name__}, which "
            "lacks costs(arch), accuracy(arch) or latency(arch)"
        )
    return evaluator
