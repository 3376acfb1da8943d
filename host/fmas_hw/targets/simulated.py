"""The ``simulated`` target: a stand-in GAP8 for tests and benchmarks only — NOT hardware.

It lets the whole hardware path (a project per candidate, a run log in the firmware's ``FMAS:``
protocol, :func:`~.protocol.parse_log`, ``fmas-hw calibrate --project``) run without the GAP SDK,
and gives benchmarks a "true" latency that the estimate gets wrong in a learnable way. Its
figures come from a model, so they are always labelled estimates (``estimated (simulated)``) and
never pass as measurements.

The "true" cycles of a candidate are the cycle model's per-layer cycles
(:meth:`EstimateTarget.features <.estimate.EstimateTarget.features>` ->
:func:`~fmas_hw.costmodel.cycle_model.network_cycles`) under perturbed constants (:class:`Perturbation`): each
kernel kind's throughput constant is scaled by a factor drawn once from an RNG seeded with
``seed``, uniform in ``[1 - spread, 1 + spread]``, and each layer's cycles by a factor in
``[1 - spread/2, 1 + spread/2]`` derived from a hash of the layer's configuration (kind, shapes,
kernel, stride, dilation, interpolation), so the same layer always gets the same error. A refit
of the cycle model (``fmas-hw calibrate``) can learn the first part, not the second.

The base model is the packaged cycle model unless ``model_file`` names another; unlike the
estimate it ignores ``$FMAS_CYCLE_MODEL`` and ``--cycle-model``, so the truth stays put while the
estimate is recalibrated.

``run`` waits ``delay_s_per_mcycle`` seconds per million simulated cycles (the time a simulator
would take) and keeps ``<project>/logs/simulated-<UTC timestamp>.log``. A project folder that
holds no project yet gets a light one (:func:`~fmas_hw.gap8.kernel_table.write_light_project`:
``candidate.json`` and ``model/layers.json``, no TensorFlow model built); a full project written
by ``fmas-hw export`` works too.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..costmodel.cycle_model import (
    DEFAULT_MODEL_FILE,
    RATIO_PARAMS,
    SECTIONS,
    CycleModel,
    model_identity,
    network_cycles,
)
from ..errors import ConfigError, MeasurementError, RunTimeoutError
from ..gap8.arch_graph import arch_graph
from ..gap8.candidate_file import CandidateSpec, has_candidate, read_candidate
from ..gap8.kernel_table import read_kernel_table, write_light_project
from ..gap8.memory import effective_nodes
from ..resources import hw_file
from ..toolchain.processes import new_log_path
from .base import ProjectSource, ProjectTarget
from .estimate import EstimateTarget
from .measurement import LayerCycles, Measurement
from .options import TargetOptions
from .protocol import PROTOCOL_VERSION, parse_log
from .runner import ProjectRunner

if TYPE_CHECKING:
    from ..gap8.graph import Node

#: The kernel kinds' throughput constants the perturbation scales (the compute rates).
THROUGHPUT_PARAMS = tuple(k for k in SECTIONS["compute"] if k not in RATIO_PARAMS)
#: Run-log stem: ``logs/simulated-<UTC timestamp>.log``.
LOG_STEM = "simulated"
U32 = 1 << 32


@dataclass(frozen=True)
class Perturbation:
    """How the simulated "true" cycles differ from the cycle model's.

    Attributes:
        spread: half-width of the kind factors' range (the layer factors get half of it).
        seed: seed of the kind factors (and part of every layer factor's hash).

    Raises:
        ConfigError: on construction, a spread outside ``[0, 1)``.
    """

    spread: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.spread < 1.0:
            raise ConfigError(f"simulated target: spread must be in [0, 1), got {self.spread}")

    def kind_factors(self) -> dict[str, float]:
        """Factor of each throughput constant, uniform in ``[1 - spread, 1 + spread]``."""
        rng = np.random.default_rng(self.seed)
        draws = rng.uniform(1.0 - self.spread, 1.0 + self.spread, len(THROUGHPUT_PARAMS))
        return {name: float(f) for name, f in zip(THROUGHPUT_PARAMS, draws, strict=True)}

    def model(self, base: CycleModel) -> CycleModel:
        """``base`` with every throughput constant scaled by its kind factor."""
        factors = self.kind_factors()
        return base.with_params(**{k: base.params[k] * f for k, f in factors.items()})

    def layer_factor(self, node: Node) -> float:
        """The layer's own factor, in ``[1 - spread/2, 1 + spread/2]``, from its configuration."""
        config = (self.seed, node.op, node.in_shape, node.out_shape, node.kernel, node.stride,
                  node.dilation, node.interpolation)
        digest = hashlib.sha256(repr(config).encode()).digest()
        unit = int.from_bytes(digest[:8], "little") / float(1 << 64)  # uniform in [0, 1)
        return 1.0 + self.spread * (unit - 0.5)

    def bounds(self) -> tuple[float, float]:
        """The range of a layer's true cycles over the unperturbed model's (both factors)."""
        half = self.spread / 2
        return (1.0 - half) / (1.0 + self.spread), (1.0 + half) / (1.0 - self.spread)


class SimulatedRunner(ProjectRunner):
    """A simulated GAP8 for tests and benchmarks only: runs a project on the perturbed cycle model.

    Args:
        spread: how far the truth strays from the cycle model (:class:`Perturbation`).
        seed: which perturbation.
        delay_s_per_mcycle: seconds :meth:`run` waits per million simulated cycles.
        model_file: the unperturbed cycle model; default the packaged one (never
            ``$FMAS_CYCLE_MODEL``).
        cluster_freq_hz: clock used for the latency; default from ``hw/gap8.toml``.

    The candidate's input size is its own (:attr:`CandidateSpec.input_size
    <fmas_hw.gap8.candidate_file.CandidateSpec.input_size>`, 384 on GAP8).

    Raises:
        ConfigError: a spread outside ``[0, 1)``, a negative delay, or an unreadable model file.
    """

    name: ClassVar[str] = "simulated"
    title: ClassVar[str] = "simulated GAP8"

    def __init__(self, spread: float = 0.25, seed: int = 0, delay_s_per_mcycle: float = 0.0,
                 model_file: str | Path | None = None, cluster_freq_hz: int | None = None) -> None:
        if delay_s_per_mcycle < 0:
            raise ConfigError(f"simulated target: delay_s_per_mcycle must be >= 0, got {delay_s_per_mcycle}")
        self.perturbation = Perturbation(float(spread), int(seed))
        self.delay_s_per_mcycle = float(delay_s_per_mcycle)
        self.model_file = Path(model_file) if model_file else hw_file(DEFAULT_MODEL_FILE)
        self.estimate = EstimateTarget(self.model_file, cluster_freq_hz=cluster_freq_hz)
        self.truth: CycleModel = self.perturbation.model(self.estimate.model)
        self.cluster_freq_hz = self.estimate.cluster_freq_hz

    def tool_versions(self) -> dict[str, str]:
        """What the figures come from: the simulator, its perturbation and the base model."""
        p = self.perturbation
        return {"simulator": "fmas_hw.targets.simulated (no hardware)", "spread": f"{p.spread:g}",
                "seed": str(p.seed), "delay_s_per_mcycle": f"{self.delay_s_per_mcycle:g}",
                "cycle_model": self.truth.name, "cycle_model_file": model_identity(self.model_file)}

    # -- the truth ---------------------------------------------------------------------------------

    def node_cycles(self, spec: CandidateSpec) -> dict[str, tuple[int, int]]:
        """Simulated ``(cycles, operations)`` of every graph node of ``spec``, by node name
        (0 cycles for nodes that run no kernel).

        Raises:
            AdaptationError: the candidate cannot run on GAP8.
        """
        features, _ = self.estimate.features(spec.arch, spec.classes, spec.alpha, spec.input_size)
        nodes = effective_nodes(arch_graph(spec.arch, spec.classes, spec.alpha, spec.input_size))
        base = network_cycles(features, self.truth)
        return {node.name: (round(cycles * self.perturbation.layer_factor(node)), f.ops)
                for node, f, (_, cycles) in zip(nodes, features, base, strict=True)}

    def true_cycles(self, spec: CandidateSpec) -> int:
        """The simulated "true" total cycles of ``spec`` (no delay, no files): what a benchmark
        scores a front with.

        Raises:
            AdaptationError: the candidate cannot run on GAP8.
        """
        return sum(cycles for cycles, _ in self.node_cycles(spec).values())

    def kernel_cycles(self, project_dir: str | Path) -> list[LayerCycles]:
        """Simulated cycles of every kernel of a project, in its ``model/layers.json`` order.

        A kernel takes the cycles of the graph nodes it computes (a resize with a merged crop:
        the resize's).

        Raises:
            MeasurementError: ``candidate.json`` or ``model/layers.json`` is missing or
                unreadable, or names nodes that are not the candidate's.
        """
        spec = read_candidate(project_dir).spec
        nodes = self.node_cycles(spec)
        layers = []
        for name, row in read_kernel_table(project_dir).items():
            unknown = [n for n in row["ir"] if n not in nodes]
            if unknown:
                raise MeasurementError(f"{project_dir}/model/layers.json: kernel {name} computes "
                                       f"{', '.join(unknown)}, not nodes of {spec.describe()}: "
                                       "regenerate the project")
            layers.append(LayerCycles(name, sum(nodes[n][0] for n in row["ir"]),
                                      sum(nodes[n][1] for n in row["ir"])))
        return layers

    # -- the ProjectRunner interface ----------------------------------------------------------------

    def prepare(self, project_dir: str | Path) -> None:
        """Check that the project describes its candidate and kernels (nothing to build).

        Raises:
            MeasurementError: ``candidate.json`` or ``model/layers.json`` is missing or unreadable.
        """
        read_candidate(project_dir)
        read_kernel_table(project_dir)

    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Simulate one inference: wait, write the run log, parse it back.

        Args:
            project_dir: a project with ``candidate.json`` and ``model/layers.json``.
            timeout_s: wall-clock limit of the wait; ``None`` uses ``default_timeout_s``.

        Returns:
            The simulated cycles, ``source="simulated"``, ``estimated=True``, with the log's path.

        Raises:
            MeasurementError: the project is unreadable (see :meth:`kernel_cycles`).
            RunTimeoutError: the simulated run takes longer than ``timeout_s``.
            ProtocolError: the written log does not parse (a bug of this target).
        """
        layers = self.kernel_cycles(project_dir)
        total = sum(layer.cycles for layer in layers)
        self._wait(total, self.default_timeout_s if timeout_s is None else timeout_s)
        spec = read_candidate(project_dir).spec
        log = new_log_path(project_dir, LOG_STEM)
        log.write_text("\n".join(self.log_lines(spec.arch.key, layers)) + "\n")
        result = parse_log(log)
        versions = {**self.tool_versions(), "output_format": result.output_format,
                    "fmas_protocol": str(result.protocol_version)}
        return Measurement(result.total_cycles, list(result.layers), result.freq_cl_hz or self.cluster_freq_hz,
                           self.name, True, versions, str(log))

    def _wait(self, total_cycles: int, limit_s: float) -> None:
        """Take the time a simulator would: ``delay_s_per_mcycle`` per million cycles.

        Raises:
            RunTimeoutError: that time exceeds ``limit_s`` (after waiting ``limit_s``).
        """
        delay = self.delay_s_per_mcycle * total_cycles / 1e6
        if delay > limit_s:
            time.sleep(limit_s)
            raise RunTimeoutError(f"simulated run of {total_cycles:,} cycles takes {delay:.1f} s at "
                                  f"{self.delay_s_per_mcycle:g} s/Mcycle, over the {limit_s:g} s limit")
        if delay > 0:
            time.sleep(delay)

    def log_lines(self, model: str, layers: list[LayerCycles]) -> list[str]:
        """The run log: a banner, then the lines ``firmware/fmas_protocol.h`` prints for one run
        (BEGIN, one LAYER per kernel, TOTAL with the u32 sums the firmware prints, END status=0;
        no CHECKSUM: nothing computes the network's output)."""
        ops = [int(layer.operations or 0) for layer in layers]
        p = self.perturbation
        lines = [f"fmas-hw simulated GAP8 (not hardware): cycle model {self.truth.name} with "
                 f"spread={p.spread:g}, seed={p.seed}",
                 f"FMAS:BEGIN v={PROTOCOL_VERSION} model={model}"]
        lines += [f"FMAS:LAYER idx={i} name={layer.name} cycles={layer.cycles} ops={op}"
                  for i, (layer, op) in enumerate(zip(layers, ops, strict=True))]
        lines += [f"FMAS:TOTAL cycles={sum(layer.cycles for layer in layers) % U32} ops={sum(ops) % U32} "
                  f"freq_cl={self.cluster_freq_hz}",
                  f"FMAS:END status=0 layers={len(layers)}"]
        return lines


class SimulatedTarget(ProjectTarget):
    """A simulated GAP8 for tests and benchmarks only: cycle-model figures, never hardware.

    Args: those of :class:`SimulatedRunner`.
    """

    name: ClassVar[str] = "simulated"
    title: ClassVar[str] = "simulated GAP8"
    summary: ClassVar[str] = ("a simulated GAP8 for tests and benchmarks only: the cycle model "
                              "under perturbed constants, labelled estimated")
    measures_hardware: ClassVar[bool] = False
    runner: SimulatedRunner

    def __init__(self, spread: float = 0.25, seed: int = 0, delay_s_per_mcycle: float = 0.0,
                 model_file: str | Path | None = None, cluster_freq_hz: int | None = None) -> None:
        super().__init__(SimulatedRunner(spread, seed, delay_s_per_mcycle, model_file, cluster_freq_hz))

    @classmethod
    def from_options(cls, options: TargetOptions) -> SimulatedTarget:
        """The simulated target with its defaults (``options.cycle_model`` is the estimate's and
        is not used: the truth does not follow a recalibration)."""
        return cls()

    def identity(self) -> str:
        """``simulated:<cycle-model file>@<digest>,spread=<s>,seed=<n>`` (the delay changes no figure)."""
        p = self.runner.perturbation
        return f"{self.name}:{model_identity(self.runner.model_file)},spread={p.spread:g},seed={p.seed}"

    def project(self, spec: CandidateSpec, projects: ProjectSource) -> Path:
        """The candidate's project folder, with a light project written when it holds none."""
        folder = projects.folder(spec)
        if not has_candidate(folder):
            write_light_project(spec, folder)
        return folder

    def layer_features(self, spec: CandidateSpec) -> list[dict[str, Any]]:
        """The cycle model's features of the layers of ``spec`` that run a kernel."""
        return self.runner.estimate.layer_features(spec)

    def true_cycles(self, spec: CandidateSpec) -> int:
        """The simulated "true" total cycles of ``spec`` (:meth:`SimulatedRunner.true_cycles`)."""
        return self.runner.true_cycles(spec)
