"""The pymoo problem: genome -> (error, cost...) objectives and constraint values, nothing else.

Objectives, all minimised: the mIoU error first, then each cost objective in the order given
(``flops``, ``params``, ``latency`` = GAP8 cycles) divided by the supernet's value, so that every
objective is about 1 for the supernet and the hypervolume reference point can be fixed before
the search starts. Evaluation happens elsewhere (the ask/tell runner and the store); this class
only reads finished evaluations, passed in as ``records={arch key: EvaluationRecord}``.

A failed candidate gets the dominated vector ``(1.0, FAILED_COST, ...)`` and violates the
'evaluated' constraint, so it can never enter the feasible front yet the search goes on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.problem import Problem

from ..errors import FmasError
from ..space import SearchSpace
from ..store import EvaluationRecord
from ..store.columns import COST_COLUMNS, cost
from ..store.records import Status
from .config import SearchConfig
from .constraints import constraint_names, violations

#: Normalised cost of a failed or rejected candidate: ten times the supernet.
FAILED_COST = 10.0

class SearchProblem(Problem):
    """NSGA-II problem over the binary genome of ``space``.

    Args:
        space: the search space (genome length, decoding).
        config: the search config (objectives and constraints).
    """

    def __init__(self, space: SearchSpace, config: SearchConfig) -> None:
        self.space = space
        self.config = config
        self.constraint_names = constraint_names(config)
        self.scale: dict[str, float] | None = None
        super().__init__(n_var=space.n_bits, n_obj=1 + len(config.objectives),
                         n_ieq_constr=len(self.constraint_names), xl=0, xu=1, vtype=bool,
                         requires_kwargs=True)

    def set_scale(self, supernet: EvaluationRecord) -> dict[str, float]:
        """Normalise costs by the supernet's (its record must be 'ok' with every cost measured).

        Raises:
            FmasError: the supernet failed, or a cost objective was not measured for it.
        """
        if supernet.status != Status.OK:
            raise FmasError(f"the supernet itself could not be evaluated ({supernet.reason}); "
                            "fix the evaluator set-up before searching")
        scale = {}
        for name in self.config.objectives:
            value = cost(supernet, name)
            if not value:
                raise FmasError(f"the evaluator returned no {COST_COLUMNS[name]} for the supernet, "
                                f"so the {name!r} objective cannot be used")
            scale[name] = float(value)
        self.scale = scale
        return scale

    def objectives(self, record: EvaluationRecord) -> list[float]:
        """Objective vector of one evaluation (see the module docstring)."""
        if self.scale is None:
            raise FmasError("SearchProblem.set_scale(supernet) must be called before objectives()")
        if record.status != Status.OK or record.error is None:
            return [1.0] + [FAILED_COST] * len(self.config.objectives)
        costs = []
        for name in self.config.objectives:
            value = cost(record, name)
            costs.append(FAILED_COST if value is None else value / self.scale[name])
        return [float(record.error)] + costs

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any,
                  records: dict[str, EvaluationRecord] | None = None, **kwargs: Any) -> None:
        if records is None:
            raise FmasError("SearchProblem is evaluated from the results store by the search runner "
                            "(ask/tell); pass records={key: EvaluationRecord}")
        recs = [records[self.space.decode(x).key] for x in X]
        out["F"] = np.array([self.objectives(r) for r in recs], dtype=float)
        out["G"] = np.array([violations(self.config, r) for r in recs], dtype=float)
