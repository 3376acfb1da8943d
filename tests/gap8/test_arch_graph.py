"""Architecture -> GAP8 graph: built once per candidate, without Keras for the search spaces."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from fmas_hw.errors import ArchitectureError
from fmas_hw.gap8 import arch_graph as cache
from fmas_hw.gap8.arch_graph import arch_graph
from fmas_hw.gap8.graph import extract_graph
from fmas_hw.model import builder
from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space, XceptionSpace
from fmas_hw.space.mobilenetv2 import Layer, MobileNetV2Arch

MB, XC = MobileNetV2Space(), XceptionSpace()
TINY = dict(classes=5, alpha=0.35, input_size=64)


@pytest.fixture
def empty_cache(monkeypatch):
    monkeypatch.setattr(cache, "_GRAPHS", OrderedDict())


def test_a_graph_is_built_once_per_candidate_and_setting(empty_cache):
    graph = arch_graph(MB.supernet(), **TINY)
    assert arch_graph(MB.decode(MB.supernet_genome), **TINY) is graph  # equal arch, same key
    assert arch_graph(MB.supernet(), **{**TINY, "classes": 3}) is not graph


def test_the_least_recently_used_graph_leaves_a_full_cache(empty_cache, monkeypatch):
    monkeypatch.setattr(cache, "GRAPH_CACHE_SIZE", 2)
    first, second, third = (MB.decode(g) for g in (MB.supernet_genome, "1" + MB.supernet_genome[1:],
                                                   "01" + MB.supernet_genome[2:]))
    kept = arch_graph(first, **TINY)
    arch_graph(second, **TINY)
    assert arch_graph(first, **TINY) is kept  # used again: now the most recent
    arch_graph(third, **TINY)
    assert arch_graph(first, **TINY) is kept and len(cache._GRAPHS) == 2


def test_search_space_candidates_build_no_keras_model(empty_cache, monkeypatch):
    monkeypatch.setattr(builder, "_build", lambda *a: pytest.fail("a Keras model was built for a candidate"))
    assert arch_graph(MB.supernet(), **TINY).output == "logits_upsample"
    assert arch_graph(XC.supernet(), classes=3, input_size=65).output == "logits_upsample_crop"


def test_an_architecture_outside_the_search_space_gets_the_adapted_keras_graph(empty_cache):
    layers = list(MB.supernet().layers)
    layers[3] = Layer(3, stride=2, dilation=3)  # block 3 has no dilation gene
    arch = MobileNetV2Arch(tuple(layers))
    graph = arch_graph(arch, **TINY)
    keras = extract_graph(build_model(arch, 64, 5, 0.35, gap8=True))
    assert [(n.name, n.dilation, n.out_shape) for n in graph] == [(n.name, n.dilation, n.out_shape) for n in keras]
    assert graph.node("expanded_conv_3_depthwise").dilation == (3, 3)
    weights = [n.weights for n in graph if n.weights is not None]
    assert weights and all(w.strides == (0,) * w.ndim and not w.any() for w in weights)  # no memory kept


def test_xception_has_no_width_multiplier(empty_cache):
    with pytest.raises(ArchitectureError, match="width multiplier"):
        arch_graph(XC.supernet(), classes=3, alpha=0.35, input_size=65)


def test_placeholder_weights_have_the_shapes_of_real_ones_and_no_memory(empty_cache):
    node = arch_graph(MB.supernet(), **TINY).node("expanded_conv_1_depthwise")
    channels = node.in_shape[2]
    assert node.weights.shape == (3, 3, channels, 1) and node.bias.shape == (channels,)
    assert node.weights.strides == (0, 0, 0, 0) and node.bias.strides == (0,)
