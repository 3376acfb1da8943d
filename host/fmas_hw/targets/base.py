"""The measurement-target interface: one narrow API for the estimate, GVSoC and board targets.

A :class:`Target` answers one question, the GAP8 cycles of a candidate network
(:meth:`Target.measure_candidate`), as a :class:`Measurement` (cluster cycles, per layer and in
total). Three implementations share it (SPEC §6.3, registered in :mod:`.registry`): ``estimate``
(analytical cycle model, needs nothing installed), ``gvsoc`` (GAP SDK simulator) and ``board``
(a GAP8 board over UART); a fourth, ``simulated``, stands in for the hardware in tests and
benchmarks only. The targets that measure a project (:attr:`Target.needs_project`: the two
hardware targets and the simulated one) get it from a :class:`ProjectSource`. Every target also
names what decides its figures besides the candidate (:meth:`Target.identity`), so results
measured under another identity are never mixed.

A measurement always says where its figures come from (:attr:`Measurement.label`): an estimate is
never presented as a measurement.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..errors import MeasurementError
from ..gap8.candidate_file import CandidateSpec
from .registry import TargetOptions, target_class, target_names

#: Version of the :meth:`Measurement.to_dict` layout; bumped on an incompatible change.
MEASUREMENT_SCHEMA = 1


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

    Raises:
        MeasurementError: on construction, for an unknown source, negative cycles, a non-positive
            clock, or an estimate that claims to be a measurement.
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
        if self.source not in target_names():
            raise MeasurementError(
                f"unknown measurement source {self.source!r}: expected one of {', '.join(target_names())}"
            )
        if self.total_cycles < 0:
            raise MeasurementError(f"total_cycles must be >= 0, got {self.total_cycles}")
        if self.cluster_freq_hz <= 0:
            raise MeasurementError(f"cluster_freq_hz must be > 0, got {self.cluster_freq_hz}")
        # The one rule that keeps reports honest: the analytical model never passes as hardware.
        if not target_class(self.source).measures_hardware and not self.estimated:
            raise MeasurementError(f"a measurement from the {self.source!r} target must be estimated=True")

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
        kind = "estimated" if self.estimated else "measured"
        return f"{kind} ({self.source})"

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


class ProjectSource(Protocol):
    """Where a target that measures a project gets the GAP8 project of a candidate
    (:class:`fmas_hw.gap8.generated_projects.GeneratedProjects`)."""

    def folder(self, spec: CandidateSpec) -> Path:
        """Where the project of ``spec`` is (or will be) written; nothing is generated."""
        ...

    def project_for(self, spec: CandidateSpec) -> Path:
        """The project folder of ``spec``, generated when needed."""
        ...


class Target(ABC):
    """A place where a candidate network is turned into cycle counts.

    Implementations keep every artefact in the project folder (logs under ``<project>/logs``), so a
    failing candidate can be rebuilt and rerun by hand.

    Attributes:
        name: registry name (``"estimate"``, ``"gvsoc"``, ``"board"``).
        title: how reports name the target (``"estimate"``, ``"GVSoC"``, ``"board"``).
        summary: one line on what the target is, for ``--target``'s help.
        measures_hardware: True when the cycles come from executing the compiled firmware (on the
            GVSoC simulator or on a chip), False for a model's figures (the analytical estimate,
            the simulated target): decides the "measured" / "estimated" label.
        needs_project: True when :meth:`measure_candidate` measures a per-candidate project
            folder (and so needs a :class:`ProjectSource`, a work folder, and time); False for a
            target that answers from the architecture alone, cheaply.
        needs_exclusive_device: True when runs must be serialised on one physical device.
        default_timeout_s: run timeout used when :meth:`run` gets ``timeout_s=None``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str] = ""
    measures_hardware: ClassVar[bool]
    needs_project: ClassVar[bool] = False
    needs_exclusive_device: ClassVar[bool] = False
    default_timeout_s: float = 600.0  # instances may set their own

    @classmethod
    @abstractmethod
    def from_options(cls, options: TargetOptions) -> Target:
        """The target configured by the command-line settings that concern it."""

    @abstractmethod
    def identity(self) -> str:
        """What decides this target's figures besides the candidate, as one string.

        Stored with every search's evaluation settings: a search refuses to resume (and a store
        row is not reused) under another identity, e.g. a recalibrated cycle model or another SDK.
        """

    @abstractmethod
    def measure_candidate(self, spec: CandidateSpec, projects: ProjectSource | None = None,
                          timeout_s: float | None = None) -> Measurement:
        """The cycles of one candidate network (what the search's latency objective asks).

        Args:
            spec: the candidate and its network options.
            projects: where a target that needs a project gets the candidate's GAP8 project.
            timeout_s: limit of one run (see :meth:`run`).

        Raises:
            ConfigError: the target needs ``projects`` and got none.
            AdaptationError: the candidate cannot run on GAP8.
            The errors of :meth:`measure` for a target that needs a project.
        """

    def check_ready(self) -> None:
        """Check, in seconds and before any project is generated, that this target can measure:
        what a search calls before it creates its store, so a missing SDK or board fails the
        command at once instead of after the first candidate's evaluation. A target that needs
        nothing installed (the estimate) is always ready.

        Raises:
            MeasurementError: what is missing (e.g. ``SdkMissingError``, ``DeviceNotFoundError``),
                saying how to get it.
        """
        return None

    def layer_features(self, spec: CandidateSpec) -> list[dict[str, Any]] | None:
        """The cycle model's per-layer features of ``spec`` (what ``fmas-hw calibrate`` joins with
        measured cycles), for a target that computes them; None for the others."""
        return None

    @abstractmethod
    def prepare(self, project_dir: str | Path) -> None:
        """Build the project so that :meth:`run` can execute it.

        Args:
            project_dir: the generated GAP8 project (Makefile, sources, model).

        Raises:
            SdkMissingError: a tool the build needs is not installed.
            BuildError: the build failed; the message names the kept log and shows its tail.
            RunTimeoutError: the build ran past the target's build timeout (process group killed).
        """

    @abstractmethod
    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Execute the prepared project once and return its cycles.

        Args:
            project_dir: a project :meth:`prepare` has built.
            timeout_s: wall-clock limit of one execution (a target that retries applies it to
                each attempt); ``None`` uses :attr:`default_timeout_s`.

        Returns:
            The measurement, with ``log_path`` pointing at the kept run log when there is one.

        Raises:
            SdkMissingError: a tool the run needs is not installed.
            RunTimeoutError: the run did not finish within ``timeout_s``.
            DeviceNotFoundError: (board) no board on the configured or auto-detected port.
            ProtocolError: the output has no cycle lines, is inconsistent or reports zero cycles.
            MeasurementError: any other failure of the run (e.g. the firmware reported an error).
        """

    def measure(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Build then run: :meth:`prepare` followed by :meth:`run`.

        Args:
            project_dir: the generated GAP8 project.
            timeout_s: limit for the run step (the build has its own limit).

        Returns:
            The measurement of one inference.

        Raises:
            The union of what :meth:`prepare` and :meth:`run` raise.
        """
        self.prepare(project_dir)
        return self.run(project_dir, timeout_s=timeout_s)
