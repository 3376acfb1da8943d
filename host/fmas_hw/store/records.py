"""The rows of a search store: one evaluated candidate, one generation of the search.

Plain frozen values: :class:`~.search.Store` maps them to and from its tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import StoreError


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


@dataclass(frozen=True)
class EvaluationRecord:
    """One row of ``evaluations``: what the store knows about one candidate.

    ``error`` is None for 'failed' and 'rejected' rows; costs are None where not measured.
    """

    arch_key: str
    settings_digest: str
    genome: str
    arch: dict[str, Any]
    status: Status
    reason: str | None = None
    error: float | None = None
    flops: int | None = None
    params: int | None = None
    cycles: int | None = None
    cycles_source: str | None = None
    accuracy_seconds: float = 0.0
    latency_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    generation: int | None = None
    worker: str | None = None
    created: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status.of(self.status))

    @property
    def device_seconds(self) -> float:
        """Accuracy plus latency seconds (GPU and GAP8 time, whether overlapped or not)."""
        return self.accuracy_seconds + self.latency_seconds

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)


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
