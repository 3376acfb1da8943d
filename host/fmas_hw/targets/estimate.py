"""The ``estimate`` target: GAP8 cycles from the analytical cycle model (needs nothing installed).

The default target of the search (SPEC §6.3). A candidate is GAP8-adapted, fused into its layer
graph (:mod:`fmas_hw.gap8.graph`, built once per architecture and cached), planned in memory
(:mod:`fmas_hw.gap8.memory`) and costed per layer by :mod:`fmas_hw.costmodel.cycle_model`. Its
measurements are always labelled estimates (``source="estimate"``, ``estimated=True``), and its
identity is the cycle model's file and content digest.

Two ways in:

* :meth:`EstimateTarget.measure_candidate` — from a candidate (what the search asks);
* :meth:`EstimateTarget.measure_project` — on a generated project folder: only its
  ``candidate.json`` (:mod:`fmas_hw.gap8.candidate_file`) is read, and the result is kept as
  ``<project>/logs/estimate.json`` (measurement + per-layer features).

By default the figures come from the cycle-model file alone. Given an
:class:`~fmas_hw.costmodel.online_model.OnlineCycleModel` (``EstimateTarget(online=...)``), a search's
estimate learns from what it measured: layers measured before take their measured cycles, the
others the refitted model's; each measurement's ``tool_versions`` then names the online model's
version (``cycle_model_version``) and how many layers came from measurements (``cache_layers``).
It is still an estimate (``estimated=True``): the candidate as a whole was not run.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from ..costmodel.cycle_model import (
    CycleModel,
    LayerFeatures,
    graph_features,
    load_cycle_model,
    model_identity,
    network_cycles,
)
from ..costmodel.online_model import CACHE, OnlineCycleModel
from ..errors import ConfigError
from ..gap8.arch_graph import arch_graph, plan_arch
from ..gap8.candidate_file import GAP8_INPUT_SIZE, CandidateSpec, read_candidate
from ..gap8.memory import MemoryPlan
from ..hw import load as load_hw
from ..space import Arch
from .base import ProjectSource, Target
from .measurement import LayerCycles, Measurement
from .options import TargetOptions

RESULT_FILE = "logs/estimate.json"


class EstimateTarget(Target):
    """Cycles of the GAP8-adapted candidate from the analytical cycle model.

    Args:
        model_file: cycle-model TOML (e.g. written by ``fmas-hw calibrate``); default
            ``$FMAS_CYCLE_MODEL`` or the packaged ``hw/gap8_cycle_model.toml``.
        input_size: adapted input size (384 on GAP8).
        cluster_freq_hz: clock used for the latency; default from ``hw/gap8.toml``.
        online: a cycle model refitted from measurements, on top of the same cycle-model file
            (default None: the file's model, unchanged).

    Raises:
        ConfigError: the cycle-model file is missing or malformed, or ``online`` was built on
            another cycle model.
    """

    name: ClassVar[str] = "estimate"
    title: ClassVar[str] = "estimate"
    summary: ClassVar[str] = "the analytical GAP8 cycle model (needs nothing)"
    measures_hardware: ClassVar[bool] = False

    def __init__(self, model_file: str | Path | None = None, input_size: int = GAP8_INPUT_SIZE,
                 cluster_freq_hz: int | None = None, online: OnlineCycleModel | None = None) -> None:
        self.model_file = model_file
        self.model: CycleModel = load_cycle_model(model_file)
        self.input_size = int(input_size)
        self.cluster_freq_hz = int(cluster_freq_hz or load_hw()["chip"]["cluster_freq_hz"])
        if online is not None and online.base_identity != model_identity(model_file):
            raise ConfigError(f"the online cycle model is built on {online.base_identity}, the estimate "
                              f"reads {model_identity(model_file)}: build it with "
                              "OnlineCycleModel.from_file() of the same file")
        self.online = online

    @classmethod
    def from_options(cls, options: TargetOptions) -> EstimateTarget:
        """The estimate with ``options.cycle_model`` (default: ``$FMAS_CYCLE_MODEL`` or packaged)."""
        return cls(model_file=options.cycle_model)

    def identity(self) -> str:
        """``estimate:<cycle-model file>@<digest of its content>``, with an online model
        ``estimate:<file>@<digest>+refit<version>`` (it changes with every refit)."""
        if self.online is not None:
            return f"{self.name}:{self.online.identity()}"
        return f"{self.name}:{model_identity(self.model_file)}"

    # -- from an architecture -------------------------------------------------------------------

    def measure_candidate(self, spec: CandidateSpec, projects: ProjectSource | None = None,
                          timeout_s: float | None = None) -> Measurement:
        """Estimated cycles of ``spec`` (no project needed: ``projects`` and ``timeout_s`` unused).

        Raises:
            AdaptationError: the candidate cannot run on GAP8.
        """
        features, plan = self.features(spec.arch, spec.classes, spec.alpha, spec.input_size)
        return self.measurement(features, plan)

    def layer_features(self, spec: CandidateSpec) -> list[dict[str, Any]]:
        """The cycle model's features of the layers of ``spec`` that run a kernel."""
        features, _ = self.features(spec.arch, spec.classes, spec.alpha, spec.input_size)
        return [f.to_dict() for f in features if f.runs]

    def features(self, arch: Arch, classes: int = 21, alpha: float = 1.0,
                 input_size: int | None = None) -> tuple[list[LayerFeatures], MemoryPlan]:
        """Per-layer model features and the memory plan of a candidate.

        Args:
            arch: the candidate.
            classes: number of classes.
            alpha: MobileNetV2 width multiplier.
            input_size: adapted input size; default the target's.

        Raises:
            AdaptationError: the candidate cannot run on GAP8.
        """
        size = input_size or self.input_size
        plan = plan_arch(arch, classes, alpha, size)
        return graph_features(arch_graph(arch, classes, alpha, size), plan), plan

    def estimate_arch(self, arch: Arch, classes: int = 21, alpha: float = 1.0) -> Measurement:
        """Estimated GAP8 cycles of candidate ``arch`` (the search's latency objective).

        The first call for an architecture builds its GAP8 graph (seconds, Keras); later calls
        and the model itself take milliseconds.

        Args:
            arch: the candidate.
            classes: number of classes of the network.
            alpha: MobileNetV2 width multiplier.

        Returns:
            A :class:`Measurement` with per-layer cycles (layers that run no kernel — stacked
            concatenations, crops merged into their resize — are left out),
            ``source="estimate"``, ``estimated=True``.

        Raises:
            AdaptationError: the candidate cannot run on GAP8.
        """
        features, plan = self.features(arch, classes, alpha)
        return self.measurement(features, plan)

    def measurement(self, features: list[LayerFeatures], plan: MemoryPlan | None = None) -> Measurement:
        """The :class:`Measurement` of already computed layer features."""
        if self.online is not None:
            return self._online_measurement(self.online, features, plan)
        cycles = network_cycles(features, self.model)
        per_layer = [LayerCycles(name, c, f.ops) for (name, c), f in zip(cycles, features, strict=True)
                     if f.runs]
        versions = {"cycle_model": self.model.name, "cycle_model_file": self.model.source,
                    "scale": f"{self.model.scale:g}"}
        if plan is not None:
            versions["memory_fits"] = str(plan.fits)
        return Measurement(sum(c for _, c in cycles), per_layer, self.cluster_freq_hz, "estimate",
                           True, versions)

    def _online_measurement(self, online: OnlineCycleModel, features: list[LayerFeatures],
                            plan: MemoryPlan | None) -> Measurement:
        """The estimate of the online model: measured cycles for layers measured before."""
        predicted, made_with = online.predict_versioned(features)
        ops = {f.name: f.ops for f in features}
        per_layer = [LayerCycles(p.name, p.cycles, ops[p.name]) for p in predicted]
        cached = sum(p.source == CACHE for p in predicted)
        versions = {"cycle_model": made_with.pop("cycle_model"), "cycle_model_file": self.model.source,
                    "scale": made_with.pop("scale"), **made_with, "cache_layers": f"{cached}/{len(predicted)}"}
        if plan is not None:
            versions["memory_fits"] = str(plan.fits)
        return Measurement(sum(p.cycles for p in predicted), per_layer, self.cluster_freq_hz, "estimate",
                           True, versions)

    def measure_project(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Estimate the candidate described by ``<project_dir>/candidate.json``, keeping the
        figures and the per-layer features in ``<project>/logs/estimate.json``.

        Args:
            project_dir: a project written by ``fmas-hw export`` (only ``candidate.json`` is read).
            timeout_s: unused (an estimate takes seconds at most).

        Raises:
            MeasurementError: ``candidate.json`` is missing or malformed.
            AdaptationError: the candidate cannot run on GAP8.
        """
        spec = read_candidate(project_dir).spec
        features, plan = self.features(spec.arch, spec.classes, spec.alpha, spec.input_size)
        result = self.measurement(features, plan)
        log = Path(project_dir) / RESULT_FILE
        log.parent.mkdir(parents=True, exist_ok=True)
        payload = {"measurement": result.to_dict(), "features": [f.to_dict() for f in features],
                   "memory": {"fits": plan.fits, "reason": plan.reason}}
        log.write_text(json.dumps(payload, indent=2) + "\n")
        return replace(result, log_path=str(log))
