"""The ``estimate`` target: GAP8 cycles from the analytical cycle model (needs nothing installed).

The default target of the search (SPEC §6.3). A candidate is GAP8-adapted, fused into its layer
graph (:mod:`fmas_hw.gap8.graph`, built once per architecture and cached), planned in memory
(:mod:`fmas_hw.gap8.memory`) and costed per layer by :mod:`fmas_hw.targets.cycle_model`. Its
measurements are always labelled estimates (``source="estimate"``, ``estimated=True``).

Two ways in:

* :meth:`EstimateTarget.estimate_arch` — what the search's evaluator calls, from an architecture;
* :meth:`EstimateTarget.measure` / :meth:`~EstimateTarget.run` — the common :class:`Target`
  interface, on a generated project folder. The folder must hold ``candidate.json`` (written by
  ``fmas-hw export``), a JSON object with at least::

      {"backbone": "mobilenetv2",          # search space
       "genome": "0000111111111111111111111111",   # bit string of that space
       "classes": 21,                       # number of classes
       "alpha": 1.0}                        # MobileNetV2 width multiplier

  and optionally ``"input_size"`` (default 384). ``run`` keeps its result as
  ``<project>/logs/estimate.json`` (measurement + per-layer features).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ConfigError, MeasurementError
from ..gap8.memory import GAP8_INPUT_SIZE, MemoryPlan, arch_graph, plan_memory
from ..hw import load as load_hw
from ..space import Arch, get_space
from .base import LayerCycles, Measurement, Target
from .cycle_model import CycleModel, LayerFeatures, graph_features, load_cycle_model, network_cycles

CANDIDATE_FILE = "candidate.json"
#: Keys ``candidate.json`` must have.
CANDIDATE_KEYS = ("backbone", "genome", "classes", "alpha")
RESULT_FILE = "logs/estimate.json"


class EstimateTarget(Target):
    """Cycles of the GAP8-adapted candidate from the analytical cycle model.

    Args:
        model_file: cycle-model TOML (e.g. written by ``fmas-hw calibrate``); default
            ``$FMAS_CYCLE_MODEL`` or the packaged ``hw/gap8_cycle_model.toml``.
        input_size: adapted input size (384 on GAP8).
        cluster_freq_hz: clock used for the latency; default from ``hw/gap8.toml``.

    Raises:
        ConfigError: the cycle-model file is missing or malformed.
    """

    name: ClassVar[str] = "estimate"
    measures_hardware: ClassVar[bool] = False
    default_timeout_s: float = 120.0

    def __init__(self, model_file: str | Path | None = None, input_size: int = GAP8_INPUT_SIZE,
                 cluster_freq_hz: int | None = None) -> None:
        self.model: CycleModel = load_cycle_model(model_file)
        self.input_size = int(input_size)
        self.cluster_freq_hz = int(cluster_freq_hz or load_hw()["chip"]["cluster_freq_hz"])

    # -- from an architecture -------------------------------------------------------------------

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
        graph = arch_graph(arch, classes, alpha, input_size or self.input_size)
        plan = plan_memory(graph)
        return graph_features(graph, plan), plan

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
        cycles = network_cycles(features, self.model)
        per_layer = [LayerCycles(name, c, f.ops) for (name, c), f in zip(cycles, features, strict=True)
                     if f.runs]
        versions = {"cycle_model": self.model.name, "cycle_model_file": self.model.source,
                    "scale": f"{self.model.scale:g}"}
        if plan is not None:
            versions["memory_fits"] = str(plan.fits)
        return Measurement(sum(c for _, c in cycles), per_layer, self.cluster_freq_hz, "estimate",
                           True, versions)

    # -- the Target interface --------------------------------------------------------------------

    def prepare(self, project_dir: str | Path) -> None:
        """Check that the project describes its candidate (nothing to build for an estimate).

        Raises:
            MeasurementError: ``candidate.json`` is missing or malformed.
        """
        read_candidate(project_dir)

    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Estimate the candidate described by ``<project_dir>/candidate.json``.

        Args:
            project_dir: a project written by ``fmas-hw export`` (only ``candidate.json`` is read).
            timeout_s: unused (an estimate takes seconds at most).

        Returns:
            The estimate; its ``log_path`` is ``<project>/logs/estimate.json``.

        Raises:
            MeasurementError: ``candidate.json`` is missing or malformed.
            AdaptationError: the candidate cannot run on GAP8.
        """
        candidate = read_candidate(project_dir)
        arch = get_space(candidate["backbone"]).decode(candidate["genome"])
        features, plan = self.features(arch, candidate["classes"], candidate["alpha"], candidate["input_size"])
        result = self.measurement(features, plan)
        log = Path(project_dir) / RESULT_FILE
        log.parent.mkdir(parents=True, exist_ok=True)
        payload = {"measurement": result.to_dict(), "features": [f.to_dict() for f in features],
                   "memory": {"fits": plan.fits, "reason": plan.reason}}
        log.write_text(json.dumps(payload, indent=2) + "\n")
        return replace(result, log_path=str(log))


def read_candidate(project_dir: str | Path) -> dict[str, Any]:
    """Read and validate ``<project_dir>/candidate.json`` (see the module docstring).

    Returns:
        The candidate with ``classes`` (int), ``alpha`` (float) and ``input_size`` (int) normalised.

    Raises:
        MeasurementError: the file is missing, is not a JSON object, lacks a key, or its genome
            does not decode.
    """
    path = Path(project_dir) / CANDIDATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise MeasurementError(f"{path} not found: the estimate target reads the candidate from it; "
                               "generate the project with `fmas-hw export` or measure with "
                               "--backbone/--genome") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise MeasurementError(f"{path} is not readable JSON ({exc}); regenerate it with `fmas-hw export`") from exc
    missing = [k for k in CANDIDATE_KEYS if not isinstance(data, dict) or k not in data]
    if missing:
        raise MeasurementError(f"{path} lacks {', '.join(missing)}: expected an object with keys "
                               f"{', '.join(CANDIDATE_KEYS)}")
    try:
        get_space(str(data["backbone"])).decode(str(data["genome"]))
        return {**data, "backbone": str(data["backbone"]), "genome": str(data["genome"]),
                "classes": int(data["classes"]), "alpha": float(data["alpha"]),
                "input_size": int(data.get("input_size", GAP8_INPUT_SIZE))}
    except (ConfigError, ValueError, TypeError) as exc:
        raise MeasurementError(f"{path}: {exc}") from exc
