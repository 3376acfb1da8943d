"""Search constraints: maximum parameters, maximum cycles, fits GAP8 memory (SPEC §5).

Cheap constraints (parameters, GAP8 memory fit) are checked *before* the expensive accuracy
evaluation, as once-for-all's cost predictors do: an over-budget candidate is stored as
'rejected' without spending device time on it. The cycle budget needs a measurement, so it is
checked afterwards. :func:`violations` turns a stored evaluation into pymoo inequality
constraint values (<= 0 means satisfied).

The GAP8 memory fit is also *recorded* whenever the search records cycles, with or without
``--fit-gap8``: the evaluation's :class:`~fmas_hw.store.Gap8Fit` says whether a
candidate's cycle figure belongs to a network that can run at all, so the store, the reports and
the search summary can flag it. Only ``--fit-gap8`` makes an unfittable candidate infeasible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import FmasError
from ..gap8.arch_graph import fits_gap8
from ..space import Arch
from ..store import Gap8Fit, Status

if TYPE_CHECKING:
    from ..store import EvaluationRecord
    from .config import SearchConfig

def constraint_names(config: SearchConfig) -> list[str]:
    """Names of the constraint columns, in order; 'evaluated' (not failed) is always first."""
    names = ["evaluated"]
    names += [key for key in ("max_params", "max_cycles") if getattr(config, key) is not None]
    return names + (["fit_gap8"] if config.fit_gap8 else [])


def precheck(config: SearchConfig, arch: Arch, costs: dict[str, int],
             record_fit: bool = False) -> tuple[str | None, Gap8Fit | None]:
    """Check the cheap constraints before paying for accuracy.

    Args:
        config: the search config (its ``max_params`` and ``fit_gap8``).
        arch: the candidate.
        costs: ``evaluator.costs(arch)``.
        record_fit: the candidate's cycles are measured, so its memory fit is recorded with them.

    Returns:
        ``(reason, fit)``: reason is None when the candidate passes; fit is the memory verdict to
        store with the evaluation (None when it is not recorded: see the module docstring).

    Raises:
        FmasError: with ``fit_gap8``, the candidate cannot be planned (it then fails).
    """
    reasons: list[str] = []
    if config.max_params is not None and costs["params"] > config.max_params:
        reasons.append(f"params {costs['params']:,} > max_params {config.max_params:,}")
    fit = memory_fit(config, arch) if config.fit_gap8 or record_fit else None
    if config.fit_gap8 and fit is not None and not fit.fits:
        reasons.append(f"does not fit GAP8 memory: {fit.memory}")
    return ("; ".join(reasons) or None), fit


def memory_fit(config: SearchConfig, arch: Arch) -> Gap8Fit:
    """The GAP8 memory verdict of a candidate, to store with its evaluation.

    Without ``--fit-gap8`` the fit is only a label of the cycle figure: a candidate that cannot
    be planned gets ``Gap8Fit(None, "fit unknown: <why>")`` instead of failing here (its cycle
    measurement then says what is wrong).
    """
    try:
        fits, why = fits_gap8(arch, **_network_options(config))
    except FmasError as exc:
        if config.fit_gap8:
            raise
        return Gap8Fit(None, f"fit unknown: {exc}")
    return Gap8Fit(bool(fits), str(why))


def _network_options(config: SearchConfig) -> dict:
    """Classes and width of the searched supernet, so the memory plan checks the real network."""
    from ..model.manifest import build_options

    classes, alpha = build_options(config.weights, config.backbone, config.classes, config.alpha)
    return {"classes": classes, "alpha": alpha}


def violations(config: SearchConfig, record: EvaluationRecord) -> list[float]:
    """Constraint values of a stored evaluation (<= 0: satisfied), in :func:`constraint_names` order.

    Budgets are relative (``value / budget - 1``) so that the GA prefers the least violating
    candidates; an unknown value counts as satisfied because another column (failed or
    rejected) already marks the candidate infeasible.
    """
    out = [1.0 if record.status == Status.FAILED else 0.0]
    if config.max_params is not None:
        out.append(_relative(record.params, config.max_params))
    if config.max_cycles is not None:
        out.append(_relative(record.cycles, config.max_cycles))
    if config.fit_gap8:
        out.append(1.0 if record.fits_gap8 is False else 0.0)
    return out


def _relative(value: int | None, budget: int) -> float:
    return 0.0 if value is None else value / budget - 1.0
