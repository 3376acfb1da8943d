"""One pass per candidate over the whole validation set: counts, the resumable cache, candidates."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.errors import DataError
from fmas_hw.eval import proxy_pass
from fmas_hw.eval.proxy_pass import ProxyPass, random_candidates
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()


def test_random_candidates_start_with_the_supernet_and_are_distinct_and_seeded():
    candidates = random_candidates("mobilenetv2", 8, seed=4)
    assert candidates[0].name == "supernet" and candidates[0].genome == MB.canonical_genome(MB.supernet_genome)
    assert len({c.genome for c in candidates}) == 9
    assert candidates == random_candidates("mobilenetv2", 8, seed=4) != random_candidates("mobilenetv2", 8, seed=5)


def test_a_killed_pass_resumes_from_its_cache_and_counts_nothing_twice(tiny_mnv2_supernet, synth_voc, tmp_path,
                                                                       monkeypatch):
    candidates = random_candidates("mobilenetv2", 3, seed=0)
    cache = tmp_path / "counts.npz"
    counter = ProxyPass(tiny_mnv2_supernet, synth_voc, batch=4)
    first = counter.run(candidates[:2], cache)
    assert [c.shape for c in first.counts] == [(10, 5, 5)] * 2 and len(first.image_ids) == 10
    calls = []
    real = counter.evaluator.per_image_counts
    monkeypatch.setattr(counter.evaluator, "per_image_counts", lambda arch: calls.append(arch) or real(arch))
    again = counter.run(candidates, cache)
    assert len(calls) == len(candidates) - 2  # only the candidates the first run did not count
    np.testing.assert_array_equal(again.counts[0], first.counts[0])
    with np.load(cache) as saved:
        assert len(saved["genomes"]) == len(candidates)


def test_counts_of_other_weights_are_never_mixed_in(tiny_mnv2_supernet, synth_voc, tmp_path, monkeypatch):
    candidates = random_candidates("mobilenetv2", 2, seed=0)
    cache = tmp_path / "counts.npz"
    counter = ProxyPass(tiny_mnv2_supernet, synth_voc, batch=4)
    counter.run(candidates, cache)
    monkeypatch.setattr(type(counter), "identity", property(lambda self: "other-weights"))
    calls = []
    real = counter.evaluator.per_image_counts
    monkeypatch.setattr(counter.evaluator, "per_image_counts", lambda arch: calls.append(arch) or real(arch))
    counter.run(candidates, cache)
    assert len(calls) == len(candidates)


def test_a_corrupt_cache_is_named_with_what_to_do(tiny_mnv2_supernet, synth_voc, tmp_path):
    cache = tmp_path / "counts.npz"
    cache.write_bytes(b"not an npz")
    with pytest.raises(DataError, match="delete the file"):
        ProxyPass(tiny_mnv2_supernet, synth_voc, batch=4).run(random_candidates("mobilenetv2", 2, 0), cache)


def test_the_cache_is_saved_every_few_candidates(tiny_mnv2_supernet, synth_voc, tmp_path, monkeypatch):
    monkeypatch.setattr(proxy_pass, "SAVE_EVERY", 2)
    counter = ProxyPass(tiny_mnv2_supernet, synth_voc, batch=4)
    real = counter.evaluator.per_image_counts
    seen = []

    def die_on_fourth(arch):
        seen.append(arch)
        if len(seen) == 4:
            raise KeyboardInterrupt  # a killed study
        return real(arch)

    monkeypatch.setattr(counter.evaluator, "per_image_counts", die_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        counter.run(random_candidates("mobilenetv2", 4, seed=1), tmp_path / "counts.npz")
    with np.load(tmp_path / "counts.npz") as saved:
        assert len(saved["genomes"]) == 2


def test_candidates_near_the_supernet_differ_from_it_in_at_most_flips_bits():
    supernet = MB.canonical_genome(MB.supernet_genome)
    near = random_candidates("mobilenetv2", 20, seed=0, flips=3)
    distances = [sum(a != b for a, b in zip(c.genome, supernet, strict=True)) for c in near[1:]]
    assert len(near) == 21 and min(distances) >= 1
    # canonical genomes of the mutants stay within the flips; uniform draws land far further away
    uniform = random_candidates("mobilenetv2", 20, seed=0, flips=0)
    far = [sum(a != b for a, b in zip(c.genome, supernet, strict=True)) for c in uniform[1:]]
    assert max(distances) <= 3 and np.mean(distances) < np.mean(far)
