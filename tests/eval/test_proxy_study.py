"""The proxy study's statistics, checked on counts whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.eval.miou import ConfusionMatrix
from fmas_hw.eval.proxy_study import best_of_k, error_curves, stable_fraction, study


def _counts(rng: np.random.Generator, images: int, classes: int, accuracy: float) -> np.ndarray:
    """Per-image confusion counts of a classifier right with probability ``accuracy``."""
    out = np.zeros((images, classes, classes), np.int64)
    for i in range(images):
        labels = rng.integers(0, classes, 200)
        right = rng.random(200) < accuracy
        predictions = np.where(right, labels, rng.integers(0, classes, 200))
        np.add.at(out[i], (labels, predictions), 1)
    return out


def test_every_fraction_equals_a_direct_count_of_its_leading_images():
    counts = _counts(np.random.default_rng(0), 30, 4, 0.6)
    curve = error_curves([counts], [0.1, 0.2, 0.5, 1.0])[0]
    for value, n in zip(curve, [3, 6, 15, 30], strict=True):
        cm = ConfusionMatrix(4)
        cm.matrix[:] = counts[:n].sum(axis=0)
        assert value == pytest.approx(cm.error())


def test_a_faithful_subset_ranks_like_the_full_set_and_an_unfaithful_one_does_not():
    rng = np.random.default_rng(1)
    accuracies = np.linspace(0.3, 0.9, 12)
    faithful = [_counts(rng, 100, 5, a) for a in accuracies]
    result = study([f"c{i}" for i in range(12)], ["0"] * 12, faithful, fraction=0.2)
    assert result.agreement.kendall_tau > 0.8 and result.agreement.spearman_rho > 0.9
    assert result.full_errors[0] > result.full_errors[-1]  # less accurate, larger error
    # the first 20 % of each candidate replaced by another candidate's: the subset ranks backwards
    scrambled = [np.concatenate([faithful[11 - i][:20], faithful[i][20:]]) for i in range(12)]
    backwards = study([f"c{i}" for i in range(12)], ["0"] * 12, scrambled, fraction=0.2)
    assert backwards.agreement.kendall_tau < 0


def test_stable_fraction_is_the_first_from_which_every_deviation_is_within_tolerance():
    fractions = [0.1, 0.2, 0.3, 0.4, 1.0]
    assert stable_fraction(fractions, np.array([3.0, 0.5, 1.5, 0.4, 0.0]), 1.0) == 0.4
    assert stable_fraction(fractions, np.array([0.9, 0.5, 0.2, 0.1, 0.0]), 1.0) == 0.1
    assert stable_fraction(fractions, np.array([9.0, 8.0, 7.0, 6.0, 0.0]), 1.0) == 1.0


def test_best_of_k_measures_how_much_better_the_subset_best_looks():
    subset = np.array([0.40, 0.50, 0.60, 0.70])
    full = np.array([0.45, 0.44, 0.60, 0.70])  # the subset-best is 1 point worse than the true best
    sel = best_of_k(subset, full, pool=4, draws=10, rng=np.random.default_rng(0))
    assert sel.optimism_mean == pytest.approx(5.0) and sel.regret_mean == pytest.approx(1.0)
    assert sel.hit_rate == 0.0
    exact = best_of_k(full, full, pool=2, draws=50, rng=np.random.default_rng(0))
    assert exact.optimism_mean == 0 and exact.regret_max == 0 and exact.hit_rate == 1.0


def test_study_reports_the_curve_the_gaps_and_the_pools_that_fit():
    rng = np.random.default_rng(2)
    counts = [_counts(rng, 40, 3, a) for a in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)]
    result = study(list("abcdef"), list("012345"), counts, fraction=0.2, pools=(2, 5, 10))
    assert result.fractions[0] == 0.05 and result.fractions[-1] == 1.0 and 0.2 in result.fractions
    assert [r.images for r in result.rows][:4] == [2, 4, 6, 8]
    assert result.rows[-1].mean_abs_deviation == 0.0
    assert [s.pool for s in result.selections] == [2, 5]  # a pool of 10 needs more candidates
    summary = result.summary()
    assert summary["subset_images"] == 8 and summary["candidates"] == 6 and summary["distinct_full_errors"] == 6
    gaps = [abs(r["gap_points"]) for r in result.candidate_rows()]
    assert summary["max_abs_gap_points"] == pytest.approx(max(gaps))


def test_study_refuses_counts_it_cannot_compare():
    counts = np.zeros((10, 3, 3), np.int64)
    with pytest.raises(ValueError, match="at least two"):
        study(["a"], ["0"], [counts])
    with pytest.raises(ValueError, match="same images"):
        study(["a", "b"], ["0", "1"], [counts, counts[:5]])
