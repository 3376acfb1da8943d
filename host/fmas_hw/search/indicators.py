"""Pareto front and hypervolume of a population, in the normalised objective space.

The hypervolume reference point is fixed when a search starts and saved in its store, so the
values of all generations (and of a resumed search) are comparable: the paper chooses G by how
much the hyperarea still changes between generations. In normalised units (see
:mod:`fmas_hw.search.problem`) it is ``(1.0, 1.1, ...)``: the worst possible error, and 10 %
more than the supernet's cost. A candidate outside that box (e.g. an Xception with entry stride
1, dearer than the supernet) is still searched but adds nothing to the hypervolume.
"""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

#: Reference values: error, then every normalised cost objective.
REFERENCE_ERROR = 1.0
REFERENCE_COST = 1.1


def reference_point(n_costs: int) -> list[float]:
    """The fixed hypervolume reference point for ``n_costs`` cost objectives."""
    return [REFERENCE_ERROR] + [REFERENCE_COST] * n_costs


def feasible_front(F: np.ndarray, CV: np.ndarray) -> np.ndarray:
    """Indices of the feasible (CV <= 0) non-dominated rows of ``F``, ascending."""
    feasible = np.flatnonzero(np.asarray(CV, dtype=float).reshape(len(F), -1)[:, 0] <= 0)
    if feasible.size == 0:
        return feasible
    front = NonDominatedSorting().do(np.asarray(F, dtype=float)[feasible], only_non_dominated_front=True)
    return np.sort(feasible[front])


def hypervolume(F: np.ndarray, reference: list[float]) -> float:
    """Hypervolume dominated by the rows of ``F`` up to ``reference`` (0.0 for none)."""
    F = np.asarray(F, dtype=float)
    if F.size == 0:
        return 0.0
    return float(HV(ref_point=np.asarray(reference, dtype=float))(F))
