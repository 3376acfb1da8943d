"""A candidate's GAP8 cycles as the search knows them (:class:`Latency`), and its GAP8 memory
verdict (:class:`Gap8Fit`): the two typed values an evaluation carries besides its accuracy and
costs. Plain frozen values that travel between processes as their ``to_dict`` forms."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..targets.measurement import Measurement, figure_label


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
        return figure_label(self.estimated, self.source)

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
