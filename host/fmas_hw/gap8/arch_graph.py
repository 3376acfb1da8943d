"""Architecture -> GAP8 layer graph, cached: what the cycle model and the memory fit ask per candidate.

A search asks the same candidate's graph several times (its memory fit before evaluation, its
estimated cycles after), and the estimate target must answer in milliseconds, so graphs are built
once per (architecture, classes, width, input size) and kept, without weights, in a small LRU
cache. Candidates of the search spaces are interpreted from the network definition
(:mod:`.netdef_graph`, a few milliseconds); a hand-made architecture outside them comes from the
GAP8-adapted Keras network instead (about a second), as it does for the other fast paths
(:mod:`fmas_hw.eval.costs`, the search's evaluator). Costs never depend on weight values.

Importing this module does not import TensorFlow (the estimate target and the search's
constraints import it at start-up, ``fmas-hw --help`` must not pay for it); building the first
graph does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ArchitectureError
from .candidate_file import GAP8_INPUT_SIZE
from .memory import MemoryPlan, plan_memory

if TYPE_CHECKING:
    from ..space import Arch
    from .graph import Gap8Graph

#: Graphs kept in memory (weights are dropped, so each is a few KB).
GRAPH_CACHE_SIZE = 256

_GRAPHS: OrderedDict[tuple, Gap8Graph] = OrderedDict()
_GRAPH_LOCK = threading.Lock()
#: Their memory plans (under the default budgets), kept as long: a search plans each candidate
#: several times (its fit, its estimate, the online refit's), and planning costs more than
#: costing the layers.
_PLANS: OrderedDict[tuple, MemoryPlan] = OrderedDict()


def arch_graph(arch: Arch, classes: int = 21, alpha: float = 1.0,
               input_size: int = GAP8_INPUT_SIZE) -> Gap8Graph:
    """The fused GAP8 graph of a candidate (built once per arch, cached without weights).

    Thread-safe; the cache holds :data:`GRAPH_CACHE_SIZE` graphs.

    Raises:
        AdaptationError: a layer of the candidate cannot run on GAP8.
        ArchitectureError: the arch cannot be built with these classes / alpha.
    """
    key = (arch.backbone, arch.key, int(classes), float(alpha), int(input_size))
    with _GRAPH_LOCK:
        if key in _GRAPHS:
            _GRAPHS.move_to_end(key)
            return _GRAPHS[key]
        graph = _build_graph(arch, classes, alpha, input_size)
        _GRAPHS[key] = graph
        while len(_GRAPHS) > GRAPH_CACHE_SIZE:
            _GRAPHS.popitem(last=False)
        return graph


def _build_graph(arch: Arch, classes: int, alpha: float, input_size: int) -> Gap8Graph:
    # Imported on first use: both load TensorFlow (see the module docstring).
    from .netdef_graph import netdef_graph

    try:
        return netdef_graph(arch, classes, alpha, input_size)
    except ArchitectureError:  # outside the search space: the adapted Keras network
        from ..model.builder import build_model
        from .graph import extract_graph

        return _strip_weights(extract_graph(build_model(arch, input_size, classes, alpha, gap8=True)))


def _strip_weights(graph: Gap8Graph) -> Gap8Graph:
    """Replace folded weights by zero-stride views: shapes (and ``weight_count``) stay, memory goes."""
    for node in graph.nodes:
        for attr in ("weights", "bias"):
            value = getattr(node, attr)
            if value is not None:
                setattr(node, attr, np.broadcast_to(np.float32(0), value.shape))
    return graph


def plan_arch(arch: Arch, classes: int = 21, alpha: float = 1.0,
              input_size: int = GAP8_INPUT_SIZE) -> MemoryPlan:
    """The memory plan of a candidate with the GAP8 adaptations (see :func:`arch_graph`), cached
    beside its graph (callers must not change it)."""
    key = (arch.backbone, arch.key, int(classes), float(alpha), int(input_size))
    with _GRAPH_LOCK:
        if key in _PLANS:
            _PLANS.move_to_end(key)
            return _PLANS[key]
    plan = plan_memory(arch_graph(arch, classes, alpha, input_size))
    with _GRAPH_LOCK:
        _PLANS[key] = plan
        while len(_PLANS) > GRAPH_CACHE_SIZE:
            _PLANS.popitem(last=False)
    return plan


def fits_gap8(arch: Arch, classes: int = 21, alpha: float = 1.0,
              input_size: int = GAP8_INPUT_SIZE) -> tuple[bool, str]:
    """The search's ``--fit-gap8`` constraint: can GAP8 run this candidate?

    Args:
        arch: the candidate.
        classes: number of classes of the network.
        alpha: MobileNetV2 width multiplier.
        input_size: adapted input size (384 on GAP8).

    Returns:
        ``(fits, reason)``; the reason names the exceeded budget, the layer and by how much.
    """
    plan = plan_arch(arch, classes, alpha, input_size)
    return plan.fits, plan.reason
