"""The rows of a search store: one evaluated candidate, one generation of the search.

Plain frozen values: :class:`~.search.Store` maps them to and from its tables
(:mod:`.evaluation_rows`), and they travel between processes as their ``to_dict`` forms. An
evaluation's cycles are one typed :class:`Latency` (figure, source, estimated or measured, the
model that estimated it, the generation the search learnt it from, the estimate it replaced) and
its GAP8 memory verdict one :class:`Gap8Fit`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..errors import StoreError
from ..targets.measurement import Measurement


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
class Latency:
    """The GAP8 cycles of one candidate as the search knows them.

    Attributes:
        cycles: cluster cycles of one inference.
        source: the target that produced them (``"estimate"``, ``"gvsoc"``, ``"board"``...).
        estimated: True when a model produced them, False when the firmware ran.
        provenance: what else the target said: label, tool versions, kept log, output check, and
            the measurement worker.
        model: the online cycle model (``<base>+refit<n>``) that made this estimate, when the
            search refitted it.
        known_from: ``--measure front``: the generation from which the search knew the outcome
            of this candidate's measurement (None: not measured separately).
        failure: ``--measure front``: why that measurement failed (the estimate stays).
        estimate: the estimate a separate measurement replaced.
    """

    cycles: int
    source: str
    estimated: bool
    provenance: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    known_from: int | None = None
    failure: str | None = None
    estimate: Latency | None = None

    @classmethod
    def of(cls, measurement: Measurement, worker: str | None = None) -> Latency:
        """The latency of a target's ``measurement`` (made by ``worker``, when known)."""
        provenance: dict[str, Any] = {"label": measurement.label,
                                      "tool_versions": dict(measurement.tool_versions)}
        if measurement.log_path:
            provenance["log_path"] = measurement.log_path
        if measurement.output_ok is not None:
            provenance["output_ok"] = measurement.output_ok
        if worker is not None:
            provenance["worker"] = worker
        return cls(int(measurement.total_cycles), measurement.source, bool(measurement.estimated), provenance)

    @property
    def label(self) -> str:
        """``"estimated (estimate)"``, ``"measured (gvsoc)"``...: what the figure is."""
        return f"{'estimated' if self.estimated else 'measured'} ({self.source})"

    @property
    def measured_separately(self) -> bool:
        """Whether a separate measurement replaced the estimate (``--measure front``)."""
        return self.known_from is not None and self.failure is None

    def measured_at(self, gen: int, measurement: Latency) -> Latency:
        """``measurement`` replacing this estimate, known from generation ``gen``."""
        return replace(measurement, known_from=gen, estimate=self)

    def failed_at(self, gen: int, reason: str) -> Latency:
        """This estimate, kept after its measurement failed at generation ``gen``."""
        return replace(self, known_from=gen, failure=reason)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Latency | None:
        """Inverse of :meth:`to_dict` (None stays None)."""
        if data is None:
            return None
        return cls(**{**data, "estimate": cls.from_dict(data.get("estimate"))})


@dataclass(frozen=True)
class Gap8Fit:
    """Whether a candidate's memory plan fits GAP8.

    Attributes:
        fits: True or False; None when the plan could not be made (``memory`` says why).
        memory: the plan's verdict in words (what overflows, or why the fit is unknown).
    """

    fits: bool | None
    memory: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Gap8Fit | None:
        """Inverse of :meth:`to_dict` (None stays None)."""
        return None if data is None else cls(**data)


@dataclass(frozen=True)
class EvaluationRecord:
    """One row of ``evaluations``: what the store knows about one candidate.

    ``error`` is None for 'failed' and 'rejected' rows; costs are None where not measured;
    ``latency`` is None where no cycles were scored, ``fit`` where the memory plan was not asked
    for; ``extra`` keeps what a user's evaluator adds (JSON values).
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
    latency: Latency | None = None
    fit: Gap8Fit | None = None
    accuracy_seconds: float = 0.0
    latency_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    generation: int | None = None
    worker: str | None = None
    created: float = 0.0

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
    def from_dict(cls, data: dict[str, Any]) -> EvaluationRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "latency": Latency.from_dict(data.get("latency")),
                      "fit": Gap8Fit.from_dict(data.get("fit"))})


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
