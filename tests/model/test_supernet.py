"""Weight sharing: candidates take every weight from the in-memory supernet by layer name."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.errors import WeightsError
from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space, XceptionSpace

MB = MobileNetV2Space()


def test_supernet_genome_gives_identical_outputs(tiny_mnv2_supernet):
    candidate = tiny_mnv2_supernet.subnet(MB.supernet())
    x = np.random.default_rng(1).normal(size=(2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_array_equal(candidate(x, training=False).numpy(),
                                  tiny_mnv2_supernet.model(x, training=False).numpy())


@pytest.mark.parametrize("seed", range(6))
def test_every_candidate_weight_equals_the_supernet_weight_of_the_same_name(tiny_mnv2_supernet, seed):
    genome = MB.random_genome(np.random.default_rng(seed))
    candidate = tiny_mnv2_supernet.subnet(MB.decode(genome))
    source = {layer.name: layer for layer in tiny_mnv2_supernet.model.layers}
    checked = 0
    for layer in (lay for lay in candidate.layers if lay.weights):
        for mine, theirs in zip(layer.get_weights(), source[layer.name].get_weights(), strict=False):
            # The supernet's weights are random, unlike any initialiser: equality proves the copy.
            np.testing.assert_array_equal(mine, theirs)
            checked += 1
    assert checked == len(candidate.weights) > 0
    assert candidate.count_params() <= tiny_mnv2_supernet.model.count_params()


def test_candidate_has_no_new_trainable_weight(tiny_mnv2_supernet):
    supernet_names = {w.name for w in tiny_mnv2_supernet.model.weights}
    candidate = tiny_mnv2_supernet.subnet(MB.decode("0011" + "000" + "010101" + "10" + "010" + "0110" + "001" + "100"))
    assert {w.name for w in candidate.weights} <= supernet_names


def _weight_shapes(model):
    return {(layer.name, i, tuple(w.shape)) for layer in model.layers for i, w in enumerate(layer.weights)}


def test_stride_and_dilation_genes_change_no_weight():
    layers_bits = MB.supernet_genome[13:]
    shapes = {frozenset(_weight_shapes(build_model(MB.decode(genes + layers_bits), 48, 4, 0.35)))
              for genes in ("0000111111111", "1111000000000", "0101101011010")}
    assert len(shapes) == 1


@pytest.mark.slow
def test_xception_rates_and_strides_change_no_weight():
    xc = XceptionSpace()
    a = build_model(xc.decode("0100001111111111111111"), 65, 3)
    b = build_model(xc.decode("1111111111111111111111"), 65, 3)
    assert _weight_shapes(a) == _weight_shapes(b)


def test_foreign_backbone_candidate_is_rejected(tiny_mnv2_supernet):
    with pytest.raises(WeightsError, match="xception"):
        tiny_mnv2_supernet.subnet(XceptionSpace().supernet())
