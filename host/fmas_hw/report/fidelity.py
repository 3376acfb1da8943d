"""Proxy fidelity: how well the search's cheap score predicts the fine-tuned result (SPEC §1).

The search scores a candidate without fine-tuning, on the first part of the validation set. For
every candidate that was fine-tuned, this module compares that proxy with the error on the full
validation set after fine-tuning:

* ``delta_points`` = 100 × (subset error − fine-tuned full error) = fine-tuned mIoU − proxy mIoU,
  in mIoU points, the paper's convention (it reports −0.95 … +1.3): positive means the proxy
  under-estimated the network;
* it splits into ``subset_bias_points`` (subset vs full set, both without fine-tuning) plus
  ``finetune_gain_points`` (full set, fine-tuned vs not) when the full error before fine-tuning
  was recorded;
* Kendall's τ (τ-b, :func:`scipy.stats.kendalltau`) between the two errors: 1 when the proxy
  ranks the candidates exactly as fine-tuning does. This is what matters for a search, which
  only compares candidates.

:func:`front_fidelity` asks the first half of that question for the WHOLE final front, not only
the fine-tuned few: subset error against full-validation-set error, both without fine-tuning
(``gap_points`` = 100 × (subset error − full-set error); positive means the subset judged the
network worse than the full set does), with the largest |gap| and τ over the front.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scipy.stats import kendalltau as _scipy_kendalltau

from .tables import Column, blank, pct, points


@dataclass(frozen=True)
class Fidelity:
    """The fidelity of the proxy over the fine-tuned candidates.

    Attributes:
        rows: per candidate: name, genome, the three errors and the differences in points.
        kendall_tau: τ-b between subset error and fine-tuned full error (None: fewer than two
            candidates, or one of the errors constant).
        p_value: two-sided p-value of τ (None when τ is).
        delta_min / delta_max / delta_mean: range and mean of ``delta_points``.
    """

    rows: list[dict[str, Any]]
    kendall_tau: float | None
    p_value: float | None
    delta_min: float
    delta_max: float
    delta_mean: float

    @property
    def n(self) -> int:
        """Number of fine-tuned candidates compared."""
        return len(self.rows)

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (no per-candidate rows)."""
        out = asdict(self)
        out.pop("rows")
        return {"n": self.n, **out}


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> tuple[float | None, float | None]:
    """Kendall's τ-b of two paired samples and its two-sided p-value.

    Args:
        x, y: paired values (same length).

    Returns:
        ``(tau, p_value)``; ``(None, None)`` when τ is undefined (fewer than two pairs, or a
        sample without any variation).

    Raises:
        ValueError: ``x`` and ``y`` differ in length.
    """
    if len(x) != len(y):
        raise ValueError(f"kendall_tau needs paired samples, got {len(x)} and {len(y)} values")
    if len(x) < 2:
        return None, None
    result = _scipy_kendalltau(x, y)
    tau, p = float(result.statistic), float(result.pvalue)
    if math.isnan(tau):
        return None, None
    return tau, None if math.isnan(p) else p


def proxy_fidelity(candidates: list[dict[str, Any]]) -> Fidelity | None:
    """Compare proxy and fine-tuned errors of the candidate rows that have both.

    Args:
        candidates: rows of :func:`fmas_hw.report.tables.candidate_rows`.

    Returns:
        The :class:`Fidelity`, or None when no candidate has been fine-tuned yet.
    """
    rows = [_row(c) for c in candidates if c["error_subset"] is not None and c["error_full_after"] is not None]
    if not rows:
        return None
    tau, p = kendall_tau([r["error_subset"] for r in rows], [r["error_full_after"] for r in rows])
    deltas = [r["delta_points"] for r in rows]
    return Fidelity(rows=rows, kendall_tau=tau, p_value=p, delta_min=min(deltas), delta_max=max(deltas),
                    delta_mean=sum(deltas) / len(deltas))


def _row(candidate: dict[str, Any]) -> dict[str, Any]:
    subset, before, after = (candidate[k] for k in ("error_subset", "error_full_before", "error_full_after"))
    return {
        "name": candidate["name"], "genome": candidate["genome"],
        "error_subset": subset, "error_full_before": before, "error_full_after": after,
        "delta_points": 100 * (subset - after),
        "subset_bias_points": None if before is None else 100 * (subset - before),
        "finetune_gain_points": None if before is None else 100 * (before - after),
    }


COLUMNS = [
    Column("name", "candidate"),
    Column("error_subset", "error subset, no FT (%)", pct, True),
    Column("error_full_before", "error full, no FT (%)", pct, True),
    Column("error_full_after", "error full, fine-tuned (%)", pct, True),
    Column("delta_points", "Δ mIoU fine-tuned − proxy (points)", points, True),
    Column("subset_bias_points", "of which subset vs full", points, True),
    Column("finetune_gain_points", "of which fine-tuning", points, True),
    Column("genome", "genome", blank(lambda v: f"`{v}`")),
]


def describe(result: Fidelity) -> str:
    """One sentence with τ and the range of the differences, for the report text."""
    tau = "undefined (fewer than two distinct values)" if result.kendall_tau is None else f"{result.kendall_tau:.3f}"
    p = "" if result.p_value is None else f" (p = {result.p_value:.3g})"
    return (f"Over {result.n} fine-tuned candidate(s), fine-tuned mIoU minus the search's proxy mIoU ranges "
            f"from {result.delta_min:+.2f} to {result.delta_max:+.2f} points (mean {result.delta_mean:+.2f}; "
            f"the paper reports −0.95 … +1.3); Kendall τ between proxy and fine-tuned error = {tau}{p}.")


#: The gap (points) a good proxy stays within: the band of the front-fidelity plot.
GAP_BAND_POINTS = 2.0


@dataclass(frozen=True)
class FrontFidelity:
    """Subset error against full-set error, both without fine-tuning, over the final front.

    Attributes:
        rows: per front member with both errors: name, genome, the two errors, where the
            full-set error comes from ('full_set' or 'finetune') and ``gap_points``.
        front_size: members of the final front (more than ``n`` while some are not scored).
        kendall_tau / p_value: τ-b between the two errors and its p-value (None: undefined).
        max_abs_gap: the largest |gap| in points; mean_gap: the mean gap in points.
    """

    rows: list[dict[str, Any]]
    front_size: int
    kendall_tau: float | None
    p_value: float | None
    max_abs_gap: float
    mean_gap: float

    @property
    def n(self) -> int:
        """Number of front members compared."""
        return len(self.rows)

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (what the report's ``front_fidelity`` holds)."""
        return {"n": self.n, "front_size": self.front_size, "max_abs_gap_points": self.max_abs_gap,
                "mean_gap_points": self.mean_gap, "kendall_tau": self.kendall_tau, "p_value": self.p_value}


def front_fidelity(candidates: list[dict[str, Any]]) -> FrontFidelity | None:
    """Compare subset and full-set errors (no fine-tuning) of the final-front candidate rows.

    Args:
        candidates: rows of :func:`fmas_hw.report.tables.candidate_rows`.

    Returns:
        The :class:`FrontFidelity`, or None when no front member has a full-set error yet.
    """
    front = [c for c in candidates if c["on_front"]]
    rows = [_front_row(c) for c in front if c["error_subset"] is not None and c["error_full_no_ft"] is not None]
    if not rows:
        return None
    tau, p = kendall_tau([r["error_subset"] for r in rows], [r["error_full_no_ft"] for r in rows])
    gaps = [r["gap_points"] for r in rows]
    return FrontFidelity(rows=rows, front_size=len(front), kendall_tau=tau, p_value=p,
                         max_abs_gap=max(abs(g) for g in gaps), mean_gap=sum(gaps) / len(gaps))


def _front_row(candidate: dict[str, Any]) -> dict[str, Any]:
    subset, full = candidate["error_subset"], candidate["error_full_no_ft"]
    return {"name": candidate["name"], "genome": candidate["genome"], "arch_key": candidate["arch_key"],
            "error_subset": subset, "error_full_no_ft": full, "source": candidate["error_full_no_ft_source"],
            "gap_points": 100 * (subset - full)}


FRONT_COLUMNS = [
    Column("name", "candidate"),
    Column("error_subset", "error subset, no FT (%)", pct, True),
    Column("error_full_no_ft", "error full set, no FT (%)", pct, True),
    Column("gap_points", "gap subset − full (points)", points, True),
    Column("source", "full-set error from", blank(lambda v: "report --full-set" if v == "full_set" else "finetune")),
    Column("genome", "genome", blank(lambda v: f"`{v}`")),
]


def describe_front(result: FrontFidelity) -> str:
    """The front paragraph of the report: n, max |gap|, mean gap and τ."""
    tau = "undefined (fewer than two distinct values)" if result.kendall_tau is None else f"{result.kendall_tau:.3f}"
    p = "" if result.p_value is None else f" (p = {result.p_value:.3g})"
    missing = result.front_size - result.n
    within = sum(abs(r["gap_points"]) <= GAP_BAND_POINTS for r in result.rows)
    rest = "" if not missing else (f" {missing} front member(s) have no full-set error yet: run "
                                   "`fmas-hw report --full-set` to score them.")
    return (f"Over {result.n} of the {result.front_size} final-front member(s), without fine-tuning, the subset "
            f"error minus the full-validation-set error is at most {result.max_abs_gap:.2f} points in magnitude "
            f"(max |gap|; mean gap {result.mean_gap:+.2f} points); Kendall τ between subset and full-set error "
            f"= {tau}{p}; {within} of {result.n} within ±{GAP_BAND_POINTS:g} points.{rest}")
