"""How faithful is the validation subset as a proxy? The statistics of FMAS §3.2 (``fmas-hw study proxy``).

The search scores each candidate on the first fraction ``f`` of ``val.txt`` only. From one pass
over the whole validation set per candidate, with the confusion counts kept per image
(:meth:`~fmas_hw.eval.evaluator.SubsetEvaluator.per_image_counts`), this module derives, for every
``f`` at once:

* the error curve ``error(f)`` of every candidate and its spread around the full-set error
  (mean and largest ``|error(f) - error(1)|``, in mIoU points);
* the fraction where the curve stabilises: the smallest ``f`` from which on the mean deviation
  stays within a tolerance;
* rank agreement between the subset and the full set over the candidates: Kendall's τ-b and
  Spearman's ρ (scipy), with p-values;
* the optimism of a best-of-K selection: pick the subset-best of K random candidates and see how
  much worse it is on the full set than the subset said (and than the truly best of the K).

Every function here is plain numpy on the counts; nothing is evaluated again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import kendalltau, spearmanr

from ..data.voc import leading_count
from .miou import ConfusionMatrix

#: Fractions of val.txt the curve is drawn at: 5 % steps, as in the paper's §3.2 figure.
DEFAULT_FRACTIONS = tuple(round(0.05 * i, 2) for i in range(1, 21))
#: Mean |subset - full| error (mIoU points) under which the curve counts as stable.
DEFAULT_TOLERANCE = 1.0
#: Pool sizes K of the best-of-K selection.
DEFAULT_POOLS = (5, 10, 20)


def error_of(counts: np.ndarray) -> float:
    """1 - mIoU of a summed (K, K) confusion matrix (the VOC metric of :mod:`.miou`)."""
    cm = ConfusionMatrix(counts.shape[0])
    cm.matrix[:] = counts
    return cm.error()


def error_curves(per_image: Sequence[np.ndarray], fractions: Sequence[float]) -> np.ndarray:
    """(candidates, fractions) errors on the first ``f`` of the images, from per-image counts.

    Args:
        per_image: per candidate, its (N, K, K) counts in val.txt order (the same N for all).
        fractions: leading fractions in (0, 1]; "the first f" holds ``ceil(f * N)`` images, as the
            search's subset does.
    """
    out = np.empty((len(per_image), len(fractions)))
    for c, counts in enumerate(per_image):
        running = np.cumsum(counts, axis=0)
        for j, f in enumerate(fractions):
            out[c, j] = error_of(running[leading_count(f, len(counts)) - 1])
    return out


@dataclass(frozen=True)
class Agreement:
    """Rank agreement between subset and full-set errors over the candidates."""

    kendall_tau: float | None
    kendall_p: float | None
    spearman_rho: float | None
    spearman_p: float | None


def agreement(subset: np.ndarray, full: np.ndarray) -> Agreement:
    """Kendall τ-b and Spearman ρ of two paired error samples (None where undefined)."""
    if len(subset) < 3 or np.ptp(subset) == 0 or np.ptp(full) == 0:
        return Agreement(None, None, None, None)
    tau, rho = kendalltau(subset, full), spearmanr(subset, full)
    return Agreement(float(tau.statistic), float(tau.pvalue), float(rho.statistic), float(rho.pvalue))


def stable_fraction(fractions: Sequence[float], mean_deviation: np.ndarray, tolerance: float) -> float:
    """Smallest fraction from which on every larger one deviates by at most ``tolerance`` points."""
    stable = 1.0
    for f, deviation in zip(reversed(fractions), reversed(mean_deviation), strict=True):
        if deviation > tolerance:
            break
        stable = f
    return float(stable)


@dataclass(frozen=True)
class Selection:
    """The best-of-K selection on the subset, over ``draws`` random pools of K candidates.

    Attributes:
        pool: K.
        optimism_mean / optimism_p90: full-set minus subset error of the subset-best, in points
            (> 0: it looked better than it is).
        regret_mean / regret_max: its full-set error minus the best full-set error of the pool, in
            points (0: the subset picked the truly best).
        hit_rate: share of pools where the subset-best is also the full-set best.
    """

    pool: int
    draws: int
    optimism_mean: float
    optimism_p90: float
    regret_mean: float
    regret_max: float
    hit_rate: float


def best_of_k(subset: np.ndarray, full: np.ndarray, pool: int, draws: int, rng: np.random.Generator) -> Selection:
    """Simulate picking the subset-best of ``pool`` random candidates, ``draws`` times."""
    picks = np.array([rng.choice(len(subset), size=pool, replace=False) for _ in range(draws)])
    chosen = picks[np.arange(draws), np.argmin(subset[picks], axis=1)]
    optimism = 100 * (full[chosen] - subset[chosen])
    regret = 100 * (full[chosen] - full[picks].min(axis=1))
    return Selection(pool, draws, float(optimism.mean()), float(np.percentile(optimism, 90)),
                     float(regret.mean()), float(regret.max()), float(np.mean(regret == 0)))


@dataclass(frozen=True)
class FractionRow:
    """One point of the stabilisation curve (deviations in mIoU points)."""

    fraction: float
    images: int
    mean_error: float
    mean_abs_deviation: float
    max_abs_deviation: float
    std_deviation: float
    kendall_tau: float | None
    spearman_rho: float | None


@dataclass(frozen=True)
class ProxyStudy:
    """Everything the study derives from the per-image counts of its candidates.

    Attributes:
        names / genomes: per candidate (the supernet first).
        fractions: the curve's fractions; ``errors[c, j]`` is candidate c's error at ``fractions[j]``.
        fraction: the search's subset fraction the headline numbers are for.
        subset_errors / full_errors: errors at ``fraction`` and on the whole set.
        rows: the curve, one row per fraction.
        stable_at: where the curve stabilises within ``tolerance`` points.
        agreement: τ and ρ between subset and full-set error at ``fraction``.
        selections: best-of-K optimism for each pool size that fits.
    """

    names: list[str]
    genomes: list[str]
    images: int
    fractions: list[float]
    errors: np.ndarray
    fraction: float
    tolerance: float
    rows: list[FractionRow]
    stable_at: float
    agreement: Agreement
    selections: list[Selection]

    @property
    def subset_errors(self) -> np.ndarray:
        return self.errors[:, self.fractions.index(self.fraction)]

    @property
    def full_errors(self) -> np.ndarray:
        return self.errors[:, -1]

    def summary(self) -> dict:
        """JSON-ready headline numbers (no per-candidate values)."""
        gap = 100 * (self.subset_errors - self.full_errors)
        return {"candidates": len(self.names), "images": self.images, "fraction": self.fraction,
                "subset_images": leading_count(self.fraction, self.images), "tolerance_points": self.tolerance,
                "stable_at": self.stable_at, **asdict(self.agreement),
                "distinct_full_errors": len(np.unique(np.round(self.full_errors, 9))),
                "max_abs_gap_points": float(np.abs(gap).max()), "mean_abs_gap_points": float(np.abs(gap).mean()),
                "selections": [asdict(s) for s in self.selections]}

    def candidate_rows(self) -> list[dict]:
        """Per candidate: subset and full-set error and their gap in points."""
        return [{"name": n, "genome": g, "subset_error": float(s), "full_error": float(f),
                 "gap_points": float(100 * (s - f))}
                for n, g, s, f in zip(self.names, self.genomes, self.subset_errors, self.full_errors, strict=True)]


def study(names: Sequence[str], genomes: Sequence[str], per_image: Sequence[np.ndarray], fraction: float = 0.2,
          fractions: Sequence[float] = DEFAULT_FRACTIONS, tolerance: float = DEFAULT_TOLERANCE,
          pools: Sequence[int] = DEFAULT_POOLS, draws: int = 2000, seed: int = 0) -> ProxyStudy:
    """The proxy study of ``per_image`` counts (one (N, K, K) array per candidate).

    Raises:
        ValueError: fewer than two candidates, or candidates counted on different image sets.
    """
    if len(per_image) < 2:
        raise ValueError(f"a proxy study needs at least two candidates, got {len(per_image)}")
    if len({counts.shape for counts in per_image}) != 1:
        raise ValueError("every candidate must be counted on the same images")
    grid = sorted({*fractions, fraction, 1.0})
    errors = error_curves(per_image, grid)
    full = errors[:, -1]
    rows = [_fraction_row(f, len(per_image[0]), errors[:, j], full) for j, f in enumerate(grid)]
    stable = stable_fraction(grid, np.array([r.mean_abs_deviation for r in rows]), tolerance)
    rng = np.random.default_rng(seed)
    subset = errors[:, grid.index(fraction)]
    selections = [best_of_k(subset, full, k, draws, rng) for k in pools if k < len(per_image)]
    return ProxyStudy(list(names), list(genomes), len(per_image[0]), grid, errors, fraction, tolerance, rows,
                      stable, agreement(subset, full), selections)


def _fraction_row(fraction: float, n: int, errors: np.ndarray, full: np.ndarray) -> FractionRow:
    deviation = 100 * (errors - full)
    agree = agreement(errors, full) if fraction < 1.0 else Agreement(1.0, 0.0, 1.0, 0.0)
    return FractionRow(fraction, leading_count(fraction, n), float(errors.mean()), float(np.abs(deviation).mean()),
                       float(np.abs(deviation).max()), float(deviation.std()), agree.kendall_tau, agree.spearman_rho)
