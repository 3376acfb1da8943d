"""The search's front is the non-dominated set of every feasible stored evaluation, and its
hypervolume per generation never falls (properties over random stores)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmas_hw.store import EvaluationRecord, Gap8Fit, Latency, Store
from fmas_hw.store.front import (
    Limits,
    archive_front,
    hypervolume_by_generation,
    non_dominated,
    stored_front,
)

OBJECTIVES = ("flops", "latency")
SCALE = {"flops": 100.0, "latency": 1000.0}
REFERENCE = [1.0, 1.1, 1.1]


@st.composite
def rows(draw) -> list[EvaluationRecord]:
    """Random evaluations: ok (some over a budget, some with a missing cost), failed, rejected;
    small integer figures so that ties and duplicates happen."""
    out = []
    for i in range(draw(st.integers(0, 25))):
        status = draw(st.sampled_from(["ok", "ok", "ok", "ok", "failed", "rejected"]))
        ok = status == "ok"
        out.append(EvaluationRecord(
            arch_key=f"k{i}", settings_digest="d", genome=format(i, "08b"), arch={}, status=status,
            error=draw(st.integers(1, 10)) / 10 if ok else None,
            flops=draw(st.integers(10, 120)) if ok else None,
            params=draw(st.integers(1, 50)),
            latency=_estimate(draw(st.one_of(st.none(), st.integers(100, 1200))) if ok else None),
            fit=Gap8Fit(draw(st.booleans()), "plan"), generation=draw(st.integers(0, 4))))
    return out


limits = st.builds(Limits, objectives=st.just(OBJECTIVES), max_params=st.one_of(st.none(), st.integers(10, 50)),
                   max_cycles=st.one_of(st.none(), st.integers(300, 1200)), fit_gap8=st.booleans())


def _estimate(cycles: int | None) -> Latency | None:
    return None if cycles is None else Latency(cycles, "estimate", True)


def brute_front(records: list[EvaluationRecord], lim: Limits) -> set[str]:
    """Written independently of the module: pairwise dominance over the feasible rows."""
    def feasible(r):
        return (r.status == "ok" and r.cycles is not None
                and (lim.max_params is None or r.params <= lim.max_params)
                and (lim.max_cycles is None or r.cycles <= lim.max_cycles)
                and (not lim.fit_gap8 or r.fit.fits))

    pool = [(r.arch_key, (r.error, r.flops, r.cycles)) for r in records if feasible(r)]
    return {k for k, a in pool
            if not any(all(x <= y for x, y in zip(b, a, strict=True)) and b != a for _, b in pool)}


@settings(max_examples=60, deadline=None)
@given(rows(), limits)
def test_the_front_of_a_random_store_is_its_non_dominated_feasible_set(records, lim):
    config = {"objectives": list(lim.objectives), "max_params": lim.max_params, "max_cycles": lim.max_cycles,
              "fit_gap8": lim.fit_gap8}
    with tempfile.TemporaryDirectory() as folder, \
            Store.create(Path(folder) / "s.sqlite", {"config": config, "settings_digest": "d"}) as store:
        for record in records:
            store.add_evaluation(record)
        store.add_evaluation(EvaluationRecord(arch_key="other", settings_digest="another-digest", genome="1", arch={}, status="ok", error=0.0, flops=0,
                                              params=0, latency=_estimate(0), generation=0))  # not this search's
        front = stored_front(store)
    assert {r.arch_key for r in front} == brute_front(records, lim)


@settings(max_examples=60, deadline=None)
@given(rows(), limits)
def test_the_hypervolume_per_generation_never_falls(records, lim):
    hv = hypervolume_by_generation(records, lim, SCALE, REFERENCE, 5)
    assert len(hv) == 5 and all(b >= a for a, b in zip(hv, hv[1:], strict=False))
    if archive_front(records, lim):
        assert hv[-1] >= 0.0


def test_hypervolume_counts_only_the_front_inside_the_reference_box():
    lim = Limits(("flops",))
    rec = [EvaluationRecord(arch_key="a", settings_digest="d", genome="0", arch={}, status="ok", error=0.5, flops=50, generation=0),
           EvaluationRecord(arch_key="b", settings_digest="d", genome="1", arch={}, status="ok", error=0.6, flops=60, generation=1)]  # dominated by a
    hv = hypervolume_by_generation(rec, lim, {"flops": 100.0}, [1.0, 1.1], 2)
    assert hv == pytest.approx([0.5 * 0.6, 0.5 * 0.6])


def test_equal_rows_are_both_non_dominated():
    assert list(non_dominated(np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 2.0]]))) == [0, 1]
