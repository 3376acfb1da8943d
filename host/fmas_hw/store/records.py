"""The rows of a search store: one evaluated candidate, one generation of the search.

:class:`Evaluation` is what scoring one candidate gave (status, accuracy, costs, latency, GAP8 fit,
seconds): the worker's answer, sent between processes as its ``to_dict`` form.
:class:`EvaluationRecord` is an evaluation with the candidate's identity, as the store keeps it
(columns: :mod:`.evaluation_rows`). Plain frozen values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Self

from ..errors import StoreError
from .latency import Gap8Fit, Latency


class Status(StrEnum):
    """What became of a candidate: scored, failed (the evaluator or its measurement raised), or
    rejected by a cheap constraint before its accuracy was paid for. Stored as its value."""

    OK = "ok"
    FAILED = "failed"
    REJECTED = "rejected"

    @classmethod
    def of(cls, value: str) -> Status:
        """The status ``value`` names.

        Raises:
            StoreError: no status has that name.
        """
        try:
            return cls(value)
        except ValueError:
            raise StoreError(f"unknown evaluation status {value!r}: expected one of "
                             f"{tuple(s.value for s in cls)}") from None


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """What scoring one candidate gave.

    Attributes:
        status: ok, failed (the evaluator or its measurement raised) or rejected (a cheap
            constraint, before its accuracy was paid for).
        reason: why it failed or was rejected.
        error: 1 - mIoU on the validation subset; None unless 'ok'.
        flops / params: the cheap costs, None where not known (a candidate that failed first).
        latency: the GAP8 cycles, None where not scored.
        fit: the GAP8 memory verdict, None where not asked for.
        accuracy_seconds / latency_seconds: device seconds spent on the accuracy and the cycles.
        extra: what a user's evaluator adds (JSON values).
        worker: ``host:pid`` of the process that scored it.
    """

    status: Status
    reason: str | None = None
    error: float | None = None
    flops: int | None = None
    params: int | None = None
    latency: Latency | None = None
    fit: Gap8Fit | None = None
    accuracy_seconds: float = 0.0
    latency_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    worker: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status.of(self.status))

    @property
    def cycles(self) -> int | None:
        """GAP8 cycles, None when not scored."""
        return None if self.latency is None else self.latency.cycles

    @property
    def cycles_source(self) -> str | None:
        """The target the cycles come from, None when not scored."""
        return None if self.latency is None else self.latency.source

    @property
    def fits_gap8(self) -> bool | None:
        """The memory verdict: True, False, or None when unknown or not asked for."""
        return None if self.fit is None else self.fit.fits

    @property
    def device_seconds(self) -> float:
        """Accuracy plus latency seconds (GPU and GAP8 time, whether overlapped or not)."""
        return self.accuracy_seconds + self.latency_seconds

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "latency": Latency.from_dict(data.get("latency")),
                      "fit": Gap8Fit.from_dict(data.get("fit"))})


@dataclass(frozen=True, kw_only=True)
class EvaluationRecord(Evaluation):
    """One row of ``evaluations``: an :class:`Evaluation` of the candidate ``arch_key`` under the
    evaluation settings ``settings_digest``, first asked for in ``generation``."""

    arch_key: str
    settings_digest: str
    genome: str
    arch: dict[str, Any]
    generation: int | None = None
    created: float = 0.0

    @classmethod
    def of(cls, evaluation: Evaluation, **identity: Any) -> EvaluationRecord:
        """The row of ``evaluation`` for the candidate ``identity`` names (``arch_key``,
        ``settings_digest``, ``genome``, ``arch``, ``generation``)."""
        return cls(**{f.name: getattr(evaluation, f.name) for f in fields(Evaluation)}, **identity)


@dataclass(frozen=True)
class GenerationRecord:
    """One row of ``generations``.

    Attributes:
        gen: generation index, 0 = the initial population.
        asked: [genome, key] of every candidate the GA asked for in this generation.
        population: [genome, key] of the population after survival.
        front: keys of the feasible non-dominated members of ``population`` (the GA's working
            set: the search's own front is that of every evaluation, see :mod:`.front`).
        hypervolume: of ``front`` in normalised objective space (see the search runner).
        n_evaluated / n_hits / n_failed: misses evaluated, store hits, failed or rejected.
        accuracy_seconds / latency_seconds / device_seconds: spent on candidates first asked for
            in this generation (whichever run evaluated them).
        cumulative_seconds: device seconds of generations 0..gen.
        wall_seconds: wall-clock time of the generation in the run that finished it.
        rng_digest: digest of the GA's random state after the generation.
    """

    gen: int
    asked: list[list[str]]
    population: list[list[str]]
    front: list[str]
    hypervolume: float
    n_evaluated: int
    n_hits: int
    n_failed: int
    accuracy_seconds: float
    latency_seconds: float
    device_seconds: float
    cumulative_seconds: float
    wall_seconds: float
    rng_digest: str
    created: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)
