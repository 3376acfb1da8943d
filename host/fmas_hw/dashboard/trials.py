"""One Optuna trial per evaluated candidate, and the study's directions and metric names.

A candidate evaluated within the search's budgets is a COMPLETE trial whose values are its
objectives (error first, then the costs in store units, all minimised). One evaluated but over a
budget is COMPLETE too, with a positive constraint per broken budget, so Optuna and its dashboard
count it as infeasible (off the Pareto front) as the search does. A failed evaluation is a FAIL
trial, a candidate a budget rejected before its evaluation a PRUNED one, both with the reason.
The genes are the parameters (:mod:`.params`); the figures, the genome and where the cycles
come from are user attributes. The trial's times are the evaluation's, so the timeline shows
the search as it ran.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from .params import distributions, gene_params
from .source import OBJECTIVE_COLUMNS, Candidate

#: The system attribute holding the store row's revision (:attr:`Candidate.revision`).
REVISION = "fmas_hw_revision"
#: The list of constraint values Optuna and optuna-dashboard both read (positive: infeasible).
CONSTRAINTS = "constraints"
#: Bumped when a candidate's trial changes shape, so that an older mirror is rebuilt.
TRIAL_FORMAT = 1


def metric_names(objectives: tuple[str, ...]) -> list[str]:
    """``["error", <cost column>...]``: what the study calls its values."""
    return ["error", *(OBJECTIVE_COLUMNS[o] for o in objectives)]


def directions(objectives: tuple[str, ...]) -> list[StudyDirection]:
    """Every objective is minimised."""
    return [StudyDirection.MINIMIZE] * (1 + len(objectives))


def revision(candidate: Candidate) -> str:
    """What the mirror compares to know whether a candidate's trial is still the same."""
    return f"{TRIAL_FORMAT}:{candidate.revision}"


def to_trial(candidate: Candidate, objectives: tuple[str, ...]) -> FrozenTrial:
    """The trial of ``candidate`` in a study of ``objectives``."""
    params = gene_params(candidate.arch)
    space = distributions(candidate.arch.backbone)
    dists: dict[str, BaseDistribution] = {name: space[name] for name in params}
    attrs = user_attrs(candidate)
    system: dict[str, Any] = {REVISION: revision(candidate)}
    values: list[float] | None = None
    state = trial_state(candidate)
    if state == TrialState.COMPLETE:
        values = list(candidate.values or ())
        if candidate.over_budget:
            system[CONSTRAINTS] = list(candidate.over_budget.values())
            attrs["over_budget"] = ", ".join(candidate.over_budget)
    elif candidate.status == "ok":
        attrs["reason"] = f"evaluated, but the store lacks a figure of {' / '.join(metric_names(objectives))}"
    finished = datetime.fromtimestamp(candidate.finished)
    return FrozenTrial(number=-1, trial_id=-1, state=state, value=None, values=values,
                       datetime_start=finished - timedelta(seconds=candidate.seconds),
                       datetime_complete=finished, params=params, distributions=dists,
                       user_attrs=attrs, system_attrs=system, intermediate_values={})


def trial_state(candidate: Candidate) -> TrialState:
    """COMPLETE when evaluated with every figure, PRUNED when rejected before evaluation, else
    FAIL."""
    if candidate.status == "ok" and candidate.values is not None:
        return TrialState.COMPLETE
    return TrialState.PRUNED if candidate.status == "rejected" else TrialState.FAIL


def user_attrs(candidate: Candidate) -> dict[str, Any]:
    """The candidate's genome, key, generation, figures and their source, GAP8 fit, status."""
    attrs: dict[str, Any] = {"genome": candidate.genome, "arch_key": candidate.key, "status": candidate.status}
    optional = {"generation": candidate.generation, "flops": candidate.flops, "params": candidate.params,
                "cycles": candidate.cycles, "cycles_source": candidate.cycles_source,
                "fits_gap8": candidate.fits_gap8, "gap8_memory": candidate.gap8_memory,
                "reason": candidate.reason}
    attrs.update({k: v for k, v in optional.items() if v is not None})
    return attrs
