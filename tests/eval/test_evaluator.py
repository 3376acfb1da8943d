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


@pytest.mark.parametrize("genome", [MB.supernet_genome, "1111" + MB.supernet_genome[4:],
                                    "0011111111111" + "10" + "100" + "1000" + "100" + "100"])
def test_search_space_function_scores_candidates_like_their_keras_subnetworks(tiny_mnv2_supernet, synth_voc,
                                                                              genome):
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 1.0)
    evaluator = SubsetEvaluator(tiny_mnv2_supernet, images, labels, batch=4)
    arch = MB.decode(genome)
    keras = confusion_matrix(tiny_mnv2_supernet.subnet(arch), images, labels, 5, 4)
    ours = evaluator.evaluate(arch)
    # Folded BatchNorm may flip the argmax of a near-tie pixel, nothing more.
    assert np.abs(_matrix_of(evaluator, arch) - keras.matrix).sum() <= 2 * 4e-4 * keras.total
    assert ours.error == pytest.approx(1 - keras.miou(), abs=2e-3)


def _matrix_of(evaluator, arch):
    from fmas_hw.eval.evaluator import _accumulate

    net, fn = evaluator._search_space_fn()
    return _accumulate(fn, evaluator._batches(), 5, net.controls(arch)).matrix


def test_only_the_first_evaluation_pays_the_one_off_trace(tiny_mnv2_supernet, synth_voc):
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 0.2)
    evaluator = SubsetEvaluator(tiny_mnv2_supernet, images, labels)
    first = evaluator.evaluate(MB.supernet())
    later = [evaluator.evaluate(MB.decode(g)) for g in ("1111" + MB.supernet_genome[4:], MB.supernet_genome)]
    assert all(r.build_seconds < 0.01 for r in later)  # filling a control vector, not building a model
    assert first.build_seconds > 10 * max(r.build_seconds for r in later)


def test_architecture_outside_the_search_space_is_evaluated_with_its_keras_model(tiny_mnv2_supernet, synth_voc):
    from fmas_hw.space.mobilenetv2 import Layer, MobileNetV2Arch

    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 0.3)
    layers = list(MB.supernet().layers)
    layers[3] = Layer(3, stride=2, dilation=3)  # block 3 has no dilation gene
    arch = MobileNetV2Arch(tuple(layers))
    result = SubsetEvaluator(tiny_mnv2_supernet, images, labels).evaluate(arch)
    direct = 1 - confusion_matrix(tiny_mnv2_supernet.subnet(arch), images, labels, 5, 8).miou()
    assert result.error == pytest.approx(direct)


def test_per_image_counts_sum_to_the_subset_confusion_of_every_leading_run(tiny_mnv2_supernet, synth_voc):
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 1.0)
    evaluator = SubsetEvaluator(tiny_mnv2_supernet, images, labels, batch=4)  # 10 images: last batch padded
    arch = MB.decode(MB.random_genome(np.random.default_rng(3)))
    per_image = evaluator.per_image_counts(arch)
    assert per_image.shape == (10, 5, 5)
    assert [int(c.sum()) for c in per_image] == [int((y != 255).sum()) for y in labels]
    for n in (2, 7, 10):
        lead = SubsetEvaluator(tiny_mnv2_supernet, images[:n], labels[:n], batch=4)
        cm = ConfusionMatrix(5)
        cm.matrix[:] = per_image[:n].sum(axis=0)
        assert cm.error() == pytest.approx(lead.evaluate(arch).error)
