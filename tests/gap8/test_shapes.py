"""The GAP8 graph interpreted from the network definition equals the one fused from Keras."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.gap8.graph import extract_graph
from fmas_hw.gap8.netdef_graph import netdef_graph
from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space, XceptionSpace
from tests.conftest import random_genomes

MB, XC = MobileNetV2Space(), XceptionSpace()
FIELDS = ("name", "op", "inputs", "in_shape", "out_shape", "kernel", "stride", "dilation", "padding",
          "activation", "interpolation", "crop", "keras_layers")


def _plain(value):
    """Lists and tuples compare equal when their items do (keras_layers is a list)."""
    return tuple(value) if isinstance(value, tuple | list) else value


def _genomes():
    rng = np.random.default_rng(42)
    fixed = [MB.supernet_genome, "1100" + MB.supernet_genome[4:], "1111" + MB.supernet_genome[4:],
             "0011111111111" + MB.supernet_genome[13:]]
    return fixed + ["".join("1" if b else "0" for b in MB.random_genome(rng)) for _ in range(5)]


@pytest.mark.parametrize("size,classes,alpha", [(384, 21, 1.0), (97, 5, 0.35), (64, 5, 0.35)],
                         ids=["gap8-384", "odd-97", "one-pixel-64"])
@pytest.mark.parametrize("genome", _genomes())
def test_shape_graph_equals_keras_graph(genome, size, classes, alpha):
    _assert_equal_graphs(MB.decode(genome), size, classes, alpha)


@pytest.mark.slow
@pytest.mark.parametrize("genome,size,classes", [
    (XC.supernet_genome, 384, 21), ("0000000000000000000000", 33, 3), ("1111111111011111111111", 97, 3),
    ("1001100111111111111111", 65, 3), *zip(random_genomes(XC, 2, 7), (48, 71), (4, 4), strict=True)])
def test_xception_graph_equals_keras_graph(genome, size, classes):
    _assert_equal_graphs(XC.decode(genome), size, classes, 1.0)


def _assert_equal_graphs(arch, size, classes, alpha):
    keras = extract_graph(build_model(arch, size, classes, alpha, gap8=True))
    ours = netdef_graph(arch, classes, alpha, size)
    assert [n.name for n in ours] == [n.name for n in keras] and ours.output == keras.output
    for a, b in zip(ours, keras, strict=True):
        for field in FIELDS:
            assert _plain(getattr(a, field)) == _plain(getattr(b, field)), (a.name, field)
        assert (a.weights is None) == (b.weights is None)
        if a.weights is not None:
            assert a.weights.shape == b.weights.shape and a.bias.shape == b.bias.shape
        assert a.macs == b.macs and a.weight_count == b.weight_count
