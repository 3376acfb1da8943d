"""The narrow interface between the search and whatever scores a candidate.

The search never builds a model or talks to a device itself. It asks a
:class:`CandidateEvaluator` three questions about an architecture — its cheap costs (FLOPs,
parameters), its accuracy on the validation subset (the expensive forward passes) and its GAP8
latency (a measurement target) — and :func:`evaluate_candidate` runs the last two concurrently,
as the paper overlaps GPU evaluation and GAP8 runs.

An evaluator is built by a factory named ``"module:callable"`` in the search config
(:func:`make_evaluator`); the factory receives the :class:`~fmas_hw.search.config.SearchConfig`.
The default factory is the real one, ``fmas_hw.eval.candidate:build_evaluator``; tests plug in
deterministic fakes the same way.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigError
from ..space import Arch

if TYPE_CHECKING:
    from .config import SearchConfig

#: Where the cycle count of a candidate came from (SPEC §6.3).
CYCLES_SOURCES = ("estimate", "gvsoc", "board")


@dataclass(frozen=True)
class EvalSettings:
    """Everything besides the architecture that decides a candidate's scores.

    Two evaluations may share a store row only if both the architecture key and
    :attr:`digest` agree.

    Attributes:
        backbone: 'xception' or 'mobilenetv2'.
        data: absolute path of the VOC-format data set, or None.
        val_fraction: leading fraction of ``val.txt`` used for accuracy.
        weights_hash: SHA-256 prefix of the supernet weight file, or None.
        input_size: square input size in pixels.
        target: latency measurement target ('estimate', 'gvsoc', 'board').
        evaluator: the evaluator factory ("module:callable") that produced the numbers.
    """

    backbone: str
    data: str | None
    val_fraction: float
    weights_hash: str | None
    input_size: int
    target: str
    evaluator: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (round-trips through ``EvalSettings(**d)``)."""
        return asdict(self)

    @property
    def digest(self) -> str:
        """16 hex digits identifying these settings (the second half of the store key)."""
        blob = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class CandidateResult:
    """What an evaluator measured for one candidate.

    Attributes:
        error: 1 - mIoU on the validation subset.
        flops: FLOPs (TF-profiler definition), batch 1.
        params: parameter count.
        cycles: GAP8 cycles, or None when latency was not measured.
        cycles_source: 'estimate', 'gvsoc' or 'board', or None.
        accuracy_seconds: device (GPU/CPU) seconds spent on the accuracy evaluation.
        latency_seconds: seconds spent on the latency measurement.
        extra: anything else worth keeping (JSON-serialisable).
    """

    error: float
    flops: int
    params: int
    cycles: int | None = None
    cycles_source: str | None = None
    accuracy_seconds: float = 0.0
    latency_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (numpy scalars converted), for JSON and pickling."""
        return {
            "error": float(self.error),
            "flops": int(self.flops),
            "params": int(self.params),
            "cycles": None if self.cycles is None else int(self.cycles),
            "cycles_source": self.cycles_source,
            "accuracy_seconds": float(self.accuracy_seconds),
            "latency_seconds": float(self.latency_seconds),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateResult:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data[k] for k in data if k in cls.__dataclass_fields__})


@runtime_checkable
class CandidateEvaluator(Protocol):
    """What the search needs from an evaluator (the lead implements the real one).

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

    def latency(self, arch: Arch) -> tuple[int, str, float]:
        """GAP8 cycles, their source ('estimate'/'gvsoc'/'board') and the seconds it took."""
        ...


def evaluate_candidate(
    evaluator: CandidateEvaluator, arch: Arch, need_latency: bool, overlap: bool = True,
    costs: dict[str, int] | None = None,
) -> CandidateResult:
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
        The :class:`CandidateResult`.

    Raises:
        Exception: whatever the evaluator raises (the caller records the failure).
    """
    costs = costs if costs is not None else evaluator.costs(arch)
    if not need_latency:
        error, acc_s = evaluator.accuracy(arch)
        cycles, source, lat_s = None, None, 0.0
    elif overlap:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fmas-eval") as pool:
            acc = pool.submit(evaluator.accuracy, arch)
            lat = pool.submit(evaluator.latency, arch)
            error, acc_s = acc.result()
            cycles, source, lat_s = lat.result()
    else:
        error, acc_s = evaluator.accuracy(arch)
        cycles, source, lat_s = evaluator.latency(arch)
    return CandidateResult(
        error=float(error), flops=int(costs["flops"]), params=int(costs["params"]),
        cycles=None if cycles is None else int(cycles), cycles_source=source,
        accuracy_seconds=float(acc_s), latency_seconds=float(lat_s),
    )


def resolve_factory(spec: str) -> Callable[..., Any]:
    """Import the callable named by ``"package.module:callable"``.

    Raises:
        ConfigError: malformed spec, module not importable or attribute missing.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"evaluator {spec!r} must be written 'package.module:callable'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"evaluator module {module_name!r} cannot be imported: {exc}") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"evaluator {spec!r}: {module_name} has no callable {attr!r}")
    return factory


def make_evaluator(config: SearchConfig) -> CandidateEvaluator:
    """Build the evaluator named by ``config.evaluator``, calling ``factory(config)``.

    Raises:
        ConfigError: the factory cannot be found or returns something without
            ``costs``/``accuracy``/``latency``.
    """
    evaluator = resolve_factory(config.evaluator)(config)
    if not isinstance(evaluator, CandidateEvaluator):
        raise ConfigError(
            f"evaluator factory {config.evaluator!r} returned {type(evaluator).__name__}, which "
            "lacks costs(arch), accuracy(arch) or latency(arch)"
        )
    return evaluator
