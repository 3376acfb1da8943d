"""The shape-only MobileNetV2 graph equals the graph fused from the adapted Keras network."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.gap8.graph import extract_graph
from fmas_hw.gap8.shapes import mobilenetv2_graph
from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()
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
    arch = MB.decode(genome)
    keras = extract_graph(build_model(arch, size, classes, alpha, gap8=True))
    ours = mobilenetv2_graph(arch, classes, alpha, size)
    assert [n.name for n in ours] == [n.name for n in keras] and ours.output == keras.output
    for a, b in zip(ours, keras, strict=True):
        for field in FIELDS:
            assert _plain(getattr(a, field)) == _plain(getattr(b, field)), (a.name, field)
        assert (a.weights is None) == (b.weights is None)
        if a.weights is not None:
            assert a.weights.shape == b.weights.shape and a.bias.shape == b.bias.shape
        assert a.macs == b.macs and a.weight_count == b.weight_count
