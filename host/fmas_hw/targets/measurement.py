"""What a target returns: the cycles of one inference, per layer and in total, labelled with
where they come from (:attr:`Measurement.label`): an estimate is never presented as a
measurement. Plain values that travel between processes (:meth:`Measurement.to_dict`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import MeasurementError

#: Version of the :meth:`Measurement.to_dict` layout; bumped on an incompatible change.
MEASUREMENT_SCHEMA = 1


def figure_label(estimated: bool, source: str) -> str:
    """What a cycle figure is, in the words every output uses: ``"measured (gvsoc)"``,
    ``"estimated (estimate)"``..."""
    return f"{'estimated' if estimated else 'measured'} ({source})"


@dataclass(frozen=True)
class LayerCycles:
    """Cluster cycles (and operations, when known) of one layer / AutoTiler graph node.

    Attributes:
        name: node name as the firmware reports it (AutoTiler ``S<n>_<op>_<shape>``).
        cycles: cluster-clock cycles spent in the node.
        operations: operations AutoTiler counts for the node, ``None`` when not reported.
    """

    name: str
    cycles: int
    operations: int | None = None

    @property
    def ops_per_cycle(self) -> float | None:
        """Operations per cycle, ``None`` when operations are unknown or cycles are zero."""
        if self.operations is None or self.cycles <= 0:
            return None
        return self.operations / self.cycles

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerCycles:
        """Inverse of :meth:`to_dict`."""
        ops = data.get("operations")
        return cls(str(data["name"]), int(data["cycles"]), None if ops is None else int(ops))


@dataclass(frozen=True)
class Measurement:
    """The cycle count of one candidate on one target.

    Attributes:
        total_cycles: cluster-clock cycles of one inference.
        per_layer: per-node cycles, in execution order (may be empty for a whole-network figure).
        cluster_freq_hz: cluster clock used to turn cycles into time.
        source: the name of the target that produced it (``"estimate"``, ``"gvsoc"``, ``"board"``,
            ``"simulated"``).
        estimated: True when the figures come from a model, not from running the firmware.
        tool_versions: versions of the tools involved (SDK tag, AutoTiler, protocol, model...).
        log_path: the kept log of the build/run, when there is one.
        checksum: checksum of the network output the firmware reported, when it did.
        expected_checksum: the checksum the project expects for its test input
            (``model/expected.json``, from the host's int8 reference), when it records one.

    Whether ``source`` and ``estimated`` agree with the target that produced it is checked where
    figures enter a search or a command (:meth:`Target.checked
    <fmas_hw.targets.base.Target.checked>`); a store takes only its search's target's figures.

    Raises:
        MeasurementError: on construction, for an empty source, negative cycles or a non-positive
            clock.
    """

    total_cycles: int
    per_layer: list[LayerCycles]
    cluster_freq_hz: int
    source: str
    estimated: bool
    tool_versions: dict[str, str] = field(default_factory=dict)
    log_path: str | None = None
    checksum: int | None = None
    expected_checksum: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise MeasurementError(f"a measurement names the target it comes from, got source={self.source!r}")
        if self.total_cycles < 0:
            raise MeasurementError(f"total_cycles must be >= 0, got {self.total_cycles}")
        if self.cluster_freq_hz <= 0:
            raise MeasurementError(f"cluster_freq_hz must be > 0, got {self.cluster_freq_hz}")

    @property
    def output_ok(self) -> bool | None:
        """Whether the reported output checksum equals the expected one (None: nothing to compare).

        A mismatch means the firmware computed another output than the host's int8 reference
        (wrong constants, a kernel outside its assumptions, a memory overlap): its cycles are
        still measured, but the network did not compute what was exported.
        """
        if self.checksum is None or self.expected_checksum is None:
            return None
        return self.checksum == self.expected_checksum

    @property
    def latency_ms(self) -> float:
        """Latency of one inference in milliseconds at :attr:`cluster_freq_hz`."""
        return self.total_cycles * 1000.0 / self.cluster_freq_hz

    @property
    def label(self) -> str:
        """``"estimated (estimate)"``, ``"estimated (simulated)"`` or ``"measured (gvsoc)"`` /
        ``"measured (board)"``."""
        return figure_label(self.estimated, self.source)

    @property
    def total_operations(self) -> int | None:
        """Sum of the per-layer operations, ``None`` unless every layer reports them."""
        if not self.per_layer or any(layer.operations is None for layer in self.per_layer):
            return None
        return sum(int(layer.operations or 0) for layer in self.per_layer)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (round-trips through :meth:`from_dict`)."""
        return {
            "schema": MEASUREMENT_SCHEMA,
            "total_cycles": self.total_cycles,
            "per_layer": [layer.to_dict() for layer in self.per_layer],
            "cluster_freq_hz": self.cluster_freq_hz,
            "source": self.source,
            "estimated": self.estimated,
            "tool_versions": dict(self.tool_versions),
            "log_path": self.log_path,
            "checksum": self.checksum,
            "expected_checksum": self.expected_checksum,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        """Inverse of :meth:`to_dict`.

        Raises:
            MeasurementError: the dict has another schema version or misses a field.
        """
        schema = data.get("schema", MEASUREMENT_SCHEMA)
        if schema != MEASUREMENT_SCHEMA:
            raise MeasurementError(
                f"measurement schema {schema} is not supported (expected {MEASUREMENT_SCHEMA}): "
                "re-measure the candidate with this version of fmas-hw"
            )
        try:
            return cls(
                total_cycles=int(data["total_cycles"]),
                per_layer=[LayerCycles.from_dict(d) for d in data.get("per_layer", [])],
                cluster_freq_hz=int(data["cluster_freq_hz"]),
                source=str(data["source"]),
                estimated=bool(data["estimated"]),
                tool_versions={str(k): str(v) for k, v in data.get("tool_versions", {}).items()},
                log_path=data.get("log_path"),
                checksum=None if data.get("checksum") is None else int(data["checksum"]),
                expected_checksum=(None if data.get("expected_checksum") is None
                                   else int(data["expected_checksum"])),
            )
        except KeyError as exc:
            raise MeasurementError(f"measurement record lacks the field {exc}") from exc
