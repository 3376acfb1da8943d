"""The search's built-in evaluator: supernet + validation subset + measurement target.

:func:`build_supernet_evaluator` is what :func:`~fmas_hw.search.evaluation.make_evaluator` returns
for a config that names no other factory. One evaluator lives per worker process: it holds the
supernet in memory, the decoded validation subset and the measurement target, and answers the
three questions of the :class:`~fmas_hw.search.evaluation.CandidateEvaluator` protocol.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import ConfigError
from ..eval.costs import arch_costs
from ..eval.evaluator import SubsetEvaluator
from ..gap8.candidate_file import CandidateSpec
from ..gap8.generated_projects import GeneratedProjects
from ..model.device import current_device
from ..model.manifest import build_options
from ..model.supernet import Supernet
from ..space import Arch
from ..targets.base import Target
from ..targets.measurement import Measurement


class SupernetEvaluator:
    """Costs, accuracy and GAP8 latency of candidates of one supernet.

    Args:
        supernet: the in-memory supernet.
        subset: evaluator over the fixed validation subset.
        target: the target latency is scored on; None: this evaluator scores no latency.
        work_dir: where per-candidate GAP8 projects are written for a target that runs firmware.
    """

    def __init__(self, supernet: Supernet, subset: SubsetEvaluator, target: Target | None = None,
                 work_dir: str | Path | None = None):
        self.supernet, self.subset = supernet, subset
        self.target = target
        self.projects = GeneratedProjects(work_dir, supernet) if work_dir else None

    def costs(self, arch: Arch) -> dict[str, int]:
        """FLOPs (TF-profiler definition) at the evaluation input size, and parameters."""
        s = self.supernet
        return arch_costs(arch, s.input_size, s.classes, s.alpha)

    def accuracy(self, arch: Arch) -> tuple[float, float]:
        """Error (1 - mIoU) on the validation subset without fine-tuning, and its seconds."""
        t0 = time.perf_counter()
        result = self.subset.evaluate(arch)
        return result.error, time.perf_counter() - t0

    def latency(self, arch: Arch) -> tuple[Measurement, float]:
        """The target's measurement of the GAP8-adapted candidate, and its seconds.

        Raises:
            ConfigError: no target to score latency on, or a target that runs firmware and no
                work folder for the projects.
            MeasurementError: the target's figures are not its own or not honestly labelled.
        """
        if self.target is None:
            raise ConfigError("this evaluator was built to score no latency: give it a target")
        t0 = time.perf_counter()
        spec = CandidateSpec(arch, self.supernet.classes, self.supernet.alpha)
        measured = self.target.checked(self.target.measure_candidate(spec, self.projects))
        return measured, time.perf_counter() - t0


def build_supernet_evaluator(config, target: Target | None) -> SupernetEvaluator:
    """The evaluator of a search: build the supernet, load the subset, open the target.

    Args:
        config: a resolved :class:`~fmas_hw.search.config.SearchConfig`.
        target: the target its latency is scored on (None: none).

    Raises:
        ConfigError: no data set given.
        WeightsError / DataError: unreadable weights or data.
    """
    subset = build_subset_evaluator(config, config.val_fraction)
    return SupernetEvaluator(subset.supernet, subset, target, config.projects_dir)


def build_subset_evaluator(config, fraction: float, data: str | Path | None = None) -> SubsetEvaluator:
    """The supernet of a search and the first ``fraction`` of its ``val.txt``, decoded once.

    The one place that rebuilds a search's scoring from its config, so that the full-set scores
    of :mod:`fmas_hw.search.full_set` use the very weights, input size and preprocessing that
    scored the subset.

    Args:
        config: a resolved :class:`~fmas_hw.search.config.SearchConfig`.
        fraction: leading fraction of the validation list (``config.val_fraction``, or 1.0).
        data: the data set folder (default ``config.data``).

    Raises:
        ConfigError: no data set given.
        WeightsError / DataError: unreadable weights or data.
    """
    from ..data.cache import load_split_arrays
    from ..data.voc import VocDataset

    data = data or config.data
    if not data:
        raise ConfigError("the search needs a VOC-format data set: pass --data DIR "
                          "(`fmas-hw data synth --out DIR` writes a synthetic one)")
    device = current_device(config.device)  # before the supernet: TensorFlow fixes its devices then
    classes, alpha = build_options(config.weights, config.backbone, config.classes, config.alpha)
    supernet = Supernet.build(config.backbone, config.input_size, classes, alpha, config.weights)
    dataset = VocDataset(data, num_classes=classes)
    images, labels = load_split_arrays(dataset, "val", supernet.input_size, fraction, backbone=config.backbone)
    return SubsetEvaluator(supernet, images, labels, device=device)
