"""The real candidate evaluator of a search: supernet + validation subset + measurement target.

``build_evaluator(config)`` is the default factory named by
:data:`fmas_hw.search.config.DEFAULT_EVALUATOR`. One evaluator lives per worker process: it holds
the supernet in memory, the decoded validation subset and the measurement target, and answers the
three questions of :class:`fmas_hw.search.evaluation.CandidateEvaluator`.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import ConfigError
from ..model.manifest import build_options
from ..model.supernet import Supernet
from ..space import Arch
from ..targets.estimate import EstimateTarget
from .costs import arch_costs
from .evaluator import SubsetEvaluator


class CandidateEvaluator:
    """Costs, accuracy and GAP8 latency of candidates of one supernet.

    Args:
        supernet: the in-memory supernet.
        subset: evaluator over the fixed validation subset.
        target: measurement target name ('estimate', 'gvsoc' or 'board').
        work_dir: where per-candidate GAP8 projects are written (gvsoc / board).
    """

    def __init__(self, supernet: Supernet, subset: SubsetEvaluator, target: str = "estimate",
                 work_dir: str | Path | None = None):
        from ..targets.base import get_target

        self.supernet, self.subset, self.target_name = supernet, subset, target
        self.target = get_target(target)
        self.work_dir = Path(work_dir) if work_dir else None

    def costs(self, arch: Arch) -> dict[str, int]:
        """FLOPs (TF-profiler definition) at the evaluation input size, and parameters."""
        s = self.supernet
        return arch_costs(arch, s.input_size, s.classes, s.alpha)

    def accuracy(self, arch: Arch) -> tuple[float, float]:
        """Error (1 - mIoU) on the validation subset without fine-tuning, and its seconds."""
        t0 = time.perf_counter()
        result = self.subset.evaluate(arch)
        return result.error, time.perf_counter() - t0

    def latency(self, arch: Arch) -> tuple[int, str, float]:
        """GAP8 cycles of the adapted candidate, the target that produced them, and seconds."""
        t0 = time.perf_counter()
        if isinstance(self.target, EstimateTarget):
            m = self.target.estimate_arch(arch, classes=self.supernet.classes, alpha=self.supernet.alpha)
        else:
            m = self.target.measure(self._project(arch))
        return m.total_cycles, m.source, time.perf_counter() - t0

    def _project(self, arch: Arch) -> Path:
        from ..gap8.project import write_project

        if self.work_dir is None:
            raise ConfigError("measuring on GVSoc or a board needs a work folder for the generated projects")
        out = self.work_dir / arch.key
        if not (out / "candidate.json").is_file():
            write_project(arch, self.supernet, out, classes=self.supernet.classes, alpha=self.supernet.alpha)
        return out


def build_evaluator(config) -> CandidateEvaluator:
    """Factory used by the search: build the supernet, load the subset, open the target.

    Args:
        config: a resolved :class:`~fmas_hw.search.config.SearchConfig`.

    Raises:
        ConfigError: no data set given.
        WeightsError / DataError: unreadable weights or data.
    """
    from ..data.cache import load_split_arrays
    from ..data.voc import VocDataset

    if not config.data:
        raise ConfigError("the search needs a VOC-format data set: pass --data DIR "
                          "(`fmas-hw data synth --out DIR` writes a synthetic one)")
    classes, alpha = build_options(config.weights, config.backbone, config.classes, config.alpha)
    supernet = Supernet.build(config.backbone, config.input_size, classes, alpha, config.weights)
    dataset = VocDataset(config.data, num_classes=classes)
    images, labels = load_split_arrays(dataset, "val", supernet.input_size, config.val_fraction,
                                       backbone=config.backbone)
    work_dir = Path(config.store).with_suffix("") / "projects" if config.store else None
    return CandidateEvaluator(supernet, SubsetEvaluator(supernet, images, labels), config.target, work_dir)
