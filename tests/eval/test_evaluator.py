"""Candidate evaluation on the validation subset (no fine-tuning): correct mIoU, cheap overhead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fmas_hw.data.cache import load_split_arrays
from fmas_hw.data.voc import VocDataset
from fmas_hw.eval.evaluator import SubsetEvaluator, confusion_matrix, evaluate
from fmas_hw.eval.miou import ConfusionMatrix
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()


def test_evaluate_uses_the_first_fraction_of_val_in_file_order(tiny_mnv2_supernet, synth_voc):
    result = evaluate(MB.supernet(), tiny_mnv2_supernet, synth_voc, fraction=0.2)
    assert result.images == math.ceil(0.2 * 10)
    assert 0.0 <= result.error <= 1.0 and result.error == pytest.approx(1 - result.miou)
    assert result.build_seconds + result.forward_seconds <= result.seconds + 1e-6


def test_device_side_confusion_equals_a_numpy_reference(tiny_mnv2_supernet, synth_voc):
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 1.0)
    model = tiny_mnv2_supernet.model
    ours = confusion_matrix(model, images, labels, classes=5, batch=4)  # 10 images: last batch padded
    reference = ConfusionMatrix(5).update(labels, np.argmax(model.predict(images, verbose=0), -1))
    np.testing.assert_array_equal(ours.matrix, reference.matrix)
    assert ours.total == int((labels != 255).sum())


def test_subset_evaluator_scores_the_supernet_genome_like_the_supernet(tiny_mnv2_supernet, synth_voc):
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 0.5)
    evaluator = SubsetEvaluator(tiny_mnv2_supernet, images, labels, batch=3)
    direct = 1 - confusion_matrix(tiny_mnv2_supernet.model, images, labels, 5, 3).miou()
    assert evaluator.evaluate(MB.supernet()).error == pytest.approx(direct)


def test_candidates_of_different_shapes_evaluate(tiny_mnv2_supernet, synth_voc):
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 0.3)
    evaluator = SubsetEvaluator(tiny_mnv2_supernet, images, labels)
    for genome in ("1111" + MB.supernet_genome[4:], "0011111111111" + "10" + "100" + "1000" + "100" + "100"):
        result = evaluator.evaluate(MB.decode(genome))
        assert result.images == 3 and 0 <= result.error <= 1


def test_candidate_evaluator_builds_each_candidate_once_for_costs_and_accuracy(tiny_mnv2_supernet, synth_voc,
                                                                                monkeypatch):
    from fmas_hw.eval.candidate import CandidateEvaluator
    from fmas_hw.eval.costs import arch_costs

    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 0.2)
    evaluator = CandidateEvaluator(tiny_mnv2_supernet, SubsetEvaluator(tiny_mnv2_supernet, images, labels))
    builds = []
    real_subnet = tiny_mnv2_supernet.subnet
    monkeypatch.setattr(tiny_mnv2_supernet, "subnet", lambda arch, *a: builds.append(arch.key) or real_subnet(arch, *a))
    arch = MB.decode("1111" + MB.supernet_genome[4:])
    assert evaluator.costs(arch) == arch_costs(arch, 64, 5, 0.35)
    error, seconds = evaluator.accuracy(arch)
    assert builds == [arch.key] and 0 <= error <= 1 and seconds > 0
    evaluator.costs(MB.supernet())
    assert builds == [arch.key, MB.supernet().key]
